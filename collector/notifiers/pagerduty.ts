// PagerDuty Events API v2: `trigger` while firing (reminders re-trigger the same dedup_key, which
// PagerDuty folds into the open alert), `resolve` when resolved. The routing key comes from the
// environment variable named by routing_key_env, read at delivery time and never stored.
import type { NotifierConfig } from '../../shared/config/schema.ts';
import { type AlertEvent, linkName } from '../alerts/event.ts';
import { directionsText, formatLimit, formatValue, iso, type RenderContext, type Renderer } from './types.ts';

export type PagerDutyConfig = Extract<NotifierConfig, { type: 'pagerduty' }>;

export function pagerdutyPayload(event: AlertEvent, config: PagerDutyConfig, ctx: RenderContext) {
  const routing_key = ctx.secret ?? '';
  if (event.status === 'resolved') {
    return { routing_key, event_action: 'resolve' as const, dedup_key: event.dedup_key };
  }
  const component = event.subject.kind === 'link' ? linkName(event.subject.sites) : event.subject.site;
  const directions = directionsText(event);
  return {
    routing_key,
    event_action: 'trigger' as const,
    dedup_key: event.dedup_key,
    payload: {
      summary: event.summary.slice(0, 1024),
      source: `wanwatch:${component}`,
      severity: config.severity,
      timestamp: iso(event.fired_at_ms) as string,
      component,
      group: event.subject.kind === 'link' ? 'links' : 'agents',
      class: event.rule,
      custom_details: {
        observed: formatValue(event.observed, event.unit),
        required: formatLimit(event),
        started_at: iso(event.started_at_ms),
        ...(directions !== null ? { directions } : {}),
        ...(event.link
          ? { subclusters: event.link.subclusters.join(', '), derivation: event.link.derivation }
          : {}),
      },
    },
    client: 'wanwatch',
    ...(ctx.collector_url ? { client_url: ctx.collector_url } : {}),
  };
}

export const renderPagerDuty: Renderer<PagerDutyConfig> = (event, config, ctx) => ({
  url: config.url,
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify(pagerdutyPayload(event, config, ctx)),
});
