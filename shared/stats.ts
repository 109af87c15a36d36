// Statistics over round-trip samples. Pure functions; the RTT summary every probe reports.
import type { RttStatistic } from './config/schema.ts';
import type { JitterMethod, RttResult, RttStats } from './result.ts';

/** The p-th percentile (0–100) of sorted values, interpolating linearly between closest ranks. */
export function percentileSorted(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) throw new Error('percentile of no values');
  const rank = (p / 100) * (sorted.length - 1);
  const lo = Math.floor(rank);
  const hi = Math.ceil(rank);
  const a = sorted[lo] as number;
  const b = sorted[hi] as number;
  return a + (b - a) * (rank - lo);
}

export function mean(values: readonly number[]): number {
  let sum = 0;
  for (const v of values) sum += v;
  return sum / values.length;
}

/** Population standard deviation. */
export function stddev(values: readonly number[]): number {
  const m = mean(values);
  let sq = 0;
  for (const v of values) sq += (v - m) ** 2;
  return Math.sqrt(sq / values.length);
}

/** Mean absolute difference between consecutive values (RFC 5481 IPDV, averaged); 0 for fewer than two. */
export function ipdvJitter(values: readonly number[]): number {
  if (values.length < 2) return 0;
  let sum = 0;
  for (let i = 1; i < values.length; i++) sum += Math.abs((values[i] as number) - (values[i - 1] as number));
  return sum / (values.length - 1);
}

/**
 * RFC 3550 §6.4.1 interarrival jitter over one-way transit times (receive time − send time, in ms,
 * in arrival order). Clock offset between sender and receiver cancels out in the differences.
 */
export function rfc3550Jitter(transits: readonly number[]): number {
  let j = 0;
  for (let i = 1; i < transits.length; i++) {
    const d = Math.abs((transits[i] as number) - (transits[i - 1] as number));
    j += (d - j) / 16;
  }
  return j;
}

const round3 = (n: number) => Math.round(n * 1000) / 1000;

/**
 * Summarises a round: per-probe RTTs in send order, null where the probe was lost. Jitter defaults to
 * the IPDV of consecutive received RTTs; a probe that measures one-way transit passes its own.
 */
export function summarizeRtt(
  samples: readonly (number | null)[],
  jitter?: { ms: number; method: JitterMethod },
  extra?: { reordered?: number; duplicates?: number },
): RttStats {
  const got = samples.filter((s): s is number => s !== null);
  const sent = samples.length;
  const sorted = [...got].sort((a, b) => a - b);
  const any = sorted.length > 0;
  const stat = (f: () => number) => (any ? round3(f()) : null);
  return {
    sent,
    received: got.length,
    loss_percent: sent === 0 ? 0 : round3(((sent - got.length) / sent) * 100),
    rtt_min_ms: stat(() => sorted[0] as number),
    rtt_median_ms: stat(() => percentileSorted(sorted, 50)),
    rtt_p95_ms: stat(() => percentileSorted(sorted, 95)),
    rtt_max_ms: stat(() => sorted[sorted.length - 1] as number),
    rtt_mean_ms: stat(() => mean(got)),
    rtt_stddev_ms: stat(() => stddev(got)),
    jitter_ms: jitter ? round3(jitter.ms) : stat(() => ipdvJitter(got)),
    jitter_method: jitter?.method ?? 'rtt-ipdv',
    samples_ms: samples.map((s) => (s === null ? null : round3(s))),
    ...extra,
  };
}

/** Every sample of a set of rounds (a window, or a qualification's idle or loaded rounds) summarised as one. */
export function pooledRtt(rounds: readonly RttResult[]): RttStats {
  return summarizeRtt(rounds.flatMap((r) => r.rtt?.samples_ms ?? []));
}

/** The statistic `thresholds.rtt_statistic` names, read from a summary; null when nothing was received. */
export function statisticOf(stats: RttStats, statistic: RttStatistic): number | null {
  switch (statistic) {
    case 'median':
      return stats.rtt_median_ms;
    case 'p95':
      return stats.rtt_p95_ms;
    case 'max':
      return stats.rtt_max_ms;
    case 'mean':
      return stats.rtt_mean_ms;
  }
}

/**
 * The RTT statistic over every received sample of a window of rounds: what the rtt_high rule compares.
 * The same value as statisticOf(pooledRtt(rounds)), computed without the rest of the summary: the
 * collector computes it for every link direction that receives a round.
 */
export function windowRttStatistic(rounds: readonly RttResult[], statistic: RttStatistic): number | null {
  const got: number[] = [];
  for (const r of rounds) for (const s of r.rtt?.samples_ms ?? []) if (s !== null) got.push(s);
  if (got.length === 0) return null;
  switch (statistic) {
    case 'mean':
      return round3(mean(got));
    case 'max':
      return round3(got.reduce((m, v) => Math.max(m, v), Number.NEGATIVE_INFINITY));
    case 'median':
    case 'p95':
      got.sort((a, b) => a - b);
      return round3(percentileSorted(got, statistic === 'p95' ? 95 : 50));
  }
}
