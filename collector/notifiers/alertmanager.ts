// Prometheus Alertmanager: POST /api/v2/alerts with a JSON array of alerts, which Alertmanager then
// routes, groups, inhibits and silences. Alertmanager resolves an alert by itself once its endsAt has
// passed, so a firing alert is sent with endsAt one repeat_interval (plus a margin) ahead; each
// reminder pushes it further, and the resolved event sets endsAt to the time it resolved.
import type { NotifierConfig } from '../../shared/config/schema.ts';
import type { AlertEvent } from '../alerts/event.ts';
import { formatLimit, formatValue, iso, type RenderContext, type Renderer } from './types.ts';

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
      ? { src: event.subject.src, dst: event.subject.dst, link: event.link?.sites.join('-') ?? '' }
      : { site: event.subject.site }),
  };
  const annotations: Record<string, string> = {
    summary: event.summary,
    observed: formatValue(event.observed, event.unit),
    required: formatLimit(event),
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
