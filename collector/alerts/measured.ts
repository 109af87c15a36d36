// Which failed Results are evidence about a link, and which only say that the measurement could not be
// made. The link rules skip the second kind ("not measured"); measurement_failing raises one alert per
// site and cause for them instead, so an agent without the ICMP privilege pages for what it is, not as
// a dead link for every peer. Pure. The reasons for each code are in docs/alerts.md ("Not measured").
import type { ErrorCode, Result } from '../../shared/result.ts';
import type { AlertCause } from '../../shared/wire.ts';
import type { Observation } from './state.ts';

/**
 * Codes that say nothing about the path between the two sites: no packet was sent to the peer, or what
 * happened to it was cut short by the agent itself. `dns` is among them: the name is looked up by the
 * measuring site's resolver, before anything travels towards the peer.
 */
export const NOT_MEASURED_CODES = [
  'permission_denied',
  'tool_missing',
  'cancelled',
  'internal',
  'dns',
] as const satisfies readonly ErrorCode[];

/**
 * The causes measurement_failing alerts on, one alert per site and cause. `cancelled` is left out: it
 * is the agent stopping (a restart, an upgrade), which agent_down covers when it lasts.
 */
export const MEASUREMENT_CAUSES = [
  'permission_denied',
  'tool_missing',
  'internal',
  'dns',
] as const satisfies readonly ErrorCode[];
export type MeasurementCause = (typeof MEASUREMENT_CAUSES)[number];

const NOT_MEASURED: ReadonlySet<ErrorCode> = new Set(NOT_MEASURED_CODES);

/**
 * An RTT round every probe of which a wanwatch reflector refused (probes/round.ts): a `refused` Result
 * without figures. The refusals came back over the path, so it works; the far end's reflector was not
 * running. Not evidence about the link; `refused` stays evidence everywhere else: a round with figures
 * (probes against a tcp_port that is not a reflector count a refusal as a lost probe; so did agents
 * before this rule) and a throughput test iperf3 was refused. The cause is at the far end, so it is
 * not among the measuring site's causes: measurement_failing raises it for the far end's site instead
 * (reflectorObservation), and only once it lasts `alerts.for`, so a peer's agent restarting (its
 * reflector gone for a second or two) pages nobody.
 */
export const refusedByReflector = (r: Result): boolean =>
  r.kind === 'rtt' && r.rtt === null && r.error?.code === 'refused';

/** The code measurement_failing raises for the site whose reflector refuses its peers' probes. */
export const REFLECTOR_CAUSE = 'refused' as const satisfies ErrorCode;

/** The Result's error when it says the measurement could not be made; null for evidence. */
export function notMeasured(r: Result): AlertCause | null {
  if (r.error === null) return null;
  return NOT_MEASURED.has(r.error.code) || refusedByReflector(r) ? r.error : null;
}

export const isMeasured = (r: Result): boolean => notMeasured(r) === null;

export interface MeasurementObservation extends Observation {
  /** The newest Result failing with the cause: its message says what to do. */
  cause: AlertCause | undefined;
}

/**
 * measurement_failing for one site and cause, from what the site did last towards each peer (its
 * latest RTT round, its latest throughput test): the share, in percent, that failed with `cause`.
 * A breach when any did; no data when the site did nothing recently (agent_down covers silence).
 */
export function measurementObservation(
  latest: readonly Result[],
  cause: MeasurementCause,
): MeasurementObservation {
  return failingShare(latest, (r) => r.error?.code === cause);
}

/** The share of `latest` that `failed` picks, in percent, and the newest of those as the cause. */
function failingShare(latest: readonly Result[], failed: (r: Result) => boolean): MeasurementObservation {
  if (latest.length === 0) return { breach: null, observed: null, threshold: 0, cause: undefined };
  const hits = latest.filter(failed).sort((x, y) => y.time_ms - x.time_ms);
  const observed = Math.round((hits.length / latest.length) * 1000) / 10;
  const newest = hits[0]?.error ?? undefined;
  return {
    breach: hits.length > 0,
    observed,
    threshold: 0,
    cause: newest ? { code: newest.code, message: newest.message } : undefined,
  };
}

/**
 * measurement_failing/refused for one site, from its peers' latest rounds towards it that its reflector
 * answered or refused (each peer's, in the window; rounds not measured for another reason are skipped):
 * a breach when any of them was refused, `observed` the share refused, in percent; within limits when
 * all were answered (or lost: link_down's business); no data when there are none.
 */
export function reflectorObservation(latest: readonly Result[]): MeasurementObservation {
  return failingShare(latest, refusedByReflector);
}
