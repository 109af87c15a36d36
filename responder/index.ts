// What a site runs so its peers can measure it: the UDP echo reflector (with TCP on the same port
// number) and an iperf3 server. The agent runtime starts it with startResponder and stops it with close().
import { createLogger, type Logger } from '../shared/log.ts';
import type { ResponderHealth } from '../shared/wire.ts';
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
  /** Records the iperf3 server's pid; a server a killed earlier run left there is stopped first. */
  pidFile?: string;
  /**
   * iperf3 not starting the first time: false (default) gives iperf3 null; true keeps trying in the
   * background (iperf3 is then a server that is not up yet), as an agent does for its peers.
   */
  keepTrying?: boolean;
}

export interface Responder {
  reflector: Reflector;
  /**
   * null when iperf3 could not be started (iperf3_error says why); RTT probes still work. With keepTrying
   * it is never null: a server that is not up yet (iperf3_error says why the first start failed).
   */
  iperf3: Iperf3Server | null;
  iperf3_error: string | null;
  /** Whether the reflector and the iperf3 server are up, and why not (heartbeats carry it). */
  health(): ResponderHealth;
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
      ...(opts.pidFile ? { pidFile: opts.pidFile } : {}),
      ...(opts.keepTrying ? { keepTrying: true } : {}),
    });
    if (!iperf3.up) iperf3_error = iperf3.lastError;
  } catch (err) {
    iperf3_error = err instanceof Error ? err.message : String(err);
    log.error('iperf3 server not running: throughput tests against this site will fail', {
      error: iperf3_error,
    });
  }
  let closed = false;
  const cut = (text: string | null) => (text === null ? null : text.slice(0, 2000));
  return {
    reflector,
    iperf3,
    iperf3_error,
    health: () => ({
      reflector: { up: !closed, last_error: null },
      iperf3: iperf3
        ? { up: iperf3.up, last_error: cut(iperf3.lastError), restarts: Math.max(0, iperf3.starts - 1) }
        : { up: false, last_error: cut(iperf3_error), restarts: 0 },
    }),
    close: async () => {
      closed = true;
      await Promise.all([reflector.close(), iperf3?.close()]);
    },
  };
}
