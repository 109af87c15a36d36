// One shape for every notifier: a pure function that renders the HTTP request for an AlertEvent.
// Delivering it (retries, backoff, persistence) is the outbox's job, the same for every provider.
import { type AlertEvent, subjectText as textOf } from '../alerts/event.ts';

/**
 * What a renderer reads: an alert event, or the test notification of `wanwatch notify test`, whose
 * rule ("test") and severity ("info") no alert has. Rules are plain names here so that a renderer
 * never needs to change when a rule is added.
 */
export type Notification = Omit<AlertEvent, 'rule' | 'severity'> & {
  rule: string;
  severity: AlertEvent['severity'] | 'info';
};

/** The rule of `wanwatch notify test`'s notification (collector/notifiers/test-notification.ts). */
export const TEST_RULE = 'test';

export interface RenderContext {
  /** Time of this delivery attempt. */
  now_ms: number;
  /** The collector's own URL, for links back (generatorURL, …); null when not known. */
  collector_url: string | null;
  /** Secrets read from the environment variables the notifier names (secret_env, routing_key_env). */
  secret: string | null;
}

export interface OutgoingRequest {
  url: string;
  headers: Record<string, string>;
  body: string;
}

export type Renderer<C> = (event: Notification, config: C, ctx: RenderContext) => OutgoingRequest;

export const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

/** The observed value and its limit as people read them ("83.1 ms", "4.2 Mbps", "95 s"). */
export function formatValue(value: number | null, unit: Notification['unit']): string {
  if (value === null) return 'n/a';
  const r = (n: number, d: number) => String(Math.round(n * 10 ** d) / 10 ** d);
  switch (unit) {
    case 'ms':
      return `${r(value, 1)} ms`;
    case 'bps':
      return `${r(value / 1e6, 2)} Mbps`;
    case 'percent':
      return `${r(value, 2)} %`;
    case 's':
      return `${r(value, 0)} s`;
    case 'rows':
      return `${r(value, 0)} ${value === 1 ? 'row' : 'rows'}`;
  }
}

/** "≤ 80 ms" for limits that are maxima, "≥ 5 Mbps" for minima. */
export function formatLimit(event: Notification): string {
  if (event.threshold === null) return 'n/a';
  const v = formatValue(event.threshold, event.unit);
  return event.rule === 'goodput_low' ? `≥ ${v}` : `≤ ${v}`;
}

/** "dallas ↔ london" for a link alert, the site for an agent alert, "output <name>" for an output's. */
export function subjectText(event: Notification): string {
  return textOf(event.subject);
}

/**
 * Each direction of a link alert, e.g. "dallas → london 83.1 ms (breach), london → dallas 79.4 ms";
 * null for agent alerts (and events recorded before alerts were per link).
 */
export function directionsText(event: Notification): string | null {
  const dirs = event.directions;
  if (dirs.length === 0) return null;
  return dirs
    .map((d) => `${d.src} → ${d.dst} ${formatValue(d.observed, event.unit)}${d.breach ? ' (breach)' : ''}`)
    .join(', ');
}

export function statusWord(event: Notification): string {
  if (event.rule === TEST_RULE) return 'TEST';
  return event.status === 'resolved' ? 'RESOLVED' : event.reminder ? 'STILL FIRING' : 'FIRING';
}
