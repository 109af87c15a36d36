// The socket a UDP echo round sends on, connected to the reflector (so that an ICMP "port unreachable"
// surfaces as a refusal instead of silent loss). Two kinds, same contract:
//   kernel  the addon's socket (probes/timestamps.ts): T1 is written into the request just before the
//           send system call, T4 is the kernel's receive time of the reply; neither includes the time
//           this process takes to wake up. Both on CLOCK_REALTIME.
//   node    node:dgram, T1 and T4 from process.hrtime taken in JavaScript (when the addon is missing).
// A kernel T4 − T1 is checked against the same wait timed with the monotonic clock around it: the
// kernel's is always the shorter (it leaves out the wake-up), so one longer than that, or negative, means
// the realtime clock was stepped meanwhile, and the monotonic wait is used for that reply instead.
import { createSocket } from 'node:dgram';
import { errnoCode } from './round.ts';
import { kernelTimestamps, nativeErrno } from './timestamps.ts';
import { encodeEchoRequest } from './udp-echo-payload.ts';

/** Offset of T1 in a request (probes/udp-echo-payload.ts). */
const T1_OFFSET = 16;

export interface EchoSocket {
  readonly clock: 'kernel' | 'node';
  /** Sends request `seq`; send errors after the call come to `onSendError` (errno name, message). */
  send(
    round_id: number,
    seq: number,
    size: number,
    onSendError: (code: string | undefined, message: string) => void,
  ): void;
  close(): void;
}

export interface EchoHandlers {
  /** A reply (or anything else) arrived; t4_ns on the same clock as the T1 the socket wrote. */
  onMessage(msg: Buffer, t4_ns: bigint): void;
  /** The socket reported an ICMP port unreachable. */
  onRefused(): void;
}

/** Opens and connects the socket; throws an Error whose `code` is the errno name on failure. */
export async function openEchoSocket(
  family: 4 | 6,
  address: string,
  port: number,
  h: EchoHandlers,
): Promise<EchoSocket> {
  const { native } = kernelTimestamps();
  if (native) {
    // Monotonic send times, to check each kernel wait against (see the top of this file).
    const sentMono = new Map<number, bigint>();
    const onPacket = (msg: Buffer, kernel_ns: bigint) => {
      let t4 = kernel_ns;
      if (msg.length >= 24) {
        const seq = msg.readUInt32BE(12);
        const t1 = msg.readBigUInt64BE(T1_OFFSET);
        const mono = sentMono.get(seq);
        if (mono !== undefined) {
          const monoWait = process.hrtime.bigint() - mono;
          if (t4 - t1 < 0n || t4 - t1 > monoWait) t4 = t1 + monoWait;
        }
      }
      h.onMessage(msg, t4);
    };
    const onError = (errno: number) => {
      if (nativeErrnoName(errno) === 'ECONNREFUSED') h.onRefused();
    };
    const s = native.open(family, 'udp', onPacket, onError);
    try {
      native.connect(s, address, port);
    } catch (err) {
      native.close(s);
      throw Object.assign(new Error(err instanceof Error ? err.message : String(err)), {
        code: nativeErrno(err),
      });
    }
    return {
      clock: 'kernel',
      send(round_id, seq, size, onSendError) {
        const packet = encodeEchoRequest(round_id, seq, 0n, size);
        sentMono.set(seq, process.hrtime.bigint());
        try {
          native.send(s, packet, null, 0, T1_OFFSET);
        } catch (err) {
          const code = nativeErrno(err);
          // A refusal still pending from an earlier probe, handed back instead of sending this one.
          if (code === 'ECONNREFUSED') h.onRefused();
          else onSendError(code, err instanceof Error ? err.message : String(err));
        }
      },
      close: () => native.close(s),
    };
  }
  const socket = createSocket(family === 6 ? 'udp6' : 'udp4');
  try {
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      // Node passes a failed connect's error to this callback (not to 'error').
      socket.connect(port, address, (...args: unknown[]) => {
        socket.off('error', reject);
        if (args[0] instanceof Error) reject(args[0]);
        else resolve();
      });
    });
  } catch (err) {
    socket.close();
    throw err;
  }
  socket.on('message', (msg) => h.onMessage(msg, process.hrtime.bigint()));
  socket.on('error', (err) => {
    if (errnoCode(err) === 'ECONNREFUSED') h.onRefused();
  });
  return {
    clock: 'node',
    send(round_id, seq, size, onSendError) {
      const packet = encodeEchoRequest(round_id, seq, process.hrtime.bigint(), size);
      socket.send(packet, (err) => {
        if (!err) return;
        if (errnoCode(err) === 'ECONNREFUSED') h.onRefused();
        else onSendError(errnoCode(err), err.message);
      });
    },
    close: () => socket.close(),
  };
}

const nativeErrnoName = (errno: number) => nativeErrno({ code: errno });
