// What the alert state machine emits and every notifier and sink consumes: one alert event type.
export const ALERT_RULES = ['rtt_high', 'goodput_low', 'loss_high', 'link_down', 'agent_down'] as const;
export type AlertRule = (typeof ALERT_RULES)[number];

/** One direction of a link: measured from `src` towards `dst`. */
export interface LinkDirection {
  src: string;
  dst: string;
}

/**
 * What an alert is about. A link alert covers both directions of the link (each side's agent measures
 * the same round trip, so one slow link is one alert); `worst` is the direction whose observation the
 * alert reports (the breaching one, or the worse value), null until either direction has data.
 */
export type AlertSubject =
  | { kind: 'link'; sites: [string, string]; worst: LinkDirection | null }
  | { kind: 'agent'; site: string };

/** One direction's observation of a link rule at the time of the event (same unit as the event). */
export interface AlertDirection extends LinkDirection {
  /** true: breaching, false: within limits, null: no data. */
  breach: boolean | null;
  observed: number | null;
}

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
  /** Deterministic per rule and subject, e.g. "wanwatch/rtt_high/dallas--london"; stable across restarts. */
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
  /** The worst direction's value (or, when resolved, the latest value) and the limit, in `unit`. */
  observed: number | null;
  threshold: number | null;
  unit: 'ms' | 'bps' | 'percent' | 's';
  /** Each direction of a link (sorted by src); empty for agents. */
  directions: AlertDirection[];
  /** One line for people: "p95 RTT 83.1 ms > 80 ms on dallas ↔ london (dallas → london 83.1 ms)". */
  summary: string;
  link: AlertLinkContext | null;
}

/** A link's name in the dedup key and in low-cardinality labels: "dallas--london" (sites sorted). */
export const linkName = (sites: readonly [string, string]): string => `${sites[0]}--${sites[1]}`;

/** "dallas ↔ london" for a link, the site for an agent. */
export const subjectText = (subject: AlertSubject): string =>
  subject.kind === 'link' ? `${subject.sites[0]} ↔ ${subject.sites[1]}` : subject.site;
