// How a transition of an alert's state machine becomes an AlertEvent: severity, unit and the one line
// for people that every notifier shows. Pure.
import type { RttStatistic } from '../../shared/config/schema.ts';
import type { AlertCause } from '../../shared/wire.ts';
import {
  type AlertDirection,
  type AlertEvent,
  type AlertLinkContext,
  type AlertRule,
  type AlertSubject,
  subjectText,
} from './event.ts';
import { REFLECTOR_CAUSE } from './measured.ts';
import type { AlertState, Transition } from './state.ts';

export interface StoredAlertState extends AlertState {
  /** The subject, kept so a state whose subject left the topology can still be resolved and shown. */
  rule: AlertRule;
  subject: AlertSubject;
  link: AlertLinkContext | null;
  /** Each direction's observation at the last evaluation with data (empty for agents). */
  directions: AlertDirection[];
  /** measurement_failing, throughput_failing: the latest failure seen while breaching. */
  cause?: AlertCause | undefined;
}

const SEVERITY: Record<AlertRule, AlertEvent['severity']> = {
  rtt_high: 'warning',
  loss_high: 'warning',
  goodput_low: 'warning',
  link_down: 'critical',
  agent_down: 'critical',
  throughput_failing: 'warning',
  measurement_failing: 'critical',
  // Nothing is lost (the rows are kept in the store) and the other rows go on: worth a look, not a page.
  output_rows_refused: 'warning',
};

const UNIT: Record<AlertRule, AlertEvent['unit']> = {
  rtt_high: 'ms',
  loss_high: 'percent',
  goodput_low: 'bps',
  link_down: 'percent',
  agent_down: 's',
  // The share of the latest tests (or measurements) that failed.
  throughput_failing: 'percent',
  measurement_failing: 'percent',
  output_rows_refused: 'rows',
};

export function alertEvent(
  dedup_key: string,
  state: StoredAlertState,
  transition: Transition,
  now: number,
  statistic: RttStatistic,
  note?: string,
): AlertEvent {
  const status = transition === 'resolved' ? 'resolved' : 'firing';
  const directions = state.directions;
  const summary = summarize(
    state.rule,
    state.subject,
    status,
    state.observed,
    state.threshold,
    statistic,
    directions,
    state.cause,
  );
  return {
    dedup_key,
    rule: state.rule,
    status,
    reminder: transition === 'reminder',
    severity: SEVERITY[state.rule],
    subject: state.subject,
    started_at_ms: state.since_ms ?? now,
    fired_at_ms: state.fired_at_ms ?? now,
    resolved_at_ms: status === 'resolved' ? (state.resolved_at_ms ?? now) : null,
    time_ms: now,
    observed: state.observed,
    threshold: state.threshold,
    unit: UNIT[state.rule],
    directions,
    summary: note ? `${summary} (${note})` : summary,
    link: state.link,
    ...(state.cause ? { cause: state.cause } : {}),
  };
}

const num = (n: number | null, digits = 1): string =>
  n === null ? '?' : String(Math.round(n * 10 ** digits) / 10 ** digits);
const mbps = (bps: number | null): string => (bps === null ? '?' : `${num(bps / 1e6, 2)} Mbps`);
const rows = (n: number | null): string => `${num(n, 0)} row${n === 1 ? '' : 's'}`;

const VALUE: Record<AlertRule, (v: number | null) => string> = {
  rtt_high: (v) => `${num(v)} ms`,
  loss_high: (v) => `${num(v, 2)} %`,
  goodput_low: mbps,
  link_down: () => '',
  agent_down: (v) => `${num(v, 0)} s`,
  throughput_failing: (v) => `${num(v, 0)} % failed`,
  measurement_failing: (v) => `${num(v, 0)} %`,
  output_rows_refused: (v) => rows(v),
};

/**
 * The directions behind a link alert, in parentheses: while firing the breaching ones, when resolved
 * every direction with data ("(A → C 90.3 ms, C → A 90.1 ms)"); empty when there are none.
 */
function directionsText(rule: AlertRule, status: 'firing' | 'resolved', dirs: readonly AlertDirection[]) {
  const shown = dirs.filter((d) => (status === 'firing' ? d.breach === true : d.breach !== null));
  if (shown.length === 0) return '';
  return ` (${shown.map((d) => `${d.src} → ${d.dst} ${VALUE[rule](d.observed)}`.trimEnd()).join(', ')})`;
}

const causeText = (cause: AlertCause | undefined): string =>
  cause ? `: ${cause.code}: ${cause.message}` : '';

/** One line for people, e.g. "p95 RTT 83.1 ms > 80 ms on dallas ↔ london (dallas → london 83.1 ms)". */
export function summarize(
  rule: AlertRule,
  subject: AlertSubject,
  status: 'firing' | 'resolved',
  observed: number | null,
  threshold: number | null,
  statistic: RttStatistic,
  directions: readonly AlertDirection[] = [],
  cause?: AlertCause,
): string {
  const on = subjectText(subject);
  const firing = status === 'firing';
  const dirs = directionsText(rule, status, directions);
  switch (rule) {
    case 'rtt_high':
      return `${statistic} RTT ${num(observed)} ms ${firing ? '>' : '≤'} ${num(threshold)} ms on ${on}${dirs}`;
    case 'loss_high':
      return `loss ${num(observed, 2)} % ${firing ? '>' : '≤'} ${num(threshold, 2)} % on ${on}${dirs}`;
    case 'goodput_low':
      return `goodput ${mbps(observed)} ${firing ? '<' : '≥'} ${mbps(threshold)} required on ${on}${dirs}`;
    case 'link_down':
      return firing ? `${on} is down: the latest RTT round lost every probe${dirs}` : `${on} is up again`;
    case 'agent_down':
      return firing
        ? `the agent at ${on} sent no heartbeat for ${num(observed, 0)} s (limit ${num(threshold, 0)} s)`
        : `the agent at ${on} is sending heartbeats again`;
    case 'throughput_failing':
      return firing
        ? `throughput tests keep failing on ${on}${dirs}${causeText(cause)}`
        : `throughput tests succeed again on ${on}`;
    case 'measurement_failing':
      if (cause?.code === REFLECTOR_CAUSE)
        return firing
          ? `the reflector at ${on} refuses its peers' probes (${num(observed, 0)} % of their latest rounds towards it)${causeText(cause)}`
          : `the reflector at ${on} answers its peers again (no more ${REFLECTOR_CAUSE})`;
      return firing
        ? `the agent at ${on} cannot measure (${num(observed, 0)} % of its latest measurements)${causeText(cause)}`
        : `the agent at ${on} measures again${cause ? ` (no more ${cause.code})` : ''}`;
    case 'output_rows_refused':
      return firing
        ? `${on}: InfluxDB refused ${rows(observed)} in the alert window; they are set aside, not written ` +
            '(GET /api/v1/outputs shows each and why), and the rows after them go on'
        : `${on}: InfluxDB refused no rows for the alert window`;
  }
}
