// The alert side of the read API, re-exported by shared/wire.ts: the rules, the alert event the collector
// stores, notifies and copies to its outputs (GET /api/v1/alerts serves it as it is), and the replies of
// GET /api/v1/links and /api/v1/alerts. Validated at the edge like everything in wire.ts.
import { z } from 'zod';
import { ERROR_CODES } from './result.ts';

export const ALERT_RULES = [
  'rtt_high',
  'goodput_low',
  'loss_high',
  'link_down',
  'agent_down',
  'throughput_failing',
  'measurement_failing',
  'output_rows_refused',
] as const;
export type AlertRule = (typeof ALERT_RULES)[number];
/**
 * The rules alerted per link (agent_down and measurement_failing are per site, output_rows_refused per
 * output); replies list a link's alerts in this order.
 */
export const LINK_RULES = [
  'rtt_high',
  'loss_high',
  'goodput_low',
  'link_down',
  'throughput_failing',
] as const;
export type LinkRule = (typeof LINK_RULES)[number];

export const alertStatusSchema = z.enum(['ok', 'pending', 'firing', 'resolved']);
export type AlertStatus = z.infer<typeof alertStatusSchema>;

/** A link direction's state: the worst over its link rules; unknown while no rule has data. */
export const directionStateSchema = z.enum(['ok', 'pending', 'firing', 'unknown']);
export type DirectionState = z.infer<typeof directionStateSchema>;

const sitePairSchema = z.tuple([z.string(), z.string()]);

/** One direction of a link: measured from `src` towards `dst`. */
export const linkDirectionSchema = z.strictObject({ src: z.string(), dst: z.string() });
export type LinkDirection = z.infer<typeof linkDirectionSchema>;

/**
 * What an alert is about. A link alert covers both directions of the link (each side's agent measures
 * the same round trip, so one slow link is one alert); `worst` is the direction whose observation the
 * alert reports (the breaching one, or the worse value), null until either direction has data. An
 * output alert names one of the collector's `outputs:` by its name (its `name`, else its URL and
 * database or bucket).
 */
export const alertSubjectSchema = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('link'), sites: sitePairSchema, worst: linkDirectionSchema.nullable() }),
  z.strictObject({ kind: z.literal('agent'), site: z.string() }),
  z.strictObject({ kind: z.literal('output'), output: z.string() }),
]);
export type AlertSubject = z.infer<typeof alertSubjectSchema>;

/** One direction's observation of a link rule at the time of the event (same unit as the event). */
export const alertDirectionSchema = linkDirectionSchema.extend({
  /** true: breaching, false: within limits, null: no data. */
  breach: z.boolean().nullable(),
  observed: z.number().nullable(),
});
export type AlertDirection = z.infer<typeof alertDirectionSchema>;

/** The link's requirement, carried so replies and payloads can say what was required and why. */
export const alertLinkContextSchema = z.strictObject({
  sites: sitePairSchema,
  subclusters: z.array(z.string()),
  required_mbps: z.number(),
  max_rtt_ms: z.number(),
  max_loss_percent: z.number(),
  derivation: z.string(),
});
export type AlertLinkContext = z.infer<typeof alertLinkContextSchema>;

/**
 * Why a measurement failed, from the failed Result: its error code and message (which says what to
 * do). Carried by measurement_failing (the code it is about) and throughput_failing (the latest failure).
 */
export const alertCauseSchema = z.strictObject({ code: z.enum(ERROR_CODES), message: z.string() });
export type AlertCause = z.infer<typeof alertCauseSchema>;

