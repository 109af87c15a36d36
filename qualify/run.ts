// Runs one link's qualification: RTT rounds for the whole duration, and meanwhile TCP goodput and UDP at
// the required rate in each direction, one test after another. Rounds that overlap a throughput test
// are the latency-under-load sample. The probes are passed in, so the orchestration can be tested alone.

import type { RttProbe, RttTarget } from '../probes/types.ts';
import type { ProbeMethod, RttResult, ThroughputResult } from '../shared/result.ts';
import type { LinkMeasurements } from './verdict.ts';

export interface ThroughputRequest {
  protocol: 'tcp' | 'udp';
  reverse: boolean;
  duration_ms: number;
  /** UDP only: the rate to send at. */
  rate_bps: number | null;
  signal: AbortSignal;
}

export interface QualifyDeps {
  rttProbe: RttProbe;
  throughput: (req: ThroughputRequest) => Promise<ThroughputResult>;
  now?: () => number;
}

export interface QualifyOptions {
  target: RttTarget;
  duration_ms: number;
  /** Length of each of the four throughput tests. */
  test_duration_ms: number;
  required_bps: number;
  round: { count: number; spacing_ms: number; timeout_ms: number };
  /** Leave out throughput tests (RTT and loss only). */
  skip_throughput?: boolean;
  signal: AbortSignal;
}

/** What `wanwatch qualify` asks of each link's run, in direct mode and in mesh mode alike. */
export interface RunSettings {
  /** The RTT probe, and the probes per round and the gap between them. */
  method: ProbeMethod;
  count: number;
  spacing_ms: number;
  duration_ms: number;
  test_duration_ms: number;
  skip_throughput: boolean;
}

export interface Progress {
  elapsed_ms: number;
  remaining_ms: number;
  phase: string;
  rounds: number;
  last_rtt_ms: number | null;
}

/** The default length of each throughput test for a run of `duration_ms`: a share of it, 1–30 s. */
export function defaultTestDuration(duration_ms: number): number {
  return Math.min(30_000, Math.max(1000, Math.floor((duration_ms * 0.6) / 4 / 1000) * 1000));
}

export async function qualifyLink(
  opts: QualifyOptions,
  deps: QualifyDeps,
  onProgress: (p: Progress) => void = () => {},
): Promise<LinkMeasurements> {
  const now = deps.now ?? Date.now;
  const start = now();
  const windows: [number, number][] = [];
  const rounds: RttResult[] = [];
  const tcp: ThroughputResult[] = [];
  const udp: ThroughputResult[] = [];
  let phase = 'RTT';
  let throughputDone = opts.skip_throughput === true;

  const report = () => {
    const elapsed = now() - start;
    const last = rounds.at(-1)?.rtt?.rtt_median_ms ?? null;
    onProgress({
      elapsed_ms: elapsed,
      remaining_ms: Math.max(0, opts.duration_ms - elapsed),
      phase,
      rounds: rounds.length,
      last_rtt_ms: last,
    });
  };

  const rttLoop = async () => {
    while (!opts.signal.aborted && (now() - start < opts.duration_ms || !throughputDone)) {
      const r = await deps.rttProbe(opts.target, { ...opts.round, signal: opts.signal });
      // A round cut short by Ctrl-C would count its unsent probes as lost: leave it out.
      if (opts.signal.aborted) break;
      rounds.push(r);
      report();
    }
  };

  const throughputLoop = async () => {
    if (opts.skip_throughput) return;
    // Start with idle RTT, so the link's unloaded latency is measured before anything loads it.
    // At least a quarter of the run, even when the tests fill the rest of it.
    const idle_ms = Math.max((opts.duration_ms - 4 * opts.test_duration_ms) / 2, opts.duration_ms / 4);
    await sleep(idle_ms, opts.signal);
    const plan: [string, 'tcp' | 'udp', boolean][] = [
      ['TCP forward', 'tcp', false],
      ['TCP reverse', 'tcp', true],
      ['UDP forward', 'udp', false],
      ['UDP reverse', 'udp', true],
    ];
    for (const [name, protocol, reverse] of plan) {
      if (opts.signal.aborted) break;
      phase = `${name}${protocol === 'udp' ? ` at ${opts.required_bps / 1e6} Mbps` : ''}`;
      report();
      const t0 = now();
      const r = await deps.throughput({
        protocol,
        reverse,
        duration_ms: opts.test_duration_ms,
        rate_bps: protocol === 'udp' ? opts.required_bps : null,
        signal: opts.signal,
      });
      windows.push([t0, now()]);
      // Likewise a test cut short measures the stop, not the link.
      if (opts.signal.aborted) break;
      (protocol === 'tcp' ? tcp : udp).push(r);
    }
    phase = 'RTT';
    throughputDone = true;
  };

  await Promise.all([rttLoop(), throughputLoop()]);
  throughputDone = true;

  const overlaps = (r: RttResult) =>
    windows.some(([a, b]) => r.time_ms < b && r.time_ms + Math.max(r.duration_ms, 1) > a);
  return {
    rounds: rounds.map((result) => ({ result, loaded: overlaps(result) })),
    tcp,
    udp,
    interrupted: opts.signal.aborted,
  };
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted || ms <= 0) return resolve();
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}
