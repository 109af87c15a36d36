// A month (or any span) of plausible history for every link direction of a topology, written straight
// into a collector's store: what the console's tests, its benchmark and the screenshot script show.
// Deterministic (a seeded generator): each direction has its own base RTT, a daily swing, now and then
// a congested hour with RTT over the limit and some loss (its rtt_high alert event firing and resolving),
// single spikes, and an hourly iperf3 test each way whose goodput dips during congestion.
import { randomUUID } from 'node:crypto';
import type { Store } from '../collector/store/store.ts';
import type { AlertEvent } from '../shared/alerts-wire.ts';
import type { Result, RttResult, ThroughputResult } from '../shared/result.ts';
import { summarizeRtt } from '../shared/stats.ts';
import type { LinkRequirement } from '../shared/topology/requirements.ts';
import { batch } from './results.ts';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

export interface HistoryOptions {
  /** The links to fill, both directions each. */
  links: readonly LinkRequirement[];
  /** End of the history (exclusive), and how far back it goes. */
  nowMs: number;
  spanMs?: number;
  /** Time between two RTT rounds of one direction. */
  rttIntervalMs?: number;
  throughputIntervalMs?: number;
  seed?: number;
  /** Links ("a--b", sites sorted) congested right now: their last half hour is over the limit. */
  congestedNow?: string[];
}

/** mulberry32: small, fast, good enough for plausible noise. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function hash(s: string): number {
  let h = 2166136261;
  for (const c of s) h = Math.imul(h ^ c.charCodeAt(0), 16777619);
  return h >>> 0;
}

/** Congested hours of a link: [start, end) spans, the same for both directions. */
function episodes(key: string, from: number, to: number): [number, number][] {
  const rnd = random(hash(`${key}/episodes`));
  const out: [number, number][] = [];
  for (let t = from + rnd() * 3 * DAY; t < to; t += (2 + rnd() * 5) * DAY)
    out.push([t, t + (0.5 + rnd() * 2) * HOUR]);
  return out;
}

/**
 * Writes the history into `store` (as one agent per site would have pushed it) and the link alert
 * events of its congested hours; returns how many results it wrote.
 */
export function seedHistory(store: Store, o: HistoryOptions): number {
  const span = o.spanMs ?? 30 * DAY;
  const from = o.nowMs - span;
  const every = o.rttIntervalMs ?? 60_000;
  const tputEvery = o.throughputIntervalMs ?? HOUR;
  let written = 0;
  // Seeding only: the store's durable commits would make a month take minutes.
  store.db.pragma('synchronous = OFF');
  try {
    for (const link of o.links) {
      const key = link.sites.join('--');
      const congested = episodes(key, from, o.nowMs - HOUR).concat(
        o.congestedNow?.includes(key) ? [[o.nowMs - HOUR / 2, o.nowMs + HOUR]] : [],
      );
      // Far enough apart to be worth watching: 8 to 60 ms, a few links above the 80 ms limit's reach.
      const base = 8 + (hash(key) % 5200) / 100;
      const capacity = link.required_mbps * 1e6 * (1.6 + (hash(`${key}/cap`) % 100) / 60);
      for (const [src, dst] of [link.sites, [link.sites[1], link.sites[0]]] as [string, string][]) {
        const rnd = random(hash(`${src}>${dst}`) ^ (o.seed ?? 1));
        const results: Result[] = [];
        const flush = () => {
          if (results.length === 0) return;
          written += store.ingestBatch(batch(src, results.splice(0)), o.nowMs).stored;
        };
        let ep = 0;
        for (let t = from; t < o.nowMs; t += every) {
          while (ep < congested.length && (congested[ep] as [number, number])[1] <= t) ep++;
          const jam = ep < congested.length && (congested[ep] as [number, number])[0] <= t;
          const daily = 1 + 0.12 * Math.sin(((t % DAY) / DAY) * 2 * Math.PI - 1.2);
          const level =
            (jam ? Math.max(base * 1.9, link.max_rtt_ms * 1.1) : base * daily) + (dst > src ? 0.4 : 0);
          const samples = Array.from({ length: 5 }, () => {
            if (rnd() < (jam ? 0.06 : 0.002)) return null;
            const spike = rnd() < 0.004 ? level * (1 + rnd() * 3) : 0;
            return Math.round((level + rnd() * (jam ? 12 : 1.5) + spike) * 1000) / 1000;
          });
          results.push(rtt(src, dst, t, samples));
          if ((t - from) % tputEvery < every)
            results.push(tput(src, dst, t, capacity * (jam ? 0.45 : 0.92 + rnd() * 0.06), level));
          if (results.length >= 5000) flush();
        }
        flush();
      }
      for (const [start, end] of congested)
        for (const e of alertPair(link, start, end, o.nowMs)) insertEvent(store, e);
    }
  } finally {
    store.db.pragma('synchronous = FULL');
  }
  return written;
}

