// What a site runs so its peers can measure it: the UDP echo reflector (with TCP on the same port
// number) and an iperf3 server. The agent runtime starts it with startResponder and stops it with close().
import { createLogger, type Logger } from '../shared/log.ts';
import { type Iperf3Server, startIperf3Server } from './iperf3-server.ts';
import { type Reflector, startReflector } from './reflector.ts';

export interface ResponderOptions {
  /** Address to listen on ("0.0.0.0" for every IPv4 address). */
  address: string;
  /** UDP echo and TCP port; 0 picks a free one. */
  reflector_port: number;
  /** iperf3 server port; 0 picks a free one. */
  iperf3_port: number;
  log?: Logger;
  iperf3_path?: string;
}

export interface Responder {
  reflector: Reflector;
  /** null when iperf3 could not be started (iperf3_error says why); RTT probes still work. */
  iperf3: Iperf3Server | null;
  iperf3_error: string | null;
  close(): Promise<void>;
}

/**
 * Starts the reflector, then the iperf3 server. The reflector failing to listen is an error (thrown);
 * iperf3 failing to start is reported in iperf3_error and logged, so RTT measurements keep working.
 */
export async function startResponder(opts: ResponderOptions): Promise<Responder> {
  const log = (opts.log ?? createLogger()).child({ component: 'responder' });
  const reflector = await startReflector({ address: opts.address, port: opts.reflector_port });
  log.info('reflector listening', {
    address: opts.address,
    port: reflector.port,
    protocols: 'udp echo, tcp',
  });
  let iperf3: Iperf3Server | null = null;
  let iperf3_error: string | null = null;
  try {
    iperf3 = await startIperf3Server({
      address: opts.address,
      port: opts.iperf3_port,
      log,
      ...(opts.iperf3_path ? { iperf3_path: opts.iperf3_path } : {}),
    });
  } catch (err) {
    iperf3_error = err instanceof Error ? err.message : String(err);
    log.error('iperf3 server not running: throughput tests against this site will fail', {
      error: iperf3_error,
    });
  }
  return {
    reflector,
    iperf3,
    iperf3_error,
    close: async () => {
      await Promise.all([reflector.close(), iperf3?.close()]);
    },
  };
}
