// Throughput through the iperf3 client (`iperf3 -c … -J`), run with execa, its JSON read through a zod
// schema. Debian's iperf3 3.12 exits 0 when a test fails under -J; only the `error` key says so
// ("the server is busy running a test. try again later", "unable to connect to server: Connection
// refused"), so the key is read whatever the exit code. A busy server is asked again with a bounded
// backoff; a test past its time limit is killed and becomes a `timeout` result.
//
// What is kept: goodput = end.sum_received.bits_per_second (what arrived); end.sum_sent's rate and TCP
// retransmits; the senders' mean smoothed RTT (end.streams[].sender.mean_rtt, µs; only known when the
// client is the sender, i.e. not with -R); UDP jitter and loss from end.sum_received; and the rate of
// every interval after the -O warm-up, as the client measured it.
import { execa } from 'execa';
import { z } from 'zod';
import type { ErrorCode, ThroughputStats } from '../shared/result.ts';

export const IPERF3_INSTALL_HINT =
  'iperf3 is not installed (or not on PATH): install it with `apt-get install iperf3`';

const sumSchema = z.object({
  seconds: z.number(),
  bytes: z.number(),
  bits_per_second: z.number(),
  retransmits: z.number().optional(),
  jitter_ms: z.number().optional(),
  lost_packets: z.number().optional(),
  packets: z.number().optional(),
  lost_percent: z.number().optional(),
});

const streamEndSchema = z.object({
  sender: z.object({ mean_rtt: z.number().optional(), retransmits: z.number().optional() }).optional(),
});

/** The part of iperf3 3.x's -J report wanwatch reads (unknown keys are ignored). */
export const iperf3ReportSchema = z.object({
  start: z
    .object({
      version: z.string().optional(),
      test_start: z
        .object({
          protocol: z.string(),
          num_streams: z.number(),
          omit: z.number(),
          duration: z.number(),
          reverse: z.number(),
          target_bitrate: z.number(),
        })
        .optional(),
    })
    .optional(),
  intervals: z
    .array(z.object({ sum: z.object({ bits_per_second: z.number(), omitted: z.boolean().optional() }) }))
    .default([]),
  end: z
    .object({
      sum_sent: sumSchema.optional(),
      sum_received: sumSchema.optional(),
      sum: sumSchema.optional(),
      streams: z.array(streamEndSchema).optional(),
    })
    .default({}),
  error: z.string().optional(),
});
export type Iperf3Report = z.infer<typeof iperf3ReportSchema>;

export type Iperf3Parsed =
  | { ok: true; stats: ThroughputStats }
  | { ok: false; code: ErrorCode; message: string };

/** Maps iperf3's error text onto a Result error code. */
export function classifyIperf3Error(text: string): ErrorCode {
  if (/busy/i.test(text)) return 'busy';
  if (/refused/i.test(text)) return 'refused';
  if (/no route to host|network is unreachable|host is unreachable/i.test(text)) return 'unreachable';
  if (/timed out|timeout/i.test(text)) return 'timeout';
  if (
    /name or service not known|failed to resolve|unknown host|temporary failure in name resolution/i.test(
      text,
    )
  )
    return 'dns';
  return 'tool_error';
}

/**
 * Reads one iperf3 -J report. `where` (host:port) goes into error messages. A report with an `error`
 * key, or without end.sum_received, is a failure whatever iperf3's exit code was.
 */
export function parseIperf3Report(text: string, where: string): Iperf3Parsed {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    const head = text.trim().slice(0, 300);
    return {
      ok: false,
      code: classifyIperf3Error(head),
      message: `iperf3 against ${where} printed no JSON report: ${head === '' ? '(nothing)' : head}`,
    };
  }
  const parsed = iperf3ReportSchema.safeParse(raw);
  if (!parsed.success) {
    return {
      ok: false,
      code: 'tool_error',
      message: `iperf3's report from ${where} is not in the expected shape: ${parsed.error.issues
        .slice(0, 3)
        .map((i) => `${i.path.join('.')}: ${i.message}`)
        .join('; ')}`,
    };
  }
  const r = parsed.data;
  if (r.error !== undefined) {
    const code = classifyIperf3Error(r.error);
    const advice: Partial<Record<ErrorCode, string>> = {
      busy: 'another test is running against that server; wanwatch runs one test per server at a time',
      refused:
        'no iperf3 server listens there: is `wanwatch reflector` (or the agent) running on that host, with that iperf3 port?',
      unreachable: 'check the route to that host',
    };
    const extra = advice[code];
    return { ok: false, code, message: `iperf3 against ${where}: ${r.error}${extra ? ` (${extra})` : ''}` };
  }
  const ts = r.start?.test_start;
  const received = r.end.sum_received;
  if (!ts || !received) {
    return {
      ok: false,
      code: 'tool_error',
      message: `iperf3's report from ${where} has no end.sum_received: the test did not finish`,
    };
  }
  const udp = ts.protocol.toUpperCase() === 'UDP';
  const rtts = (r.end.streams ?? [])
    .map((s) => s.sender?.mean_rtt)
    .filter((v): v is number => v !== undefined && v > 0);
  const sent = r.end.sum_sent;
  const udpSum = received.jitter_ms !== undefined ? received : r.end.sum;
  return {
    ok: true,
    stats: {
      protocol: udp ? 'udp' : 'tcp',
      direction: ts.reverse ? 'reverse' : 'forward',
      streams: Math.max(1, ts.num_streams),
      duration_ms: Math.round(received.seconds * 1000 * 1000) / 1000,
      goodput_bps: Math.max(0, received.bits_per_second),
      sent_bps: sent ? sent.bits_per_second : null,
      target_bps: udp ? ts.target_bitrate : null,
      retransmits: !udp && sent?.retransmits !== undefined ? sent.retransmits : null,
      sender_rtt_ms: rtts.length > 0 ? rtts.reduce((a, b) => a + b, 0) / rtts.length / 1000 : null,
      udp_jitter_ms: udp ? (udpSum?.jitter_ms ?? null) : null,
      udp_loss_percent:
        udp && udpSum?.lost_percent !== undefined ? Math.min(100, Math.max(0, udpSum.lost_percent)) : null,
      intervals_bps: r.intervals
        .filter((i) => i.sum.omitted !== true)
        .map((i) => Math.max(0, i.sum.bits_per_second)),
    },
  };
}

