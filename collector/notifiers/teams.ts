// Microsoft Teams through a Workflows (Power Automate) webhook: an Adaptive Card 1.4 inside the
// message wrapper {"type": "message", "attachments": [{contentType, content}]} that the
// "post to a channel when a webhook request is received" flow expects.
import type { NotifierConfig } from '../../shared/config/schema.ts';
import type { Notification, Renderer } from './types.ts';
import { directionsText, formatLimit, formatValue, statusWord, subjectText } from './types.ts';

export type TeamsConfig = Extract<NotifierConfig, { type: 'teams' }>;

export function teamsPayload(event: Notification) {
  const facts = [
    { title: 'Observed', value: formatValue(event.observed, event.unit) },
    { title: 'Required', value: formatLimit(event) },
    { title: 'Severity', value: event.severity },
    { title: 'Since', value: new Date(event.started_at_ms).toISOString() },
  ];
  if (event.status === 'resolved' && event.resolved_at_ms !== null) {
    facts.push({ title: 'Resolved', value: new Date(event.resolved_at_ms).toISOString() });
  }
  const directions = directionsText(event);
  if (directions !== null) facts.push({ title: 'Directions', value: directions });
  if (event.link) {
    facts.push({ title: 'Subclusters', value: event.link.subclusters.join(', ') || 'none' });
    facts.push({ title: 'Link needs', value: event.link.derivation });
  }
  facts.push({ title: 'Dedup key', value: event.dedup_key });
  return {
    type: 'message',
    attachments: [
      {
        contentType: 'application/vnd.microsoft.card.adaptive',
        contentUrl: null,
        content: {
          $schema: 'http://adaptivecards.io/schemas/adaptive-card.json',
          type: 'AdaptiveCard',
          version: '1.4',
          body: [
            {
              type: 'TextBlock',
              text: `${statusWord(event)} · ${event.rule} · ${subjectText(event)}`,
              weight: 'Bolder',
              size: 'Medium',
              color:
                event.status === 'resolved'
                  ? 'Good'
                  : event.severity === 'critical'
                    ? 'Attention'
                    : event.severity === 'info'
                      ? 'Accent'
                      : 'Warning',
              wrap: true,
            },
            { type: 'TextBlock', text: event.summary, wrap: true },
            { type: 'FactSet', facts },
          ],
        },
      },
    ],
  };
}

export const renderTeams: Renderer<TeamsConfig> = (event, config) => ({
  url: config.url,
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify(teamsPayload(event)),
});
