// The UDP echo reflector a site runs for its peers' udp probes (payload: probes/udp-echo-payload.ts).
// It answers only well-formed wanwatch echo requests, with a reply of the same length, so it cannot be
// used to amplify traffic. It also accepts TCP connections on the same port number, so the tcp method
// has a default target at every site; those connections are closed at once.
import { createSocket, type Socket } from 'node:dgram';
import { createServer, isIP, type Server } from 'node:net';
import { makeEchoReply } from '../probes/udp-echo-payload.ts';

export interface Reflector {
  address: string;
  /** The UDP and TCP port (the same number). */
  port: number;
  /** Requests answered since start. */
  readonly answered: number;
  close(): Promise<void>;
}

function bindUdp(address: string, port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = createSocket({ type: isIP(address) === 6 ? 'udp6' : 'udp4' });
    s.once('error', reject);
    s.bind(port, address, () => {
      s.off('error', reject);
      resolve(s);
    });
  });
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
  let udp: Socket | undefined;
  let tcp: Server | undefined;
  for (let attempt = 0; !tcp; attempt++) {
    udp = await bindUdp(opts.address, opts.port);
    const port = udp.address().port;
    try {
      tcp = await listenTcp(opts.address, port);
    } catch (err) {
      udp.close();
      if (opts.port !== 0 || attempt >= 20) {
        throw new Error(
          `the reflector cannot listen on TCP ${opts.address}:${port}: ${err instanceof Error ? err.message : String(err)} ` +
            '(another program uses that port; pick another with --port, or stop it)',
        );
      }
    }
  }
  const sock = udp as Socket;
  const server = tcp;
  let answered = 0;
  sock.on('message', (msg, rinfo) => {
    const t2 = process.hrtime.bigint();
    if (!makeEchoReply(msg, t2, process.hrtime.bigint())) return;
    // T3 is rewritten just before the send so that it covers everything done since T2.
    msg.writeBigUInt64BE(process.hrtime.bigint(), 32);
    sock.send(msg, rinfo.port, rinfo.address);
    answered++;
  });
  // A peer that went away makes sends fail with ICMP errors; that is the peer's problem, not ours.
  sock.on('error', () => {});
  return {
    address: opts.address,
    port: sock.address().port,
    get answered() {
      return answered;
    },
    close: () =>
      new Promise<void>((resolve) => {
        sock.close(() => server.close(() => resolve()));
      }),
  };
}
