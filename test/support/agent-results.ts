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
    rtt: {
      sent: 1,
      received: 1,
      loss_percent: 0,
      rtt_min_ms: 0.1,
      rtt_median_ms: 0.1,
      rtt_p95_ms: 0.1,
      rtt_max_ms: 0.1,
      rtt_mean_ms: 0.1,
      rtt_stddev_ms: 0,
      jitter_ms: 0,
      jitter_method: 'rfc3550',
      samples_ms: [0.1],
    },
  };
}

export const rttResults = (from: number, count: number) =>
  Array.from({ length: count }, (_, i) => rttResult(from + i));
