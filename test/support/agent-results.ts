// Valid Results for tests that move results around (spool, batching, push) without measuring anything.
import { randomUUID } from 'node:crypto';
import type { RttResult } from '../../shared/result.ts';

export function rttResult(n: number, src = 'A', dst = 'B'): RttResult {
  return {
    id: randomUUID(),
    kind: 'rtt',
    method: 'udp',
    src,
    dst,
    target: '127.0.0.2:4789',
    time_ms: 1_700_000_000_000 + n,
    duration_ms: 12,
    error: null,
    rtt: instantRound(1),
  };
}

/** The summary of a round of `count` probes that all came back in 0.1 ms. */
export function instantRound(count: number): RttResult['rtt'] {
  return {
    sent: count,
    received: count,
    loss_percent: 0,
    rtt_min_ms: 0.1,
    rtt_median_ms: 0.1,
    rtt_p95_ms: 0.1,
    rtt_max_ms: 0.1,
    rtt_mean_ms: 0.1,
    rtt_stddev_ms: 0,
    jitter_ms: 0,
    jitter_method: 'rfc3550',
    samples_ms: Array.from({ length: count }, () => 0.1),
  };
}

export const rttResults = (from: number, count: number) =>
  Array.from({ length: count }, (_, i) => rttResult(from + i));
