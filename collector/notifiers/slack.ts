// Slack incoming webhook: `text` (the notification and fallback line) plus Block Kit `blocks`
// (a header, a section with fields, a context line). Slack reads &, < and > as markup, so they are
// escaped in every mrkdwn text.
import type { NotifierConfig } from '../../shared/config/schema.ts';
import type { Notification, Renderer } from './types.ts';
import { directionsText, formatLimit, formatValue, statusWord, subjectText } from './types.ts';

export type SlackConfig = Extract<NotifierConfig, { type: 'slack' }>;

const mrkdwnEscape = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const cut = (s: string, n: number) => (s.length <= n ? s : `${s.slice(0, n - 1)}…`);

export function slackPayload(event: Notification) {
  const icon =
    event.status === 'resolved'
      ? ':large_green_circle:'
      : event.severity === 'critical'
        ? ':red_circle:'
        : event.severity === 'info'
          ? ':information_source:'
          : ':large_orange_circle:';
  const fields = [
    { type: 'mrkdwn', text: `*Observed*\n${formatValue(event.observed, event.unit)}` },
    { type: 'mrkdwn', text: `*Required*\n${formatLimit(event)}` },
    { type: 'mrkdwn', text: `*Severity*\n${event.severity}` },
    { type: 'mrkdwn', text: `*Since*\n${new Date(event.started_at_ms).toISOString()}` },
  ];
  const directions = directionsText(event);
  if (directions !== null) {
    fields.push({ type: 'mrkdwn', text: `*Directions*\n${mrkdwnEscape(cut(directions, 1900))}` });
  }
  if (event.link) {
    fields.push({
      type: 'mrkdwn',
      text: `*Subclusters*\n${mrkdwnEscape(event.link.subclusters.join(', ') || 'none')}`,
    });
    fields.push({ type: 'mrkdwn', text: `*Link needs*\n${mrkdwnEscape(cut(event.link.derivation, 1900))}` });
  }
  return {
    text: `${icon} ${statusWord(event)}: ${mrkdwnEscape(event.summary)}`,
    blocks: [
      {
        type: 'header',
        text: {
          type: 'plain_text',
          text: cut(`${statusWord(event)} · ${event.rule} · ${subjectText(event)}`, 150),
          emoji: true,
        },
      },
      {
        type: 'section',
        text: { type: 'mrkdwn', text: cut(`${icon} *${mrkdwnEscape(event.summary)}*`, 3000) },
        fields,
      },
      {
        type: 'context',
        elements: [
          { type: 'mrkdwn', text: cut(`wanwatch · dedup key \`${mrkdwnEscape(event.dedup_key)}\``, 3000) },
        ],
      },
    ],
  };
}

export const renderSlack: Renderer<SlackConfig> = (event, config) => ({
  url: config.url,
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify(slackPayload(event)),
});
