// The UDP echo reflector a site runs for its peers' udp probes (payload: probes/udp-echo-payload.ts).
// It answers only well-formed wanwatch echo requests, with a reply of the same length, so it cannot be
// used to amplify traffic. It also accepts TCP connections on the same port number, so the tcp method
// has a default target at every site; those connections are closed at once.
//
// The reply carries the reflector's hold time T3 − T2, which the probe takes out of its RTT. With the
// kernel timestamps addon (probes/timestamps.ts) T2 is the time the kernel received the request and T3
// is written into the reply just before the send system call, so the hold time covers everything in
// between, this process's wake-up included: the probe measures the path, not the reflector. Without
// the addon both are taken in JavaScript, and the wake-up before T2 stays in the probe's RTT.
import { createSocket } from 'node:dgram';
import { createServer, isIP, type Server } from 'node:net';
import { kernelTimestamps, nativeErrno } from '../probes/timestamps.ts';
import { makeEchoReply } from '../probes/udp-echo-payload.ts';

/** Offset of T3 in a reply (probes/udp-echo-payload.ts). */
const T3_OFFSET = 32;

interface UdpSide {
  port: number;
  /** Where T2 and T3 come from. */
  clock: 'kernel' | 'node';
  close(): Promise<void>;
}

export interface Reflector {
  address: string;
  /** The UDP and TCP port (the same number). */
  port: number;
  /** Where the hold time it reports comes from: kernel timestamps, or times taken in JavaScript. */
  clock: 'kernel' | 'node';
  /** Requests answered since start. */
  readonly answered: number;
  close(): Promise<void>;
}

/** Binds the UDP side and answers every echo request on it; `onAnswer` counts them. */
async function bindUdp(address: string, port: number, onAnswer: () => void): Promise<UdpSide> {
  const family = isIP(address) === 6 ? 6 : 4;
  const { native } = kernelTimestamps();
  if (native) {
    const s = native.open(
      family,
      'udp',
      (msg, t2, from, fromPort) => {
        if (!makeEchoReply(msg, t2, 0n)) return;
        try {
          native.send(s, msg, from, fromPort, T3_OFFSET);
          onAnswer();
        } catch {
          // A peer that went away makes sends fail with ICMP errors; that is the peer's problem, not ours.
        }
      },
      () => {},
    );
    try {
      const bound = native.bind(s, address, port);
      return { port: bound, clock: 'kernel', close: async () => native.close(s) };
    } catch (err) {
      native.close(s);
      const code = nativeErrno(err);
      throw Object.assign(new Error(err instanceof Error ? err.message : String(err)), { code });
    }
  }
  const sock = await new Promise<ReturnType<typeof createSocket>>((resolve, reject) => {
    const s = createSocket({ type: family === 6 ? 'udp6' : 'udp4' });
    s.once('error', reject);
    s.bind(port, address, () => {
      s.off('error', reject);
      resolve(s);
    });
  });
  sock.on('message', (msg, rinfo) => {
    const t2 = process.hrtime.bigint();
    if (!makeEchoReply(msg, t2, process.hrtime.bigint())) return;
    // T3 is rewritten just before the send so that it covers everything done since T2.
    msg.writeBigUInt64BE(process.hrtime.bigint(), T3_OFFSET);
    sock.send(msg, rinfo.port, rinfo.address);
    onAnswer();
  });
  // A peer that went away makes sends fail with ICMP errors; that is the peer's problem, not ours.
  sock.on('error', () => {});
  return {
    port: sock.address().port,
    clock: 'node',
    close: () => new Promise<void>((resolve) => sock.close(() => resolve())),
  };
}

function listenTcp(address: string, port: number): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createServer((conn) => {
      conn.on('error', () => {});
      conn.destroy();
    });
    server.once('error', reject);
    server.listen({ host: address, port }, () => {
      server.off('error', reject);
      resolve(server);
    });
  });
}

/**
 * Starts the reflector on address:port (UDP and TCP). Port 0 picks a free number for both: the UDP
 * port is chosen first and the TCP listener tries the same number, choosing again when it is taken.
 */
export async function startReflector(opts: { address: string; port: number }): Promise<Reflector> {
  let udp: UdpSide | undefined;
  let tcp: Server | undefined;
  let answered = 0;
  const onAnswer = () => {
    answered++;
  };
  for (let attempt = 0; !tcp; attempt++) {
    udp = await bindUdp(opts.address, opts.port, onAnswer);
    const port = udp.port;
    try {
      tcp = await listenTcp(opts.address, port);
    } catch (err) {
      await udp.close();
      if (opts.port !== 0 || attempt >= 20) {
        throw new Error(
          `the reflector cannot listen on TCP ${opts.address}:${port}: ${err instanceof Error ? err.message : String(err)} ` +
            '(another program uses that port; pick another with --port, or stop it)',
        );
      }
    }
  }
  const side = udp as UdpSide;
  const server = tcp;
  return {
    address: opts.address,
    port: side.port,
    clock: side.clock,
    get answered() {
      return answered;
    },
    close: async () => {
      await side.close();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
