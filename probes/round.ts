// What every RTT probe shares: sending N probes at a fixed spacing (never waiting for earlier replies,
// so a lost probe does not delay the next), resolving the host once before the round (name lookup is
// not part of any RTT), and turning per-probe outcomes into one Result.
//
// A round cut short by its signal (shutdown, Ctrl-C) is not evidence about the link: a probe that was
// never sent, or whose wait for its reply was cut short, is `cancelled` and left out of the round
// altogether: not sent, not lost. Only probes that were sent and got their whole wait count.
//
// Likewise a probe that a wanwatch reflector's port refused (ICMP port unreachable for udp, a RST for tcp
// aimed at the reflector) is not measured: the refusal came back over the path, so the path works; what
// it says is that the far end's reflector is not running, e.g. for the second or two its agent takes to
// restart, and an agent that stays away is agent_down's business. Counted as lost, every agent upgrade
// paged its peers' loss_high. Which refusals get this treatment is the probe's call (udp.ts, tcp.ts):
// only a port known to be a reflector's, never an arbitrary tcp_port, where a refusal stays loss.
import { randomUUID } from 'node:crypto';
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import type { ErrorCode, JitterMethod, ProbeMethod, RttResult, RttStats } from '../shared/result.ts';
import { summarizeRtt } from '../shared/stats.ts';
import { failedRtt } from './failed.ts';
import type { RttRoundOptions, RttTarget } from './types.ts';

export type ProbeOutcome =
  | { ok: true; rtt_ms: number }
  | {
      ok: false;
      code: ErrorCode;
      message: string;
      /** false: not part of the round, neither sent nor lost (cancelled, or refused by a reflector). */
      measured?: false;
    };

/** A probe the round's signal stopped before it was sent, or before its reply was due: not part of the round. */
export const CANCELLED: ProbeOutcome = {
  ok: false,
  code: 'cancelled',
  message: 'round cancelled',
  measured: false,
};

/** A probe a wanwatch reflector's port refused: not part of the round (see the top of this file). */
export const refusedByReflector = (message: string): ProbeOutcome => ({
  ok: false,
  code: 'refused',
  message,
  measured: false,
});

const isMeasured = (o: ProbeOutcome): boolean => o.ok || o.measured !== false;

/** Monotonic clock in milliseconds, with sub-microsecond resolution. */
export const nowMs = (): number => Number(process.hrtime.bigint()) / 1e6;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, Math.max(0, ms)));

/**
 * Starts `send(i)` for i = 0 … count−1 at start + i × spacing. Each send is started on time whatever
 * earlier ones are doing; the schedule is kept against the monotonic clock, so timer lateness does not
 * accumulate. Probes not started because the signal fired are reported as `cancelled` (never lost).
 */
export async function sendSpaced(
  count: number,
  spacing_ms: number,
  signal: AbortSignal | undefined,
  send: (i: number) => Promise<ProbeOutcome>,
): Promise<ProbeOutcome[]> {
  const t0 = nowMs();
  const pending: Promise<ProbeOutcome>[] = [];
  for (let i = 0; i < count; i++) {
    if (i > 0 && !signal?.aborted) await sleep(t0 + i * spacing_ms - nowMs());
    if (signal?.aborted) {
      pending.push(Promise.resolve(CANCELLED));
      continue;
    }
    pending.push(send(i));
  }
  return Promise.all(pending);
}

/** The address to probe: the host itself when it is an IP address, else its first DNS answer. */
export async function resolveHost(host: string): Promise<{ address: string; family: 4 | 6 }> {
  const family = isIP(host);
  if (family === 4 || family === 6) return { address: host, family };
  const r = await lookup(host);
  return { address: r.address, family: r.family === 6 ? 6 : 4 };
}

export const targetLabel = (address: string, port?: number) =>
  port === undefined ? address : isIP(address) === 6 ? `[${address}]:${port}` : `${address}:${port}`;

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

export function errnoCode(err: unknown): string | undefined {
  return typeof err === 'object' && err !== null && 'code' in err && typeof err.code === 'string'
    ? err.code
    : undefined;
}