function rtt(src: string, dst: string, time_ms: number, samples: (number | null)[]): RttResult {
  const stats = summarizeRtt(samples);
  return {
    id: randomUUID(),
    kind: 'rtt',
    method: 'udp',
    src,
    dst,
    target: `${dst}:4789`,
    time_ms,
    duration_ms: 100,
    error: stats.received === 0 ? { code: 'timeout', message: `no reply from ${dst} within 1000 ms` } : null,
    rtt: stats,
  };
}

function tput(src: string, dst: string, time_ms: number, bps: number, rttMs: number): ThroughputResult {
  const goodput = Math.round(bps);
  return {
    id: randomUUID(),
    kind: 'throughput',
    method: 'iperf3',
    src,
    dst,
    target: `${dst}:5201`,
    time_ms,
    duration_ms: 10_000,
    error: null,
    throughput: {
      protocol: 'tcp',
      direction: 'forward',
      streams: 1,
      duration_ms: 10_000,
      goodput_bps: goodput,
      sent_bps: goodput,
      target_bps: null,
      retransmits: 0,
      sender_rtt_ms: rttMs * 1.3,
      udp_jitter_ms: null,
      udp_loss_percent: null,
      intervals_bps: [goodput],
    },
    loaded_rtt: summarizeRtt([rttMs * 1.25, rttMs * 1.3, rttMs * 1.4]),
  };
}

/** The rtt_high alert of a congested hour: firing at its start (resolved at its end, if past). */
function alertPair(link: LinkRequirement, start: number, end: number, now: number): AlertEvent[] {
  const [a, b] = link.sites;
  const ev = (status: 'firing' | 'resolved', time: number): AlertEvent => ({
    dedup_key: `wanwatch/rtt_high/${a}--${b}`,
    rule: 'rtt_high',
    status,
    reminder: false,
    severity: 'warning',
    subject: { kind: 'link', sites: [a, b], worst: { src: a, dst: b } },
    started_at_ms: start,
    fired_at_ms: start,
    resolved_at_ms: status === 'resolved' ? time : null,
    time_ms: time,
    observed: link.max_rtt_ms * 1.2,
    threshold: link.max_rtt_ms,
    unit: 'ms',
    directions: [],
    summary: `p95 RTT ${status === 'firing' ? 'above' : 'back under'} ${link.max_rtt_ms} ms on ${a} ↔ ${b}`,
    link: {
      sites: [a, b],
      subclusters: link.subclusters,
      required_mbps: link.required_mbps,
      max_rtt_ms: link.max_rtt_ms,
      max_loss_percent: link.max_loss_percent,
      derivation: link.derivation,
    },
  });
  return end < now ? [ev('firing', start), ev('resolved', end)] : [ev('firing', start)];
}

function insertEvent(store: Store, e: AlertEvent): void {
  store.db
    .prepare('INSERT INTO alert_events (dedup_key, time_ms, json) VALUES (?, ?, ?)')
    .run(e.dedup_key, e.time_ms, JSON.stringify(e));
}
