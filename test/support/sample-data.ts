// Deterministic wanwatch data for the sink and dashboard tests: RTT rounds, throughput tests, link
// status, alert events and heartbeats between a few sites, at known times with known values, so that
// what a query returns can be compared with what was written.
import { createHash } from 'node:crypto';
import type { AlertEvent } from '../../collector/alerts/event.ts';
import type { LinkStatusPoint } from '../../collector/sinks/source.ts';
import type { Result, RttStats } from '../../shared/result.ts';
import type { Heartbeat } from '../../shared/wire.ts';

export const SITES = ['dallas', 'london', 'tokyo'] as const;

/** A UUID derived from a string, so the data is the same on every run. */
export function uuidOf(s: string): string {
  const h = createHash('sha256').update(s).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-8${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/** Sorted copy; median and p95 with linear interpolation as shared/stats.ts would give. */
function stats(samples: number[], lost: number): RttStats {
  const s = [...samples].sort((a, b) => a - b);
  const q = (p: number) => {
    const i = (s.length - 1) * p;
    const lo = Math.floor(i);
    const hi = Math.ceil(i);
    return (s[lo] as number) + ((s[hi] as number) - (s[lo] as number)) * (i - lo);
  };
  const mean = s.reduce((a, b) => a + b, 0) / s.length;
  let ipdv = 0;
  for (let i = 1; i < samples.length; i++)
    ipdv += Math.abs((samples[i] as number) - (samples[i - 1] as number));
  const sent = samples.length + lost;
  return {
    sent,
    received: samples.length,
    loss_percent: (lost / sent) * 100,
    rtt_min_ms: s[0] as number,
    rtt_median_ms: q(0.5),
    rtt_p95_ms: q(0.95),
    rtt_max_ms: s[s.length - 1] as number,
    rtt_mean_ms: mean,
    rtt_stddev_ms: Math.sqrt(s.reduce((a, b) => a + (b - mean) ** 2, 0) / s.length),
    jitter_ms: samples.length > 1 ? ipdv / (samples.length - 1) : 0,
    jitter_method: 'rtt-ipdv',
    samples_ms: [...samples, ...Array<null>(lost).fill(null)],
  };
}

export interface SampleData {
  results: Result[];
  linkStatus: LinkStatusPoint[];
  alertEvents: AlertEvent[];
  heartbeats: Heartbeat[];
}

/**
 * `rounds` RTT rounds per directed site pair, 10 s apart from `startMs`; a throughput test in each
 * direction per pair; link status per round; one alert that fires and one that stays firing; heartbeats.
 */
export function sampleData(startMs: number, rounds = 12): SampleData {
  const results: Result[] = [];
  const linkStatus: LinkStatusPoint[] = [];
  const alertEvents: AlertEvent[] = [];
  const heartbeats: Heartbeat[] = [];
  const pairs = SITES.flatMap((a) => SITES.filter((b) => b !== a).map((b) => [a, b] as const));
  pairs.forEach(([src, dst], p) => {
    const base = 20 + p * 15; // tokyo links are slow: some exceed 80 ms
    for (let r = 0; r < rounds; r++) {
      const t = startMs + r * 10_000 + p * 100;
      const samples = [0, 1, 2, 3, 4].map((i) => base + ((r * 7 + i * 3) % 11) * 1.5);
      const lost = r % 4 === 3 ? 1 : 0;
      results.push({
        id: uuidOf(`rtt/${src}/${dst}/${r}`),
        kind: 'rtt',
        method: 'udp',
        src,
        dst,
        target: `127.0.0.${p + 2}:4789`,
        time_ms: t,
        duration_ms: 1000,
        error: null,
        rtt: stats(samples, lost),
      });
      const rs = results[results.length - 1] as Extract<Result, { kind: 'rtt' }>;
      linkStatus.push({
        time_ms: t + 50,
        src,
        dst,
        state: (rs.rtt?.rtt_p95_ms ?? 0) > 80 ? 'firing' : r % 5 === 4 ? 'pending' : 'ok',
        rtt_ms: rs.rtt?.rtt_p95_ms ?? null,
        rtt_statistic: 'p95',
        loss_percent: rs.rtt?.loss_percent ?? null,
        goodput_bps: 4_000_000 + p * 2_000_000,
        required_bps: 10_000_000,
        max_rtt_ms: 80,
      });
    }
    // A failed round: a result with an error and no statistics.
    results.push({
      id: uuidOf(`rtt-fail/${src}/${dst}`),
      kind: 'rtt',
      method: 'udp',
      src,
      dst,
      target: `127.0.0.${p + 2}:4789`,
      time_ms: startMs + rounds * 10_000 + p * 100,
      duration_ms: 2000,
      error: { code: 'timeout', message: 'no reply within 2 s, "all" lost' },
      rtt: null,
    });
    for (const direction of ['forward', 'reverse'] as const) {
      const goodput = (4 + p * 2) * 1_000_000 + (direction === 'reverse' ? 500_000 : 0);
      results.push({
        id: uuidOf(`tput/${src}/${dst}/${direction}`),
        kind: 'throughput',
        method: 'iperf3',
        src,
        dst,
        target: `127.0.0.${p + 2}:5201`,
        time_ms: startMs + 30_000 + p * 100 + (direction === 'reverse' ? 12_000 : 0),
        duration_ms: 10_000,
        error: null,
        throughput: {
          protocol: 'tcp',
          direction,
          streams: 1,
          duration_ms: 10_000,
          goodput_bps: goodput,
          sent_bps: goodput * 1.01,
          target_bps: null,
          retransmits: p,
          sender_rtt_ms: base + 5,
          udp_jitter_ms: null,
          udp_loss_percent: null,
          intervals_bps: [goodput, goodput],
        },
        loaded_rtt: stats([base + 10, base + 12, base + 30], 0),
      });
    }
  });
  const link = {
    sites: ['dallas', 'tokyo'] as [string, string],
    subclusters: ['sc1', 'sc2'],
    required_mbps: 10,
    max_rtt_ms: 80,
    max_loss_percent: 1,
    derivation: '2 × 5 Mbps (sc1, sc2) = 10 Mbps',
  };
  const ev = (
    rule: AlertEvent['rule'],
    src: string,
    dst: string,
    status: AlertEvent['status'],
    t: number,
    observed: number,
  ): AlertEvent => ({
    dedup_key: `wanwatch/${rule}/${[src, dst].sort().join('--')}`,
    rule,
    status,
    reminder: false,
    severity: 'critical',
    subject: { kind: 'link', sites: [src, dst].sort() as [string, string], worst: { src, dst } },
    started_at_ms: startMs,
    fired_at_ms: startMs + 20_000,
    resolved_at_ms: status === 'resolved' ? t : null,
    time_ms: t,
    observed,
    threshold: rule === 'rtt_high' ? 80 : 10_000_000,
    unit: rule === 'rtt_high' ? 'ms' : 'bps',
    directions: [{ src, dst, breach: status === 'firing', observed }],
    summary: `${rule} on ${src} → ${dst}`,
    link,
  });
  alertEvents.push(ev('rtt_high', 'tokyo', 'london', 'firing', startMs + 20_000, 96.5));
  alertEvents.push(ev('goodput_low', 'dallas', 'london', 'firing', startMs + 40_000, 4_000_000));
  alertEvents.push(ev('goodput_low', 'dallas', 'london', 'resolved', startMs + 90_000, 11_000_000));
  alertEvents.push({
    ...ev('link_down', 'tokyo', 'dallas', 'firing', startMs + 60_000, 100),
    subject: { kind: 'agent', site: 'tokyo' },
    directions: [],
    rule: 'agent_down',
    dedup_key: 'wanwatch/agent_down/tokyo',
    unit: 's',
    summary: 'agent tokyo sent no heartbeat for 90 s',
    link: null,
  });
  SITES.forEach((site, i) => {
    for (let k = 0; k < Math.ceil(rounds / 3); k++) {
      heartbeats.push({
        site,
        version: i === 2 ? '0.1.0' : '0.2.0',
        time_ms: startMs + k * 30_000 + i * 100,
        started_at_ms: startMs - 60_000,
        plan_version: 'p1',
        spool_queued: k,
        spool_dropped: 0,
        errors: i === 2 ? k % 2 : 0,
      });
    }
  });
  return { results, linkStatus, alertEvents, heartbeats };
}
