// What each rule observes, computed from stored results. Pure functions of their inputs.
import type { RttStatistic } from '../../shared/config/schema.ts';
import type { RttResult, ThroughputResult } from '../../shared/result.ts';
import { windowRttStatistic } from '../../shared/stats.ts';
import type { Observation } from './state.ts';

/** Loss over the window: probes lost / probes sent, in percent; null when nothing was sent. */
export function windowLoss(rounds: readonly RttResult[]): number | null {
  let sent = 0;
  let received = 0;
  for (const r of rounds) {
    if (!r.rtt) continue;
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
  const v = windowRttStatistic(rounds, statistic);
  return { breach: v === null ? null : v > max_ms, observed: v, threshold: max_ms };
}

export function lossObservation(rounds: readonly RttResult[], max_percent: number): Observation {
  const v = windowLoss(rounds);
  return { breach: v === null ? null : v > max_percent, observed: v, threshold: max_percent };
}

/** Link down: the latest round (within the window) lost every probe or could not run at all. */
export function linkDownObservation(latest: RttResult | undefined, windowStartMs: number): Observation {
  if (!latest || latest.time_ms < windowStartMs) return { breach: null, observed: null, threshold: 100 };
  const loss = latest.rtt === null ? 100 : latest.rtt.sent === 0 ? 0 : latest.rtt.loss_percent;
  const down = latest.rtt === null || (latest.rtt.sent > 0 && latest.rtt.received === 0);
  return { breach: down, observed: loss, threshold: 100 };
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
  for (const t of tests) {
    if (!t.throughput || t.error !== null) continue;
    const flows =
      (t.src === src && t.dst === dst && t.throughput.direction === 'forward') ||
      (t.src === dst && t.dst === src && t.throughput.direction === 'reverse');
    if (flows && (!best || t.time_ms > best.time_ms)) best = t;
  }
  return best;
}

export function goodputObservation(
  tests: readonly ThroughputResult[],
  src: string,
  dst: string,
  required_bps: number,
): Observation {
  const t = latestGoodput(tests, src, dst);
  const v = t?.throughput?.goodput_bps ?? null;
  return { breach: v === null ? null : v < required_bps, observed: v, threshold: required_bps };
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
