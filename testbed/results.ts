// Well-formed Results for collector tests, built the way probes build them (summarizeRtt).
import { randomUUID } from 'node:crypto';
import type { RttResult, ThroughputResult } from '../shared/result.ts';
import { summarizeRtt } from '../shared/stats.ts';
import type { ResultBatch } from '../shared/wire.ts';

export function rttResult(
  src: string,
  dst: string,
  time_ms: number,
  samples: (number | null)[],
  method: RttResult['method'] = 'udp',
): RttResult {
  const stats = summarizeRtt(samples);
  const lost = stats.received === 0;
  return {
    id: randomUUID(),
    kind: 'rtt',
    method,
    src,
    dst,
    target: '127.0.0.1:4789',
    time_ms,
    duration_ms: 1000,
    error: lost ? { code: 'timeout', message: `no reply from ${dst} within 2000 ms` } : null,
    rtt: stats,
  };
}

export function throughputResult(
  src: string,
  dst: string,
  time_ms: number,
  goodput_bps: number,
  direction: 'forward' | 'reverse' = 'forward',
): ThroughputResult {
  return {
    id: randomUUID(),
    kind: 'throughput',
    method: 'iperf3',
    src,
    dst,
    target: '127.0.0.1:5201',
    time_ms,
    duration_ms: 10_000,
    error: null,
    throughput: {
      protocol: 'tcp',
      direction,
      streams: 1,
      duration_ms: 10_000,
      goodput_bps,
      sent_bps: goodput_bps,
      target_bps: null,
      retransmits: 0,
      sender_rtt_ms: 1.2,
      udp_jitter_ms: null,
      udp_loss_percent: null,
      intervals_bps: [goodput_bps],
    },
    loaded_rtt: null,
  };
}

export function batch(site: string, results: ResultBatch['results']): ResultBatch {
  return { batch_id: randomUUID(), site, results };
}