/** A Result for a round that could not run at all (bad options, name lookup failed, no privilege). */
export function failedRound(
  method: ProbeMethod,
  target: RttTarget,
  label: string,
  time_ms: number,
  code: ErrorCode,
  message: string,
): RttResult {
  return failedRtt(
    method,
    { src: target.src, dst: target.dst, target: label, time_ms, duration_ms: 0 },
    code,
    message,
  );
}

/** Checks the round options every probe takes; returns a message naming the bad one, or null. */
export function checkRoundOptions(opts: RttRoundOptions): string | null {
  if (!Number.isInteger(opts.count) || opts.count < 1 || opts.count > 100_000)
    return `count must be a whole number from 1 to 100000 (got ${opts.count})`;
  if (!Number.isFinite(opts.spacing_ms) || opts.spacing_ms < 0)
    return `spacing_ms must be 0 or more milliseconds (got ${opts.spacing_ms})`;
  if (!Number.isFinite(opts.timeout_ms) || opts.timeout_ms <= 0)
    return `timeout_ms must be more than 0 milliseconds (got ${opts.timeout_ms})`;
  return null;
}

/**
 * Builds the Result of a round from its outcomes. Lost and failed probes are null samples (loss);
 * probes that were not measured (cancelled: never sent, or their wait cut short; refused by a reflector)
 * are left out: the round is the probes that were judged. When nothing came back the Result carries an
 * error: the failure most probes had (ties go to the first seen), with that probe's message, and the
 * round's statistics (loss 100 %). A round of which no probe was judged is a Result without figures
 * (`rtt: null`) whose error is what most of its probes had: `cancelled`, or `refused` when a reflector
 * refused them; the collector's rules read neither as evidence (collector/alerts/measured.ts).
 */
export function roundResult(args: {
  method: ProbeMethod;
  target: RttTarget;
  label: string;
  time_ms: number;
  duration_ms: number;
  outcomes: readonly ProbeOutcome[];
  jitter?: { ms: number; method: JitterMethod };
  extra?: { reordered?: number; duplicates?: number };
}): RttResult {
  const judged = args.outcomes.filter(isMeasured);
  const duration_ms = Math.round(args.duration_ms * 1000) / 1000;
  const n = args.outcomes.length;
  if (judged.length === 0 && n > 0) {
    const [code, { n: k, message }] = mostCommon(args.outcomes);
    const refused =
      k === n ? `all ${n} probes were refused` : `${k} of its ${n} probes were refused, the others cut short`;
    const why =
      code === 'cancelled'
        ? `round cancelled before any of its ${n} probes was sent or had its reply due: nothing measured`
        : `round not measured: ${refused}: ${message}`;
    return { ...failedRound(args.method, args.target, args.label, args.time_ms, code, why), duration_ms };
  }
  const samples = judged.map((o) => (o.ok ? o.rtt_ms : null));
  const rtt: RttStats = summarizeRtt(samples, args.jitter, args.extra);
  let error: RttResult['error'] = null;
  if (rtt.received === 0 && rtt.sent > 0) {
    const [code, { n, message }] = mostCommon(judged);
    const text =
      n === rtt.sent
        ? `all ${rtt.sent} probes lost: ${message}`
        : `all ${rtt.sent} probes lost (${n} of them: ${message})`;
    error = { code, message: text.slice(0, 2000) };
    // No reply, no variation to speak of: jitter is unknown, not zero.
    rtt.jitter_ms = null;
  }
  return {
    id: randomUUID(),
    kind: 'rtt',
    method: args.method,
    src: args.target.src,
    dst: args.target.dst,
    target: args.label,
    time_ms: args.time_ms,
    duration_ms,
    error,
    rtt,
  };
}

/** The failure most of the failed outcomes had (ties go to the first seen), with its first message. */
function mostCommon(outcomes: readonly ProbeOutcome[]): [ErrorCode, { n: number; message: string }] {
  const counts = new Map<ErrorCode, { n: number; message: string }>();
  for (const o of outcomes) {
    if (o.ok) continue;
    const c = counts.get(o.code);
    if (c) c.n++;
    else counts.set(o.code, { n: 1, message: o.message });
  }
  let best: [ErrorCode, { n: number; message: string }] | undefined;
  for (const entry of counts) if (!best || entry[1].n > best[1].n) best = entry;
  return best ?? ['timeout', { n: outcomes.length, message: 'no reply' }];
}