export interface Iperf3ClientOptions {
  host: string;
  port: number;
  protocol: 'tcp' | 'udp';
  /** Whole seconds are sent to iperf3 (-t), rounded up, at least 1. */
  duration_ms: number;
  /** Warm-up left out of the figures (-O), whole seconds rounded up. */
  omit_ms: number;
  streams: number;
  reverse: boolean;
  /** Target rate (-b), bits per second: UDP sends at it (1 Mbps without), TCP at most at it. */
  rate_bps?: number;
  /** Kill the test after this long (ms). */
  timeout_ms: number;
  /** Busy server: how many more tries, and the first wait (doubled each time). */
  busy_retries?: number;
  busy_backoff_ms?: number;
  signal?: AbortSignal;
  /** The iperf3 program (tests point it at a missing one). */
  iperf3_path?: string;
}

const seconds = (ms: number) => Math.max(1, Math.ceil(ms / 1000));

export function iperf3ClientArgs(o: Iperf3ClientOptions): string[] {
  const args = ['-c', o.host, '-p', String(o.port), '-J', '-t', String(seconds(o.duration_ms))];
  if (o.omit_ms > 0) args.push('-O', String(seconds(o.omit_ms)));
  if (o.streams > 1) args.push('-P', String(o.streams));
  if (o.reverse) args.push('-R');
  if (o.protocol === 'udp') args.push('-u', '-b', String(Math.round(o.rate_bps ?? 1_000_000)));
  else if (o.rate_bps !== undefined) args.push('-b', String(Math.round(o.rate_bps)));
  // Fail fast when the server does not answer, rather than waiting for TCP's own connect timeout.
  args.push('--connect-timeout', String(Math.min(10_000, Math.max(1000, Math.round(o.timeout_ms / 2)))));
  return args;
}

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    const t = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => {
      clearTimeout(t);
      resolve();
    });
  });

/** Runs one iperf3 client test (retrying while the server is busy). Never throws. */
export async function runIperf3Client(o: Iperf3ClientOptions): Promise<Iperf3Parsed> {
  const where = o.host.includes(':') ? `[${o.host}]:${o.port}` : `${o.host}:${o.port}`;
  const retries = o.busy_retries ?? 3;
  let backoff = o.busy_backoff_ms ?? 2000;
  for (let attempt = 0; ; attempt++) {
    const r = await runOnce(o, where);
    if (r.ok || r.code !== 'busy' || attempt >= retries || o.signal?.aborted) {
      if (!r.ok && r.code === 'busy' && attempt > 0)
        return { ...r, message: `${r.message}; still busy after ${attempt + 1} tries` };
      return r;
    }
    await sleep(backoff, o.signal);
    backoff *= 2;
  }
}

async function runOnce(o: Iperf3ClientOptions, where: string): Promise<Iperf3Parsed> {
  const program = o.iperf3_path ?? 'iperf3';
  const r = await execa(program, iperf3ClientArgs(o), {
    reject: false,
    timeout: o.timeout_ms,
    cancelSignal: o.signal,
    forceKillAfterDelay: 2000,
    stdin: 'ignore',
  });
  if (r.timedOut)
    return {
      ok: false,
      code: 'timeout',
      message: `iperf3 against ${where} did not finish within ${o.timeout_ms} ms and was stopped`,
    };
  if (r.isCanceled) return { ok: false, code: 'cancelled', message: `iperf3 against ${where} was cancelled` };
  if (r.failed && r.code === 'ENOENT')
    return { ok: false, code: 'tool_missing', message: `${IPERF3_INSTALL_HINT} (tried "${program}")` };
  if (r.failed && r.stdout.trim() === '' && r.exitCode === undefined)
    return { ok: false, code: 'tool_error', message: `cannot run ${program}: ${r.shortMessage}` };
  const parsed = parseIperf3Report(r.stdout, where);
  if (!parsed.ok && r.stderr.trim() !== '' && !parsed.message.includes(r.stderr.trim()))
    return { ...parsed, message: `${parsed.message}; stderr: ${r.stderr.trim().slice(0, 300)}` };
  return parsed;
}
