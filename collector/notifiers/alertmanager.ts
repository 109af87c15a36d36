// Prometheus Alertmanager: POST /api/v2/alerts with a JSON array of alerts, which Alertmanager then
// routes, groups, inhibits and silences. Alertmanager resolves an alert by itself once its endsAt has
// passed, so a firing alert is sent with endsAt one repeat_interval (plus a margin) ahead; each
// reminder pushes it further, and the resolved event sets endsAt to the time it resolved.
// Alertmanager tells alerts apart by their label set, so labels hold only what stays the same from
// firing to resolved: the rule and the link (never the direction that happens to be worse).
import type { NotifierConfig } from '../../shared/config/schema.ts';
import { type AlertEvent, linkName } from '../alerts/event.ts';
import { directionsText, formatLimit, formatValue, iso, type RenderContext, type Renderer } from './types.ts';

export type AlertmanagerConfig = Extract<NotifierConfig, { type: 'alertmanager' }>;

export const FIRING_MARGIN_MS = 10 * 60_000;

/** The v2 alerts endpoint under the configured base URL (a full /api/v2/alerts URL is kept as it is). */
export function alertmanagerUrl(base: string): string {
  const trimmed = base.replace(/\/+$/, '');
  return trimmed.endsWith('/api/v2/alerts') ? trimmed : `${trimmed}/api/v2/alerts`;
}

export function alertmanagerPayload(event: AlertEvent, ctx: RenderContext) {
  const labels: Record<string, string> = {
    alertname: `wanwatch_${event.rule}`,
    rule: event.rule,
    severity: event.severity,
    dedup_key: event.dedup_key,
    ...(event.subject.kind === 'link'
      ? { link: linkName(event.subject.sites) }
      : { site: event.subject.site }),
  };
  const directions = directionsText(event);
  const annotations: Record<string, string> = {
    summary: event.summary,
    observed: formatValue(event.observed, event.unit),
    required: formatLimit(event),
    ...(directions !== null ? { directions } : {}),
    ...(event.link ? { description: `Link needs ${event.link.derivation}` } : {}),
  };
  const endsAt =
    event.status === 'resolved'
      ? (event.resolved_at_ms ?? event.time_ms)
      : Math.max(event.time_ms, ctx.now_ms) + ctx.repeat_interval_ms + FIRING_MARGIN_MS;
  return [
    {
      labels,
      annotations,
      startsAt: iso(event.started_at_ms) as string,
      endsAt: iso(endsAt) as string,
      generatorURL: `${ctx.collector_url ?? 'http://localhost'}/api/v1/alerts`,
    },
  ];
}

export const renderAlertmanager: Renderer<AlertmanagerConfig> = (event, config, ctx) => ({
  url: alertmanagerUrl(config.url),
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify(alertmanagerPayload(event, ctx)),
});
