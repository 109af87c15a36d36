// What each rule observes, computed from stored results. Pure functions of their inputs. A Result
// that says the measurement could not be made (measured.ts) is never evidence: every link rule skips it.
import type { RttStatistic } from '../../shared/config/schema.ts';
import type { RttResult, ThroughputResult } from '../../shared/result.ts';
import { windowRttStatistic } from '../../shared/stats.ts';
import type { AlertCause } from '../../shared/wire.ts';
import { isMeasured } from './measured.ts';
import type { Observation } from './state.ts';

/** Loss over the window: probes lost / probes sent, in percent; null when nothing was sent. */
export function windowLoss(rounds: readonly RttResult[]): number | null {
  let sent = 0;
  let received = 0;
  for (const r of rounds) {
    if (!r.rtt || !isMeasured(r)) continue;
    sent += r.rtt.sent;
    received += r.rtt.received;
  }
  if (sent === 0) return null;
  return Math.round(((sent - received) / sent) * 100_000) / 1000;
}

export function rttObservation(
  rounds: readonly RttResult[],
  statistic: RttStatistic,
  max_ms: number,
): Observation {
  const v = windowRttStatistic(rounds.filter(isMeasured), statistic);
  return { breach: v === null ? null : v > max_ms, observed: v, threshold: max_ms };
}

export function lossObservation(rounds: readonly RttResult[], max_percent: number): Observation {
  const v = windowLoss(rounds);
  return { breach: v === null ? null : v > max_percent, observed: v, threshold: max_percent };
}

/**
 * Link down: the latest measured round (within the window) lost every probe or could not run at all.
 * The caller hands in the latest round that was measured; one that was not is no data.
 */
export function linkDownObservation(latest: RttResult | undefined, windowStartMs: number): Observation {
  if (!latest || latest.time_ms < windowStartMs || !isMeasured(latest))
    return { breach: null, observed: null, threshold: 100 };
  const loss = latest.rtt === null ? 100 : latest.rtt.sent === 0 ? 0 : latest.rtt.loss_percent;
  const down = latest.rtt === null || (latest.rtt.sent > 0 && latest.rtt.received === 0);
  return { breach: down, observed: loss, threshold: 100 };
}

const succeeded = (t: ThroughputResult): boolean => t.error === null && t.throughput !== null;

/** Whether a successful test carried data src → dst: forward run by src, or reverse (-R) run by dst. */
function flows(t: ThroughputResult, src: string, dst: string): boolean {
  if (!succeeded(t) || !t.throughput) return false;
  return (
    (t.src === src && t.dst === dst && t.throughput.direction === 'forward') ||
    (t.src === dst && t.dst === src && t.throughput.direction === 'reverse')
  );
}

/**
 * The latest goodput of data flowing src → dst: a forward test run by src towards dst, or a reverse
 * (-R) test run by dst towards src. Tests that failed (busy, refused, …) are results but not goodput.
 */
export function latestGoodput(
  tests: readonly ThroughputResult[],
  src: string,
  dst: string,
): ThroughputResult | undefined {
  let best: ThroughputResult | undefined;
  for (const t of tests) if (flows(t, src, dst) && (!best || t.time_ms > best.time_ms)) best = t;
  return best;
}

/** goodput_low from the latest goodput src → dst; a test that started before `freshFromMs` is stale: no data. */
export function goodputObservation(
  tests: readonly ThroughputResult[],
  src: string,
  dst: string,
  required_bps: number,
  freshFromMs = Number.NEGATIVE_INFINITY,
): Observation {
  const t = latestGoodput(tests, src, dst);
  const v = t && t.time_ms >= freshFromMs ? (t.throughput?.goodput_bps ?? null) : null;
  return { breach: v === null ? null : v < required_bps, observed: v, threshold: required_bps };
}

/**
 * Whether a test speaks for the direction src → dst. A successful one says which way its data flowed;
 * a failed one does not, so it counts for src → dst when src ran it towards dst, and also when dst ran
 * it while tests run both ways (-R: a slot's forward and reverse test are one client's).
 */
export function covers(t: ThroughputResult, src: string, dst: string, reverse: boolean): boolean {
  if (succeeded(t)) return flows(t, src, dst);
  return (t.src === src && t.dst === dst) || (reverse && t.src === dst && t.dst === src);
}

/** The latest covering test failed: why, when, and how many measured tests failed in a row. */
export type ThroughputFailure = AlertCause & { time_ms: number; consecutive: number };

export interface ThroughputFailingObservation extends Observation {
  failure: ThroughputFailure | null;
}

/**
 * throughput_failing for the direction src → dst, from the tests between its sites (newest first):
 * a breach once the latest `n` measured tests covering it all failed; within limits once one of them
 * succeeded; no data before either (fewer than n tests, all failed). `observed` is the share of the
 * latest n that failed, in percent. Tests that could not be made (measured.ts) neither fail nor succeed.
 */
export function throughputFailingObservation(
  tests: readonly ThroughputResult[],
  src: string,
  dst: string,
  reverse: boolean,
  n: number,
): ThroughputFailingObservation {
  const covering = tests.filter((t) => covers(t, src, dst, reverse)).sort((x, y) => y.time_ms - x.time_ms);
  const measured = covering.filter(isMeasured);
  let consecutive = 0;
  while (consecutive < measured.length && !succeeded(measured[consecutive] as ThroughputResult))
    consecutive++;
  const latest = covering[0];
  const failure = latest?.error
    ? { code: latest.error.code, message: latest.error.message, time_ms: latest.time_ms, consecutive }
    : null;
  if (measured.length === 0) return { breach: null, observed: null, threshold: 100, failure };
  const considered = measured.slice(0, n);
  const failed = considered.filter((t) => !succeeded(t)).length;
  const observed = Math.round((failed / considered.length) * 1000) / 10;
  const breach = consecutive >= n ? true : consecutive < measured.length ? false : null;
  return { breach, observed, threshold: 100, failure };
}

/**
 * An agent is down when its last heartbeat is older than interval + timeout. The collector cannot have
 * heard an agent while it was itself down, so an agent not heard since the collector started gets a
 * full interval + timeout of grace: until then its state is unknown (no change), which keeps a restart
 * from paging for every agent, or from resolving an agent that is still silent.
 */
export function agentObservation(
  lastHeartbeatMs: number | null,
  startedAtMs: number,
  now: number,
  limitMs: number,
): Observation {
  const threshold = limitMs / 1000;
  const silentS = (since: number) => Math.round((now - since) / 100) / 10;
  if (lastHeartbeatMs !== null && lastHeartbeatMs >= startedAtMs) {
    const observed = silentS(lastHeartbeatMs);
    return { breach: observed * 1000 > limitMs, observed, threshold };
  }
  if (now - startedAtMs <= limitMs) return { breach: null, observed: null, threshold };
  return { breach: true, observed: silentS(lastHeartbeatMs ?? startedAtMs), threshold };
}

/**
 * output_rows_refused for one output, from the rows it set aside within the alert window (the caller
 * counts them; undefined: not known, no data). A breach while any was; within limits once none was for
 * a whole window. Set-asides are dated by the collector's clock when the sink gave up on the row, so
 * they say what InfluxDB did lately, however old the rows themselves are.
 */
export function outputObservation(refusedInWindow: number | undefined): Observation {
  if (refusedInWindow === undefined) return { breach: null, observed: null, threshold: 0 };
  return { breach: refusedInWindow > 0, observed: refusedInWindow, threshold: 0 };
}
