// The iperf3 server a site keeps running for its peers' throughput tests: `iperf3 -s -B addr -p port`,
// supervised: whenever it dies, or fails to start again, it is started again after a growing backoff
// (1 s, doubling to at most 30 s; back to 1 s once a run lasted a minute), so a killed server is back
// within 30 s at worst (1 s the first time). It is stopped cleanly on close().
//
// Pid file (`pidFile`, the agent's is `<data-dir>/iperf3.pid`): the running server's pid and command line
// are kept there. An agent killed with SIGKILL cannot stop its iperf3, which lives on holding the port;
// the next start reads the pid file and stops that server first, but only when /proc/PID/cmdline is
// still exactly the command recorded, so a pid since reused by another program is never touched.
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { basename } from 'node:path';
import { execa, type ResultPromise } from 'execa';
import { IPERF3_INSTALL_HINT } from '../probes/iperf3.ts';
import type { Logger } from '../shared/log.ts';

export interface Iperf3Server {
  address: string;
  port: number;
  /** Times the server was started (1 + restarts, failed starts included). */
  readonly starts: number;
  /** The running process's id (changes on restart); undefined between a crash and its restart. */
  readonly pid: number | undefined;
  /** Listening now. */
  readonly up: boolean;
  /** Why it last died or failed to start (kept after it is up again); null if it never did. */
  readonly lastError: string | null;
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

export const RESTART_MIN_MS = 1000;
export const RESTART_MAX_MS = 30_000;

export interface Iperf3ServerOptions {
  address: string;
  port: number;
  log: Logger;
  iperf3_path?: string;
  /** Where to record the running server (and find one a killed earlier run left behind). */
  pidFile?: string;
  /**
   * When the first start fails: false (default) rejects; true resolves with a server that is not up and
   * keeps trying with the backoff (an agent's peers need it back as soon as the port is free).
   */
  keepTrying?: boolean;
}

/**
 * Starts iperf3 as a server and resolves once it listens (or, with keepTrying, once the first attempt
 * failed). Rejects with a message saying what to do when iperf3 is missing or cannot listen on the port
 * the first time (unless keepTrying).
 */
export async function startIperf3Server(opts: Iperf3ServerOptions): Promise<Iperf3Server> {
  const program = opts.iperf3_path ?? 'iperf3';
  const port = opts.port === 0 ? await freeTcpPort(opts.address) : opts.port;
  const bind = opts.address === '0.0.0.0' || opts.address === '::' ? [] : ['-B', opts.address];
  const args = ['-s', ...bind, '-p', String(port), '--forceflush'];
  const log = opts.log.child({ component: 'iperf3-server', port });
  if (opts.pidFile !== undefined) await removeLeftover(opts.pidFile, log);
  let child: Child | undefined;
  let closing = false;
  let supervising = false;
  let starts = 0;
  let up = false;
  let lastError: string | null = null;
  /** Failed attempts since it last listened: the first is logged as an error, the rest quietly. */
  let failing = 0;
  let backoff_ms = RESTART_MIN_MS;
  let restartTimer: NodeJS.Timeout | undefined;
  let pidFileWarned = false;

  const recordPid = (pid: number | undefined) => {
    if (opts.pidFile === undefined || pid === undefined) return;
    try {
      writeFileSync(opts.pidFile, `${JSON.stringify({ pid, argv: [program, ...args] })}\n`);
    } catch (err) {
      if (!pidFileWarned)
        log.warn('cannot write the iperf3 pid file: a server left behind by a killed agent is not found', {
          file: opts.pidFile,
          error: (err as Error).message,
        });
      pidFileWarned = true;
    }
  };

  const scheduleRestart = () => {
    if (closing) return;
    restartTimer = setTimeout(() => {
      restartTimer = undefined;
      void spawn();
    }, backoff_ms);
    backoff_ms = Math.min(RESTART_MAX_MS, backoff_ms * 2);
  };

  /** One run of iperf3: resolves true once it listens, false when it ended before. */
  const spawn = (): Promise<boolean> =>
    new Promise((resolve) => {
      starts++;
      const startedAt = Date.now();
      const c: Child = execa(program, args, {
        reject: false,
        stdin: 'ignore',
        buffer: false,
        forceKillAfterDelay: 2000,
      });
      child = c;
      recordPid(c.pid);
      let listening = false;
      let output = '';
      const onData = (chunk: Buffer) => {
        output = (output + chunk.toString()).slice(-2000);
        if (!listening && /Server listening on/.test(output)) {
          listening = true;
          up = true;
          if (failing > 0 && supervising) log.info('iperf3 server listening again', { after_tries: failing });
          failing = 0;
          resolve(true);
        }
      };
      c.stdout?.on('data', onData);
      c.stderr?.on('data', onData);
      void c.then((r) => {
        if (child === c) child = undefined;
        up = false;
        if (closing) return resolve(false);
        const why =
          r.code === 'ENOENT'
            ? `${IPERF3_INSTALL_HINT} (tried "${program}")`
            : `${lastLine(output)}(exit ${r.exitCode ?? r.signal})`;
        if (!listening) {
          failing++;
          lastError = `iperf3 server on ${opts.address}:${port} did not start: ${why}`;
          if (supervising) {
            if (failing === 1)
              log.error(
                'iperf3 server could not start again; retrying: throughput tests against this site fail meanwhile',
                {
                  error: lastError,
                  retry_in_ms: backoff_ms,
                },
              );
            else log.debug('iperf3 server still cannot start', { error: lastError, retry_in_ms: backoff_ms });
            scheduleRestart();
          }
          return resolve(false);
        }
        lastError = `iperf3 server on ${opts.address}:${port} stopped: ${why}`;
        if (Date.now() - startedAt > 60_000) backoff_ms = RESTART_MIN_MS;
        log.warn('iperf3 server stopped; restarting', { why, restart_in_ms: backoff_ms });
        scheduleRestart();
      });
    });

  const close = async () => {
    closing = true;
    clearTimeout(restartTimer);
    const c = child;
    if (c) {
      c.kill('SIGTERM');
      await c;
    }
    if (opts.pidFile !== undefined) rmSync(opts.pidFile, { force: true });
  };

  const listening = await spawn();
  if (!listening && !opts.keepTrying) {
    await close();
    throw new Error(lastError ?? `iperf3 server on ${opts.address}:${port} did not start`);
  }
  supervising = true;
  if (listening) log.info('iperf3 server listening', { address: opts.address });
  else {
    log.error('iperf3 server not running; retrying: throughput tests against this site fail meanwhile', {
      error: lastError,
      retry_in_ms: backoff_ms,
    });
    scheduleRestart();
  }
  return {
    address: opts.address,
    port,
    get starts() {
      return starts;
    },
    get pid() {
      return child?.pid;
    },
    get up() {
      return up;
    },
    get lastError() {
      return lastError;
    },
    close,
  };
}

/** What iperf3 last said that explains its exit: its last `error` line ("… Address already in use"), else its last line. */
const lastLine = (output: string) => {
  const lines = output
    .trim()
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '');
  const line = lines.filter((l) => /error/i.test(l)).pop() ?? lines.pop() ?? '';
  return line === '' ? '' : `${line} `;
};

