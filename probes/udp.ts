// UDP echo against a wanwatch reflector (responder/reflector.ts); the payload is described in
// udp-echo-payload.ts. One socket per round, connected to the reflector so that an ICMP "port
// unreachable" (nothing listens there) surfaces as ECONNREFUSED instead of silent loss.
//
// A refused probe is not measured (probes/round.ts): the port is always a wanwatch reflector's, and
// "port unreachable" came back over the path from the far host, whose reflector is not running (its
// agent restarting, or stopped: agent_down's business). The socket reports refusals for the round, not
// per probe (the kernel keeps one pending error, so several ICMP messages may surface as one), so a
// probe without a reply is taken as refused when a refusal surfaced while it was awaited (from its send
// to its timeout), and as lost otherwise.
import { randomInt } from 'node:crypto';
import { DEFAULT_REFLECTOR_PORT } from '../shared/ports.ts';
import type { RttResult } from '../shared/result.ts';
import {
  CANCELLED,
  checkRoundOptions,
  errnoCode,
  errorMessage,
  failedRound,
  nowMs,
  type ProbeOutcome,
  refusedByReflector,
  resolveHost,
  roundResult,
  sendSpaced,
  targetLabel,
} from './round.ts';
import type { RttProbe } from './types.ts';
import { accountEchoRound } from './udp-accounting.ts';
import { arrivalFrom, decodeEcho, ECHO_REPLY, type EchoArrival } from './udp-echo-payload.ts';
import { type EchoSocket, openEchoSocket } from './udp-socket.ts';

/** After the last reply, how long a round still listens for duplicates. */
const DUPLICATE_GRACE_MS = 5;
/** Bytes of UDP payload per probe: the 40-byte header plus padding, a small VoIP-like packet. */
export const UDP_PROBE_BYTES = 64;

export const udpProbe: RttProbe = async (target, opts): Promise<RttResult> => {
  const time_ms = Date.now();
  const port = target.port ?? DEFAULT_REFLECTOR_PORT;
  const bad = checkRoundOptions(opts);
  if (bad) return failedRound('udp', target, target.host, time_ms, 'internal', `udp probe: ${bad}`);
  if (!Number.isInteger(port) || port < 1 || port > 65_535)
    return failedRound(
      'udp',
      target,
      target.host,
      time_ms,
      'internal',
      `udp probe: port must be 1–65535 (got ${port})`,
    );
  let resolved: { address: string; family: 4 | 6 };
  try {
    resolved = await resolveHost(target.host);
  } catch (err) {
    return failedRound(
      'udp',
      target,
      targetLabel(target.host, port),
      time_ms,
      'dns',
      `cannot resolve "${target.host}": ${errorMessage(err)}`,
    );
  }
  const where = targetLabel(resolved.address, port);
  const round_id = randomInt(1, 0xffff_ffff);
  const round = new EchoRound(round_id, opts.count, opts.timeout_ms);
  let socket: EchoSocket;
  try {
    socket = await openEchoSocket(resolved.family, resolved.address, port, round);
  } catch (err) {
    const code = errnoCode(err);
    if (code === 'ENETUNREACH' || code === 'EHOSTUNREACH')
      return failedRound(
        'udp',
        target,
        where,
        time_ms,
        'unreachable',
        `${where} is unreachable (${code}): check the route to it`,
      );
    return failedRound(
      'udp',
      target,
      where,
      time_ms,
      'internal',
      `cannot open a UDP socket to ${where}: ${errorMessage(err)}`,
    );
  }
  const outcome = await round.run(socket, where, opts.spacing_ms, opts.signal);
  socket.close();
  const account = accountEchoRound(opts.count, round.arrivals, opts.timeout_ms);
  const lost: ProbeOutcome = {
    ok: false,
    code: 'timeout',
    message: `no echo reply from ${where} within ${opts.timeout_ms} ms (is \`wanwatch reflector\` running there, and UDP port ${port} open?)`,
  };
  const refused = refusedByReflector(
    `${where} answered "port unreachable": no reflector listens there (its agent is restarting or stopped, or \`wanwatch reflector\` is not running on that host); a refusal is not loss`,
  );
  const sentAt = (seq: number) => round.sentAt.get(seq) ?? 0;
  const refusedWhileAwaited = (seq: number) =>
    round.refusedAt.some((t) => t >= sentAt(seq) && t <= sentAt(seq) + opts.timeout_ms);
  // A probe sent, but whose reply was still due when the signal ended the round, was not judged.
  const cutShort = (seq: number) =>
    outcome.stoppedAt !== undefined && sentAt(seq) + opts.timeout_ms > outcome.stoppedAt;
  const outcomes: ProbeOutcome[] = account.samples_ms.map((rtt_ms, seq) => {
    if (rtt_ms !== null) return { ok: true, rtt_ms };
    return round.failures.get(seq) ?? (refusedWhileAwaited(seq) ? refused : cutShort(seq) ? CANCELLED : lost);
  });
  return roundResult({
    method: 'udp',
    target,
    label: where,
    time_ms,
    duration_ms: outcome.duration_ms,
    outcomes,
    jitter: { ms: account.jitter_ms, method: 'rfc3550' },
    extra: { reordered: account.reordered, duplicates: account.duplicates },
  });
};

