// A throughput test (iperf3.ts) as one Result, optionally with latency under load: an RTT round to the
// same peer, started once iperf3's warm-up (-O) is over, so its probes travel while the test saturates
// the path. The round's figures go into the Result's `loaded_rtt`.
import { randomUUID } from 'node:crypto';
import { DEFAULT_IPERF3_PORT } from '../shared/ports.ts';
import type { ProbeMethod, RttStats, ThroughputResult } from '../shared/result.ts';
import { RTT_PROBES } from './index.ts';
import { type Iperf3Parsed, runIperf3Client } from './iperf3.ts';
import { nowMs } from './round.ts';
import type { RttProbe } from './types.ts';

export interface ThroughputTarget {
  src: string;
  dst: string;
  host: string;
  /** iperf3 server port (default 5201). */
  port?: number;
}

export interface ThroughputOptions {
  protocol: 'tcp' | 'udp';
  /** Test length; iperf3 takes whole seconds (rounded up). */
  duration_ms: number;
  /** Warm-up left out of the figures (whole seconds, rounded up; 0 for none). */
  omit_ms: number;
  streams: number;
  /** true: the peer sends to us (iperf3 -R). */
  reverse: boolean;
  /** UDP: the rate to send at, bits per second (the link's required rate); TCP: at most this rate. */
  rate_bps?: number;
  /** Kill the test after this long (ms); default duration + warm-up + 15 s. */
  timeout?: number;
  /** Latency under load: the RTT round to run during the test. */
  loadedRtt?: {
    /** A method name from RTT_PROBES, or a probe function of the same shape. */
    probe: ProbeMethod | RttProbe;
    count: number;
    spacing_ms: number;
    port?: number;
    timeout_ms?: number;
  };
  busy_retries?: number;
  busy_backoff_ms?: number;
  signal?: AbortSignal;
  iperf3_path?: string;
}

/** How long after the start the loaded round begins: past the warm-up and the connection set-up. */
const LOADED_RTT_DELAY_MS = 500;

/** Runs one throughput test. Never throws: every failure is a Result with `error` set. */
/** Runs one throughput test: `runThroughput` below, or a stand-in in tests. */
export type ThroughputRunner = (
  target: ThroughputTarget,
  opts: ThroughputOptions,
) => Promise<ThroughputResult>;

export async function runThroughput(
  target: ThroughputTarget,
  opts: ThroughputOptions,
): Promise<ThroughputResult> {
  const time_ms = Date.now();
  const t0 = nowMs();
  const port = target.port ?? DEFAULT_IPERF3_PORT;
  const label = target.host.includes(':') ? `[${target.host}]:${port}` : `${target.host}:${port}`;
  const base = {
    id: randomUUID(),
    kind: 'throughput' as const,
    method: 'iperf3' as const,
    src: target.src,
    dst: target.dst,
    target: label,
    time_ms,
  };
  const bad = checkOptions(opts);
  if (bad)
    return {
      ...base,
      duration_ms: 0,
      error: { code: 'internal', message: `throughput test: ${bad}` },
      throughput: null,
      loaded_rtt: null,
    };
  const timeout_ms = opts.timeout ?? opts.duration_ms + opts.omit_ms + 15_000;

  const test: Promise<Iperf3Parsed> = runIperf3Client({
    host: target.host,
    port,
    protocol: opts.protocol,
    duration_ms: opts.duration_ms,
    omit_ms: opts.omit_ms,
    streams: opts.streams,
    reverse: opts.reverse,
    timeout_ms,
    ...(opts.rate_bps !== undefined ? { rate_bps: opts.rate_bps } : {}),
    ...(opts.busy_retries !== undefined ? { busy_retries: opts.busy_retries } : {}),
    ...(opts.busy_backoff_ms !== undefined ? { busy_backoff_ms: opts.busy_backoff_ms } : {}),
    ...(opts.signal ? { signal: opts.signal } : {}),
    ...(opts.iperf3_path ? { iperf3_path: opts.iperf3_path } : {}),
  });

  let loaded: Promise<RttStats | null> = Promise.resolve(null);
  const l = opts.loadedRtt;
  if (l) {
    // Stop waiting to start the round as soon as the test is over (failed at once, e.g. refused).
    let testOver = false;
    void test.then(() => {
      testOver = true;
    });
    loaded = (async () => {
      const delay = Math.ceil(opts.omit_ms / 1000) * 1000 + LOADED_RTT_DELAY_MS;
      const until = nowMs() + delay;
      while (!testOver && nowMs() < until) await new Promise((r) => setTimeout(r, 20));
      if (testOver) return null;
      const probe = typeof l.probe === 'function' ? l.probe : RTT_PROBES[l.probe];
      const r = await probe(
        {
          src: target.src,
          dst: target.dst,
          host: target.host,
          ...(l.port !== undefined ? { port: l.port } : {}),
        },
        {
          count: l.count,
          spacing_ms: l.spacing_ms,
          timeout_ms: l.timeout_ms ?? 2000,
          ...(opts.signal ? { signal: opts.signal } : {}),
        },
      );
      return r.rtt;
    })();
  }

  const [r, loadedRtt] = await Promise.all([test, loaded]);
  const duration_ms = Math.round((nowMs() - t0) * 1000) / 1000;
  if (!r.ok)
    return {
      ...base,
      duration_ms,
      error: { code: r.code, message: r.message.slice(0, 2000) },
      throughput: null,
      loaded_rtt: null,
    };
  return { ...base, duration_ms, error: null, throughput: r.stats, loaded_rtt: loadedRtt };
}

function checkOptions(o: ThroughputOptions): string | null {
  if (!Number.isFinite(o.duration_ms) || o.duration_ms <= 0)
    return `duration_ms must be more than 0 (got ${o.duration_ms})`;
  if (!Number.isFinite(o.omit_ms) || o.omit_ms < 0) return `omit_ms must be 0 or more (got ${o.omit_ms})`;
  if (!Number.isInteger(o.streams) || o.streams < 1 || o.streams > 128)
    return `streams must be 1–128 (got ${o.streams})`;
  if (o.protocol === 'udp' && (o.rate_bps === undefined || !(o.rate_bps > 0)))
    return "a UDP test needs rate_bps, the rate to send at (e.g. the link's required rate)";
  if (o.timeout !== undefined && !(o.timeout > 0)) return `timeout must be more than 0 ms (got ${o.timeout})`;
  return null;
}
