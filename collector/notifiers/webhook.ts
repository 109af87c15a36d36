// The generic JSON webhook: a versioned body that any receiver can parse, signed with HMAC-SHA256
// over the raw body when `secret_env` is set. The body carries `sent_at`, so a receiver that checks
// the signature can also refuse old (replayed) deliveries. Version 2: alerts are per link (the
// subject names both sites and the worse direction; `directions` holds each direction's value);
// version 1 had one alert per direction.
import { createHmac } from 'node:crypto';
import type { NotifierConfig } from '../../shared/config/schema.ts';
import { iso, type Notification, type RenderContext, type Renderer } from './types.ts';

export type WebhookConfig = Extract<NotifierConfig, { type: 'webhook' }>;

export const SIGNATURE_HEADER = 'x-wanwatch-signature';
export const TIMESTAMP_HEADER = 'x-wanwatch-timestamp';

export interface WebhookPayloadV2 {
  version: 2;
  status: 'firing' | 'resolved';
  reminder: boolean;
  rule: string;
  dedup_key: string;
  severity: Notification['severity'];
  summary: string;
  subject: Notification['subject'];
  /** Each direction of the link: {src, dst, breach, observed} (observed in `observed.unit`); [] for agents. */
  directions: Notification['directions'];
  link: Notification['link'];
  /** measurement_failing and throughput_failing: the failure behind the alert ({code, message}); else null. */
  cause: NonNullable<Notification['cause']> | null;
  observed: { value: number | null; unit: Notification['unit'] };
  threshold: { value: number | null; unit: Notification['unit'] };
  started_at: string;
  fired_at: string;
  resolved_at: string | null;
  event_time: string;
  sent_at: string;
  collector_url: string | null;
}

export function webhookPayload(event: Notification, ctx: RenderContext): WebhookPayloadV2 {
  return {
    version: 2,
    status: event.status,
    reminder: event.reminder,
    rule: event.rule,
    dedup_key: event.dedup_key,
    severity: event.severity,
    summary: event.summary,
    subject: event.subject,
    directions: event.directions,
    link: event.link,
    cause: event.cause ?? null,
    observed: { value: event.observed, unit: event.unit },
    threshold: { value: event.threshold, unit: event.unit },
    started_at: iso(event.started_at_ms) as string,
    fired_at: iso(event.fired_at_ms) as string,
    resolved_at: iso(event.resolved_at_ms),
    event_time: iso(event.time_ms) as string,
    sent_at: iso(ctx.now_ms) as string,
    collector_url: ctx.collector_url,
  };
}

/** "sha256=<hex>" of HMAC-SHA256(secret, raw body). */
export function signBody(secret: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(body, 'utf8').digest('hex')}`;
}

export const renderWebhook: Renderer<WebhookConfig> = (event, config, ctx) => {
  const body = JSON.stringify(webhookPayload(event, ctx));
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    [TIMESTAMP_HEADER]: String(Math.floor(ctx.now_ms / 1000)),
  };
  if (config.secret_env !== undefined && ctx.secret !== null)
    headers[SIGNATURE_HEADER] = signBody(ctx.secret, body);
  return { url: config.url, headers, body };
};