/** One round's bookkeeping: the socket's handlers, and the sending and waiting. */
class EchoRound {
  readonly arrivals: EchoArrival[] = [];
  readonly failures = new Map<number, ProbeOutcome>();
  private readonly answered = new Set<number>();
  readonly sentAt = new Map<number, number>();
  /** When the socket reported a refusal (ICMP port unreachable), monotonic ms. */
  readonly refusedAt: number[] = [];
  private lingering = false;
  private finish: () => void = () => {};
  private readonly done = new Promise<void>((resolve) => {
    this.finish = resolve;
  });

  constructor(
    private readonly round_id: number,
    private readonly count: number,
    private readonly timeout_ms: number,
  ) {}

  onMessage(msg: Buffer, t4_ns: bigint): void {
    const p = decodeEcho(msg);
    if (!p || p.type !== ECHO_REPLY || p.round_id !== this.round_id) return;
    this.arrivals.push(arrivalFrom(p, t4_ns));
    this.answered.add(p.seq);
    // Every probe answered: linger a moment for duplicates of the last replies, then end the round.
    if (this.answered.size >= this.count && !this.lingering) {
      this.lingering = true;
      setTimeout(this.finish, Math.min(this.timeout_ms, DUPLICATE_GRACE_MS));
    }
  }

  onRefused(): void {
    // ICMP port unreachable on a connected socket: later replies cannot come from a reflector there.
    this.refusedAt.push(nowMs());
  }

  async run(
    socket: EchoSocket,
    where: string,
    spacing_ms: number,
    signal: AbortSignal | undefined,
  ): Promise<{ duration_ms: number; stoppedAt: number | undefined }> {
    let stoppedAt: number | undefined;
    const t0 = nowMs();
    const sent = await sendSpaced(this.count, spacing_ms, signal, (seq) => {
      this.sentAt.set(seq, nowMs());
      socket.send(this.round_id, seq, UDP_PROBE_BYTES, (_code, message) =>
        this.failures.set(seq, {
          ok: false,
          code: 'internal',
          message: `sending to ${where} failed: ${message}`,
        }),
      );
      return Promise.resolve({ ok: true, rtt_ms: 0 });
    });
    sent.forEach((o, seq) => {
      if (!o.ok) this.failures.set(seq, o);
    });
    // The last probe gets its full timeout; earlier ones had theirs while later ones were being sent.
    const timer = setTimeout(this.finish, this.timeout_ms);
    const onAbort = () => {
      stoppedAt ??= nowMs();
      this.finish();
    };
    if (signal?.aborted) onAbort();
    signal?.addEventListener('abort', onAbort, { once: true });
    await this.done;
    clearTimeout(timer);
    signal?.removeEventListener('abort', onAbort);
    return { duration_ms: nowMs() - t0, stoppedAt };
  }
}
