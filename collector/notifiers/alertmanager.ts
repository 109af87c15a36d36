// Prometheus Alertmanager: POST /api/v2/alerts with a JSON array of alerts, which Alertmanager then
// routes, groups, inhibits and silences. Alertmanager keeps alerts only in memory and resolves one by
// itself once its endsAt has passed, and expects its clients to send every active alert again every
// 30 s to 3 min. So a firing alert is sent with endsAt a few resend intervals ahead, and the outbox
// sends every firing alert again each resend_interval (outbox/resend.ts): an Alertmanager restart is
// healed within one interval, and a collector that stops lets its alerts end within three.
// The resolved event sets endsAt to the time it resolved.
// Alertmanager tells alerts apart by their label set, so labels hold only what stays the same from
// firing to resolved: the rule and the link (never the direction that happens to be worse).
import type { NotifierConfig } from '../../shared/config/schema.ts';
import { subjectName } from '../alerts/event.ts';
import type { Notification, RenderContext, Renderer } from './types.ts';
import { directionsText, formatLimit, formatValue, iso } from './types.ts';

export type AlertmanagerConfig = Extract<NotifierConfig, { type: 'alertmanager' }>;

export const DEFAULT_RESEND_INTERVAL_MS = 60_000;
/** endsAt lies this many resend intervals ahead: two re-sends may be lost before Alertmanager ends it. */
export const ENDS_AFTER_RESENDS = 3;

export const resendIntervalMs = (config: Pick<AlertmanagerConfig, 'resend_interval'>): number =>
  config.resend_interval ?? DEFAULT_RESEND_INTERVAL_MS;

/** The v2 alerts endpoint under the configured base URL (a full /api/v2/alerts URL is kept as it is). */
export function alertmanagerUrl(base: string): string {
  const trimmed = base.replace(/\/+$/, '');
  return trimmed.endsWith('/api/v2/alerts') ? trimmed : `${trimmed}/api/v2/alerts`;
}

const SUBJECT_LABEL: Record<Notification['subject']['kind'], string> = {
  link: 'link',
  agent: 'site',
  output: 'output',
};

/** One alert of the posted array. */
export function alertmanagerAlert(
  event: Notification,
  config: Pick<AlertmanagerConfig, 'resend_interval'>,
  ctx: RenderContext,
) {
  const labels: Record<string, string> = {
    alertname: `wanwatch_${event.rule}`,
    rule: event.rule,
    severity: event.severity,
    dedup_key: event.dedup_key,
    // "link", "site" or "output", named as in the dedup key.
    [SUBJECT_LABEL[event.subject.kind]]: subjectName(event.subject),
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
      : Math.max(event.time_ms, ctx.now_ms) + ENDS_AFTER_RESENDS * resendIntervalMs(config);
  return {
    labels,
    annotations,
    startsAt: iso(event.started_at_ms) as string,
    endsAt: iso(endsAt) as string,
    generatorURL: `${ctx.collector_url ?? 'http://localhost'}/api/v1/alerts`,
  };
}

export function alertmanagerPayload(
  event: Notification,
  ctx: RenderContext,
  config: Pick<AlertmanagerConfig, 'resend_interval'> = {},
) {
  return [alertmanagerAlert(event, config, ctx)];
}

export const renderAlertmanager: Renderer<AlertmanagerConfig> = (event, config, ctx) => ({
  url: alertmanagerUrl(config.url),
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify(alertmanagerPayload(event, ctx, config)),
});

/** Several firing alerts in one request: the periodic re-send. */
export function renderAlertmanagerResend(
  events: readonly Notification[],
  config: AlertmanagerConfig,
  ctx: RenderContext,
) {
  return {
    url: alertmanagerUrl(config.url),
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(events.map((e) => alertmanagerAlert(e, config, ctx))),
  };
}
