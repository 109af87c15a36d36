// ICMP echo through net-ping, when the kernel timestamps addon is missing (probes/icmp.ts chooses;
// net-ping is loaded only then). Raw sockets: root or CAP_NET_RAW. net-ping reports send and receive
// times as millisecond `Date`s; wanwatch times each echo itself with the monotonic hrtime clock instead:
// the send time is taken in the hook raw-socket calls just before the send system call, the receive time
// when net-ping hands the reply over.
//
// Sessions are shared per (address family, timeout) and kept open: every raw ICMP socket sees every
// echo reply on the host, and net-ping matches replies by (identifier, sequence), so each session gets
// its own identifier and a round reuses it instead of opening a socket per round.
import { createRequire } from 'node:module';
import type { PingRequest, Session } from 'net-ping';
import { log } from '../shared/log.ts';
import { ICMP_PRIVILEGE_HINT } from './icmp-packet.ts';
import { icmpRoundProbe } from './icmp-round.ts';
import { errorMessage, nowMs, type ProbeOutcome } from './round.ts';
import type { RttProbe } from './types.ts';

type NetPing = typeof import('net-ping').default;
let loadedNetPing: NetPing | undefined;
/** net-ping (and its raw-socket addon), loaded on first use: most agents never need it. */
const netPingModule = (): NetPing => {
  try {
    loadedNetPing ??= createRequire(import.meta.url)('net-ping') as NetPing;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'MODULE_NOT_FOUND') throw err;
    throw new IcmpUnavailableError();
  }
  return loadedNetPing;
};

/** Whether ICMP echo can be sent; `unavailable` when no implementation is installed (no privilege helps). */
export type IcmpCheck = { ok: true } | { ok: false; message: string; unavailable?: true };

/** Neither ICMP implementation is installed: no privilege would help, so the message says what would. */
export class IcmpUnavailableError extends Error {
  constructor() {
    super(
      "ICMP is unavailable: wanwatch's kernel timestamps addon (probes/native) was not built and the " +
        'optional net-ping module is not installed. Reinstall wanwatch with g++, make and python3 present ' +
        '(apt-get install g++ make python3) so the addon compiles, or measure with --method udp or tcp',
    );
  }
}

interface IcmpSession {
  session: Session;
  /** Send times (ms, monotonic) keyed by the callback net-ping will call for that request. */
  sentAt: Map<PingRequest['callback'], number>;
}

const sessions = new Map<string, IcmpSession>();
const usedIds = new Set<number>();

function isPermissionError(err: unknown): boolean {
  return /not permitted|permission denied|EPERM|EACCES/i.test(errorMessage(err));
}

function openSession(family: 4 | 6, timeout_ms: number): IcmpSession {
  const key = `${family}/${timeout_ms}`;
  const existing = sessions.get(key);
  if (existing) return existing;
  let id = 0;
  while (id === 0 || usedIds.has(id)) id = 1 + Math.floor(Math.random() * 65_000);
  const netPing = netPingModule();
  const session = netPing.createSession({
    networkProtocol: family === 6 ? netPing.NetworkProtocol.IPv6 : netPing.NetworkProtocol.IPv4,
    retries: 0,
    timeout: Math.max(1, Math.round(timeout_ms)),
    sessionId: id,
    packetSize: 16,
  });
  usedIds.add(id);
  const s: IcmpSession = { session, sentAt: new Map() };
  const before = session.onBeforeSocketSend.bind(session);
  session.onBeforeSocketSend = (req: PingRequest) => {
    before(req);
    s.sentAt.set(req.callback, nowMs());
  };
  const drop = (err?: Error) => {
    if (sessions.get(key) === s) sessions.delete(key);
    usedIds.delete(id);
    if (err) log.warn('icmp socket failed; the next round opens a new one', { error: err.message });
  };
  session.on('error', drop);
  session.on('close', () => drop());
  sessions.set(key, s);
  return s;
}

/** Closes every ICMP socket (at shutdown; rounds in flight end with their replies lost). */
export function closeNetPingSessions(): void {
  for (const s of [...sessions.values()]) s.session.close();
  sessions.clear();
  usedIds.clear();
}

/** Whether this process may open raw ICMP sockets; the message says how to allow it when not. */
export function checkNetPingPrivilege(): IcmpCheck {
  try {
    openSession(4, 2000);
    return { ok: true };
  } catch (err) {
    if (err instanceof IcmpUnavailableError) return { ok: false, message: err.message, unavailable: true };
    return { ok: false, message: `${errorMessage(err)}: ${ICMP_PRIVILEGE_HINT}` };
  }
}

function echoOnce(s: IcmpSession, address: string, timeout_ms: number): Promise<ProbeOutcome> {
  return new Promise((resolve) => {
    const called = nowMs();
    const netPing = netPingModule();
    const callback = (error: Error | null) => {
      const received = nowMs();
      const sent = s.sentAt.get(callback) ?? called;
      s.sentAt.delete(callback);
      if (!error) return resolve({ ok: true, rtt_ms: received - sent });
      if (error instanceof netPing.RequestTimedOutError)
        return resolve({
          ok: false,
          code: 'timeout',
          message: `no echo reply from ${address} within ${timeout_ms} ms`,
        });
      if (error instanceof netPing.DestinationUnreachableError || error instanceof netPing.TimeExceededError)
        return resolve({
          ok: false,
          code: 'unreachable',
          message: `${error.constructor.name} for ${address} (from ${error.message}): check the route to it`,
        });
      if (isPermissionError(error))
        return resolve({ ok: false, code: 'permission_denied', message: ICMP_PRIVILEGE_HINT });
      const code = /unreachable|no route to host/i.test(error.message) ? 'unreachable' : 'internal';
      resolve({ ok: false, code, message: `echo to ${address} failed: ${error.message}` });
    };
    s.session.pingHost(address, callback);
  });
}

export const netPingProbe: RttProbe = icmpRoundProbe<IcmpSession>({
  open: openSession,
  isPermissionError,
  echo: echoOnce,
});