/**
 * Stops the iperf3 server an earlier run recorded in `pidFile`, if it still runs as recorded (checked in
 * /proc/PID/cmdline), and removes the file. Never throws: a pid file it cannot read is only logged.
 */
export async function removeLeftover(pidFile: string, log: Logger): Promise<void> {
  let recorded: { pid: number; argv: string[] };
  try {
    recorded = JSON.parse(readFileSync(pidFile, 'utf8')) as { pid: number; argv: string[] };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT')
      log.warn('ignoring an unreadable iperf3 pid file', { file: pidFile, error: (err as Error).message });
    return;
  }
  const { pid, argv } = recorded;
  if (Number.isInteger(pid) && pid > 1 && Array.isArray(argv) && runsAs(pid, argv)) {
    log.warn('stopping the iperf3 server an earlier run of this agent left behind (it holds the port)', {
      pid,
      command: argv.join(' '),
    });
    signal(pid, 'SIGTERM');
    if (!(await gone(pid, 3000))) {
      signal(pid, 'SIGKILL');
      await gone(pid, 2000);
    }
  }
  try {
    rmSync(pidFile, { force: true });
  } catch {
    // a read-only data dir: the next start checks the same file again, which is harmless
  }
}

/** Whether process `pid` runs exactly `argv` (its program compared by file name). */
function runsAs(pid: number, argv: readonly string[]): boolean {
  let cmd: string[];
  try {
    cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
  } catch {
    return false; // gone
  }
  if (cmd.at(-1) === '') cmd.pop();
  if (cmd.length !== argv.length || cmd.length === 0) return false;
  if (basename(cmd[0] ?? '') !== basename(argv[0] ?? '')) return false;
  return cmd.every((a, i) => i === 0 || a === argv[i]);
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // already gone
  }
}

/** Waits until `pid` has exited (or is a zombie nobody reaps: its port is free then too). */
async function gone(pid: number, timeoutMs: number): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    let state: string | undefined;
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    } catch {
      return true;
    }
    if (state === 'Z' || state === 'X') return true;
    if (Date.now() > end) return false;
    await new Promise((r) => setTimeout(r, 50));
  }
}
