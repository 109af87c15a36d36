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
import { createSocket, type Socket } from 'node:dgram';
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
import {
  arrivalFrom,
  decodeEcho,
  ECHO_REPLY,
  type EchoArrival,
  encodeEchoRequest,
} from './udp-echo-payload.ts';

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
  const socket = createSocket(resolved.family === 6 ? 'udp6' : 'udp4');
  try {
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      // Node passes a failed connect's error to this callback (not to 'error').
      socket.connect(port, resolved.address, (...args: unknown[]) => {
        socket.off('error', reject);
        if (args[0] instanceof Error) reject(args[0]);
        else resolve();
      });
    });
  } catch (err) {
    socket.close();
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
  const outcome = await echoRound(socket, where, opts.count, opts.spacing_ms, opts.timeout_ms, opts.signal);
  socket.close();
  const account = accountEchoRound(opts.count, outcome.arrivals, opts.timeout_ms);
  const lost: ProbeOutcome = {
    ok: false,
    code: 'timeout',
    message: `no echo reply from ${where} within ${opts.timeout_ms} ms (is \`wanwatch reflector\` running there, and UDP port ${port} open?)`,
  };
  const refused = refusedByReflector(
    `${where} answered "port unreachable": no reflector listens there (its agent is restarting or stopped, or \`wanwatch reflector\` is not running on that host); a refusal is not loss`,
  );
  const sentAt = (seq: number) => outcome.sentAt.get(seq) ?? 0;
  const refusedWhileAwaited = (seq: number) =>
    outcome.refusedAt.some((t) => t >= sentAt(seq) && t <= sentAt(seq) + opts.timeout_ms);
  // A probe sent, but whose reply was still due when the signal ended the round, was not judged.
  const cutShort = (seq: number) =>
    outcome.stoppedAt !== undefined && sentAt(seq) + opts.timeout_ms > outcome.stoppedAt;
  const outcomes: ProbeOutcome[] = account.samples_ms.map((rtt_ms, seq) => {
    if (rtt_ms !== null) return { ok: true, rtt_ms };
    return (
      outcome.failures.get(seq) ?? (refusedWhileAwaited(seq) ? refused : cutShort(seq) ? CANCELLED : lost)
    );
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

async function echoRound(
  socket: Socket,
  where: string,
  count: number,
  spacing_ms: number,
  timeout_ms: number,
  signal: AbortSignal | undefined,
): Promise<{
  arrivals: EchoArrival[];
  failures: Map<number, ProbeOutcome>;
  /** When the socket reported a refusal (ICMP port unreachable), monotonic ms. */
  refusedAt: number[];
  duration_ms: number;
  /** When each probe was sent (monotonic ms), and when the signal ended the round, if it did. */
  sentAt: Map<number, number>;
  stoppedAt: number | undefined;
}> {
  const round_id = randomInt(1, 0xffff_ffff);
  const arrivals: EchoArrival[] = [];
  const failures = new Map<number, ProbeOutcome>();
  const answered = new Set<number>();
  const sentAt = new Map<number, number>();
  let stoppedAt: number | undefined;
  const refusedAt: number[] = [];
  let lingering = false;
  let finish: () => void = () => {};
  const done = new Promise<void>((resolve) => {
    finish = resolve;
  });
  socket.on('message', (msg) => {
    const t4 = process.hrtime.bigint();
    const p = decodeEcho(msg);
    if (!p || p.type !== ECHO_REPLY || p.round_id !== round_id) return;
    arrivals.push(arrivalFrom(p, t4));
    answered.add(p.seq);
    // Every probe answered: linger a moment for duplicates of the last replies, then end the round.
    if (answered.size >= count && !lingering) {
      lingering = true;
      setTimeout(finish, Math.min(timeout_ms, DUPLICATE_GRACE_MS));
    }
  });
  socket.on('error', (err) => {
    // ICMP port unreachable on a connected socket: later replies cannot come from a reflector there.
    if (errnoCode(err) === 'ECONNREFUSED') refusedAt.push(nowMs());
  });
  const t0 = nowMs();
  const sent = await sendSpaced(count, spacing_ms, signal, (seq) => {
    const packet = encodeEchoRequest(round_id, seq, process.hrtime.bigint(), UDP_PROBE_BYTES);
    sentAt.set(seq, nowMs());
    socket.send(packet, (err) => {
      if (!err) return;
      // The kernel handed back a refusal still pending from an earlier probe instead of sending this one.
      if (errnoCode(err) === 'ECONNREFUSED') refusedAt.push(nowMs());
      else
        failures.set(seq, {
          ok: false,
          code: 'internal',
          message: `sending to ${where} failed: ${errorMessage(err)}`,
        });
    });
    return Promise.resolve({ ok: true, rtt_ms: 0 });
  });
  sent.forEach((o, seq) => {
    if (!o.ok) failures.set(seq, o);
  });
  // The last probe gets its full timeout; earlier ones had theirs while later ones were being sent.
  const timer = setTimeout(finish, timeout_ms);
  const onAbort = () => {
    stoppedAt ??= nowMs();
    finish();
  };
  if (signal?.aborted) onAbort();
  signal?.addEventListener('abort', onAbort, { once: true });
  await done;
  clearTimeout(timer);
  signal?.removeEventListener('abort', onAbort);
  return { arrivals, failures, refusedAt, duration_ms: nowMs() - t0, sentAt, stoppedAt };
}
