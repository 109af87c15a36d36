// The iperf3 server a site keeps running for its peers' throughput tests: `iperf3 -s -B addr -p port`,
// restarted with a growing backoff (1 s doubling to 30 s, back to 1 s after a minute of health) when it
// dies, and stopped cleanly on close().
import { createServer } from 'node:net';
import { execa, type ResultPromise } from 'execa';
import { IPERF3_INSTALL_HINT } from '../probes/iperf3.ts';
import type { Logger } from '../shared/log.ts';

export interface Iperf3Server {
  address: string;
  port: number;
  /** Times the server was started (1 + restarts). */
  readonly starts: number;
  /** The running process's id (changes on restart); undefined between a crash and its restart. */
  readonly pid: number | undefined;
  close(): Promise<void>;
}

/** A TCP port that is free on `address` now (for iperf3, which cannot be asked for port 0). */
export function freeTcpPort(address: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen({ host: address, port: 0 }, () => {
      const a = s.address();
      const port = typeof a === 'object' && a ? a.port : 0;
      s.close(() => resolve(port));
    });
  });
}

type Child = ResultPromise<{ reject: false; stdin: 'ignore'; buffer: false; forceKillAfterDelay: 2000 }>;

/**
 * Starts iperf3 as a server and resolves once it listens. Rejects with a message saying what to do
 * when iperf3 is missing or cannot listen on the port the first time.
 */
export async function startIperf3Server(opts: {
  address: string;
  port: number;
  log: Logger;
  iperf3_path?: string;
}): Promise<Iperf3Server> {
  const program = opts.iperf3_path ?? 'iperf3';
  const port = opts.port === 0 ? await freeTcpPort(opts.address) : opts.port;
  const bind = opts.address === '0.0.0.0' || opts.address === '::' ? [] : ['-B', opts.address];
  const args = ['-s', ...bind, '-p', String(port), '--forceflush'];
  const log = opts.log.child({ component: 'iperf3-server', port });
  let child: Child | undefined;
  let closing = false;
  let starts = 0;
  let backoff_ms = 1000;
  let restartTimer: NodeJS.Timeout | undefined;

  const spawn = (): Promise<void> =>
    new Promise((resolve, reject) => {
      starts++;
      const startedAt = Date.now();
      const c: Child = execa(program, args, {
        reject: false,
        stdin: 'ignore',
        buffer: false,
        forceKillAfterDelay: 2000,
      });
      child = c;
      let listening = false;
      let output = '';
      const onData = (chunk: Buffer) => {
        output = (output + chunk.toString()).slice(-2000);
        if (!listening && /Server listening on/.test(output)) {
          listening = true;
          resolve();
        }
      };
      c.stdout?.on('data', onData);
      c.stderr?.on('data', onData);
      void c.then((r) => {
        if (child === c) child = undefined;
        if (closing) return;
        const why =
          r.code === 'ENOENT'
            ? `${IPERF3_INSTALL_HINT} (tried "${program}")`
            : `${output.trim().split('\n').pop() ?? ''} (exit ${r.exitCode ?? r.signal})`;
        if (!listening) {
          reject(new Error(`iperf3 server on ${opts.address}:${port} did not start: ${why}`));
          return;
        }
        if (Date.now() - startedAt > 60_000) backoff_ms = 1000;
        log.warn('iperf3 server stopped; restarting', { why, restart_in_ms: backoff_ms });
        restartTimer = setTimeout(() => {
          spawn().catch((err: Error) => log.error('iperf3 server restart failed', { error: err.message }));
        }, backoff_ms);
        backoff_ms = Math.min(30_000, backoff_ms * 2);
      });
    });

  await spawn();
  log.info('iperf3 server listening', { address: opts.address });
  return {
    address: opts.address,
    port,
    get starts() {
      return starts;
    },
    get pid() {
      return child?.pid;
    },
    close: async () => {
      closing = true;
      clearTimeout(restartTimer);
      const c = child;
      if (!c) return;
      c.kill('SIGTERM');
      await c;
    },
  };
}