export const alertEventSchema = z.strictObject({
  /** Deterministic per rule and subject, e.g. "wanwatch/rtt_high/dallas--london"; stable across restarts. */
  dedup_key: z.string(),
  rule: z.enum(ALERT_RULES),
  status: z.enum(['firing', 'resolved']),
  /** A reminder of an alert that is still firing (sent every repeat_interval). */
  reminder: z.boolean(),
  severity: z.enum(['critical', 'warning']),
  subject: alertSubjectSchema,
  /** When the breach began (start of pending), and when it fired. */
  started_at_ms: z.number(),
  fired_at_ms: z.number(),
  /** When it resolved; null while firing. */
  resolved_at_ms: z.number().nullable(),
  /** Time of this event. */
  time_ms: z.number(),
  /** The worst direction's value (or, when resolved, the latest value) and the limit, in `unit`. */
  observed: z.number().nullable(),
  threshold: z.number().nullable(),
  /** `rows`: rows an output set aside (output_rows_refused). */
  unit: z.enum(['ms', 'bps', 'percent', 's', 'rows']),
  /** Each direction of a link (sorted by src); empty for agents. */
  directions: z.array(alertDirectionSchema),
  /** One line for people: "p95 RTT 83.1 ms > 80 ms on dallas ↔ london (dallas → london 83.1 ms)". */
  summary: z.string(),
  link: alertLinkContextSchema.nullable(),
  /** measurement_failing and throughput_failing: the failure behind the alert; absent for other rules. */
  cause: alertCauseSchema.optional(),
});
export type AlertEvent = z.infer<typeof alertEventSchema>;

/** Every link rule's alert status; exhaustive, so a reply missing a rule is malformed. */
const linkAlertsSchema = z.record(z.enum(LINK_RULES), alertStatusSchema);

export const directionJsonSchema = z.strictObject({
  src: z.string(),
  dst: z.string(),
  state: directionStateSchema,
  rtt_ms: z.number().nullable(),
  rtt_statistic: z.string(),
  max_rtt_ms: z.number(),
  loss_percent: z.number().nullable(),
  max_loss_percent: z.number(),
  /** The latest goodput src → dst, however old: goodput_stale says when it no longer counts. */
  goodput_bps: z.number().nullable(),
  required_bps: z.number(),
  /** Measured rounds in the window; rounds that could not be made are left out (see not_measured). */
  rounds_in_window: z.number().int().min(0),
  last_result_ms: z.number().nullable(),
  last_throughput_ms: z.number().nullable(),
  /**
   * The latest RTT round in the window could not be made (no privilege, no tool, shutdown, name
   * lookup, a wanwatch bug): why, and when. Rules skip such rounds; they are not evidence about the link.
   */
  not_measured: alertCauseSchema.extend({ time_ms: z.number() }).nullable(),
  /** goodput_bps comes from a test older than three throughput cycles: shown, but no longer judged. */
  goodput_stale: z.boolean(),
  /** The latest throughput test covering this direction failed: why, and how many failed in a row. */
  throughput_failure: alertCauseSchema
    .extend({ time_ms: z.number(), consecutive: z.number().int().min(0) })
    .nullable(),
  /** The link's alerts as this direction shows them ('ok' when only the other direction breaches). */
  alerts: linkAlertsSchema,
});
export type DirectionJson = z.infer<typeof directionJsonSchema>;

export const linkJsonSchema = alertLinkContextSchema.extend({
  state: directionStateSchema,
  /** The link's alerts: one per rule and link, fed by the worse direction. */
  alerts: linkAlertsSchema,
  directions: z.array(directionJsonSchema),
});
export type LinkJson = z.infer<typeof linkJsonSchema>;

export const linksReplySchema = z.strictObject({
  time_ms: z.number(),
  window_ms: z.number(),
  rtt_statistic: z.string(),
  links: z.array(linkJsonSchema),
});
export type LinksReply = z.infer<typeof linksReplySchema>;

export const activeAlertSchema = z.strictObject({
  dedup_key: z.string(),
  rule: z.enum(ALERT_RULES),
  status: alertStatusSchema,
  subject: alertSubjectSchema,
  since_ms: z.number().nullable(),
  /** null while pending. */
  fired_at_ms: z.number().nullable(),
  observed: z.number().nullable(),
  threshold: z.number().nullable(),
  link: alertLinkContextSchema.nullable(),
  /** measurement_failing and throughput_failing: the failure behind the alert. */
  cause: alertCauseSchema.optional(),
});
export type ActiveAlert = z.infer<typeof activeAlertSchema>;

export const alertsReplySchema = z.strictObject({
  /** Pending and firing alerts, by dedup key. */
  active: z.array(activeAlertSchema),
  /** The latest alert events, newest first; `seq` is the store's. */
  recent: z.array(alertEventSchema.extend({ seq: z.number().int() })),
});
export type AlertsReply = z.infer<typeof alertsReplySchema>;
