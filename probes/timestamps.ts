// Kernel timestamps for the probes and the reflector, through wanwatch's small native addon
// (probes/native/wwsock.c, built by node-gyp at `npm ci`). A time taken in JavaScript when Node hands a
// packet over includes the wake-up of the process (epoll, the scheduler, the event loop's other work),
// which is what made UDP echo and TCP read high (docs/measuring.md, "Where the time goes"). With the
// addon, a received packet carries the time the kernel received it, and a send writes its time into
// the packet just before the send system call.
//
// Without the addon (not built: no compiler at install), probes time in JavaScript as before and say so
// once in the log; WANWATCH_KERNEL_TIMESTAMPS=0 chooses that on purpose (benchmarks compare both).
import { createRequire } from 'node:module';
import { log } from '../shared/log.ts';

/** A datagram socket of the addon: UDP, or raw ICMP (ICMPv6) filtered to replies and errors. */
export type NativeSocket = { readonly __native: unique symbol };

export interface WwSock {
  open(
    family: 4 | 6,
    kind: 'udp' | 'icmp',
    onPacket: (packet: Buffer, kernel_ns: bigint, address: string, port: number) => void,
    onError: (errno: number) => void,
  ): NativeSocket;
  bind(s: NativeSocket, address: string, port: number): number;
  connect(s: NativeSocket, address: string, port: number): void;
  /** Sends; writes the send time at `stampOffset` (big-endian u64, ns) when it is 0 or more. Returns it. */
  send(s: NativeSocket, packet: Buffer, address: string | null, port: number, stampOffset: number): bigint;
  ref(s: NativeSocket, ref: boolean): void;
  close(s: NativeSocket): void;
  /** CLOCK_REALTIME, ns: the clock of every time the addon gives. */
  now(): bigint;
  /** [kernel's RTT of the handshake in µs, retransmissions] of a connected TCP socket. */
  tcpRtt(fd: number): [number, number];
}

let loaded: { native: WwSock | null; why: string } | undefined;

/** The addon, or null with the reason it is not used. */
export function kernelTimestamps(): { native: WwSock | null; why: string } {
  if (loaded) return loaded;
  if (process.env.WANWATCH_KERNEL_TIMESTAMPS === '0') {
    loaded = { native: null, why: 'WANWATCH_KERNEL_TIMESTAMPS=0' };
    return loaded;
  }
  const path = new URL('./native/build/Release/wwsock.node', import.meta.url).pathname;
  try {
    loaded = { native: createRequire(import.meta.url)(path) as WwSock, why: '' };
  } catch (err) {
    loaded = {
      native: null,
      why: `${path} not loaded (${err instanceof Error ? err.message.split('\n')[0] : String(err)}): run \`npm rebuild\` or \`npx node-gyp rebuild -C probes/native\` (needs g++, make, python3)`,
    };
    log.warn(
      'kernel timestamps unavailable: probes time in JavaScript, up to milliseconds high on a busy host',
      {
        why: loaded.why,
      },
    );
  }
  return loaded;
}

/** Errno number (from the addon's errors and callbacks) to its name, for messages and codes. */
export const ERRNO: Record<number, string> = {
  1: 'EPERM',
  13: 'EACCES',
  101: 'ENETUNREACH',
  111: 'ECONNREFUSED',
  113: 'EHOSTUNREACH',
};

/** The errno name an addon call threw with (its `code` is the number). */
export function nativeErrno(err: unknown): string | undefined {
  const code = typeof err === 'object' && err !== null && 'code' in err ? Number(err.code) : Number.NaN;
  return ERRNO[code];
}
