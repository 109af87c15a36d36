// What the alert state machine emits and every notifier and sink consumes: one alert event type.
export const ALERT_RULES = ['rtt_high', 'goodput_low', 'loss_high', 'link_down', 'agent_down'] as const;
export type AlertRule = (typeof ALERT_RULES)[number];

export type AlertSubject =
  /** A link in one direction: measured from `src` towards `dst`. */
  { kind: 'link'; src: string; dst: string } | { kind: 'agent'; site: string };

/** The link's requirement, carried so payloads can say what was required and why. */
export interface AlertLinkContext {
  sites: [string, string];
  subclusters: string[];
  required_mbps: number;
  max_rtt_ms: number;
  max_loss_percent: number;
  derivation: string;
}

export interface AlertEvent {
  /** Deterministic per rule and subject, e.g. "wanwatch/rtt_high/dallas->london"; stable across restarts. */
  dedup_key: string;
  rule: AlertRule;
  status: 'firing' | 'resolved';
  /** A reminder of an alert that is still firing (sent every repeat_interval). */
  reminder: boolean;
  severity: 'critical' | 'warning';
  subject: AlertSubject;
  /** When the breach began (start of pending), and when it fired. */
  started_at_ms: number;
  fired_at_ms: number;
  /** When it resolved; null while firing. */
  resolved_at_ms: number | null;
  /** Time of this event. */
  time_ms: number;
  /** The value that breached (or, when resolved, the latest value) and the limit, in `unit`. */
  observed: number | null;
  threshold: number | null;
  unit: 'ms' | 'bps' | 'percent' | 's';
  /** One line for people: "p95 RTT 83.1 ms > 80 ms on dallas → london". */
  summary: string;
  link: AlertLinkContext | null;
}
