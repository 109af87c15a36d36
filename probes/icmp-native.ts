import { decodeIcmp, encodeEchoRequest, ICMP_PRIVILEGE_HINT } from './icmp-packet.ts';
import { icmpRoundProbe } from './icmp-round.ts';
import { errorMessage, type ProbeOutcome } from './round.ts';
import { type NativeSocket, nativeErrno, type WwSock } from './timestamps.ts';
import type { RttProbe } from './types.ts';

interface Pending {
  address: string;
  /** Send time: the addon's (realtime ns), and the monotonic one taken just before it. */
  t1: bigint;
  mono: bigint;
  timer: NodeJS.Timeout;
  resolve: (o: ProbeOutcome) => void;
}

class IcmpSocket {
  private readonly socket: NativeSocket;
  private readonly pending = new Map<number, Pending>();
  private counter = Math.floor(Math.random() * 0xffff_ffff);

  constructor(
    private readonly native: WwSock,
    private readonly family: 4 | 6,
  ) {
    this.socket = native.open(
      family,
      'icmp',
      (b, t4, from) => this.onPacket(b, t4, from),
      () => {},
    );
    // In-flight probes keep the process running through their timers; an idle socket does not.
    native.ref(this.socket, false);
  }

  echo(address: string, timeout_ms: number): Promise<ProbeOutcome> {
    return new Promise((resolve) => {
      // A key still awaited (only past 4 billion probes within one timeout) is skipped.
      do this.counter = (this.counter + 1) >>> 0;
      while (this.pending.has(this.counter));
      const key = this.counter;
      const packet = encodeEchoRequest(this.family, key >>> 16, key & 0xffff);
      const mono = process.hrtime.bigint();
      let t1: bigint;
      try {
        t1 = this.native.send(this.socket, packet, address, 0, -1);
      } catch (err) {
        return resolve(sendFailure(address, err));
      }
      const timer = setTimeout(() => {
        this.pending.delete(key);
        resolve({
          ok: false,
          code: 'timeout',
          message: `no echo reply from ${address} within ${timeout_ms} ms`,
        });
      }, timeout_ms);
      this.pending.set(key, { address, t1, mono, timer, resolve });
    });
  }

  private onPacket(b: Buffer, t4: bigint, from: string): void {
    const r = decodeIcmp(this.family, b);
    if (!r) return;
    const key = ((r.id << 16) | r.seq) >>> 0;
    const p = this.pending.get(key);
    // Matched by identifier and sequence alone: the source's spelling may differ from the target's (an
    // IPv6 address written out in full), and only this process's requests carry these numbers.
    if (!p) return;
    this.pending.delete(key);
    clearTimeout(p.timer);
    if (r.kind === 'reply') {
      // The kernel's wait leaves out the wake-up, so it is never longer than the monotonic one; when it
      // is (or is negative), the realtime clock was stepped meanwhile: use the monotonic wait.
      const monoWait = process.hrtime.bigint() - p.mono;
      const wait = t4 - p.t1 < 0n || t4 - p.t1 > monoWait ? monoWait : t4 - p.t1;
      p.resolve({ ok: true, rtt_ms: Number(wait) / 1e6 });
      return;
    }
    const what = r.kind === 'unreachable' ? 'destination unreachable' : 'time exceeded';
    p.resolve({
      ok: false,
      code: 'unreachable',
      message: `${what} (code ${r.icmp_code}) for ${p.address} from ${from}: check the route to it`,
    });
  }

  close(): void {
    for (const p of this.pending.values()) clearTimeout(p.timer);
    this.pending.clear();
    this.native.close(this.socket);
  }
}

function sendFailure(address: string, err: unknown): ProbeOutcome {
  const code = nativeErrno(err);
  if (code === 'ENETUNREACH' || code === 'EHOSTUNREACH')
    return {
      ok: false,
      code: 'unreachable',
      message: `${address} is unreachable (${code}): check the route to it`,
    };
  if (code === 'EPERM' || code === 'EACCES')
    return {
      ok: false,
      code: 'permission_denied',
      message: `echo to ${address} refused (${code}): ${ICMP_PRIVILEGE_HINT}`,
    };
  return { ok: false, code: 'internal', message: `echo to ${address} failed: ${errorMessage(err)}` };
}

const sockets = new Map<4 | 6, IcmpSocket>();

function socketFor(native: WwSock, family: 4 | 6): IcmpSocket {
  let s = sockets.get(family);
  if (!s) {
    s = new IcmpSocket(native, family);
    sockets.set(family, s);
  }
  return s;
}

/** Closes the ICMP sockets (at shutdown; probes in flight are dropped). */
export function closeNativeIcmp(): void {
  for (const s of sockets.values()) s.close();
  sockets.clear();
}

/** Whether this process may open raw ICMP sockets. */
export function checkNativeIcmpPrivilege(native: WwSock): { ok: true } | { ok: false; message: string } {
  try {
    socketFor(native, 4);
    return { ok: true };
  } catch (err) {
    return { ok: false, message: `${errorMessage(err)}: ${ICMP_PRIVILEGE_HINT}` };
  }
}

export function nativeIcmpProbe(native: WwSock): RttProbe {
  return icmpRoundProbe<IcmpSocket>({
    open: (family) => socketFor(native, family),
    isPermissionError: (err) => {
      const code = nativeErrno(err);
      return code === 'EPERM' || code === 'EACCES';
    },
    echo: (s, address, timeout_ms) => s.echo(address, timeout_ms),
  });
}
