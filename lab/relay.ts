// Builds, starts and talks to the relay (lab/relay.c), the one process that carries every emulated link.
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, statSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import type { LinkParams } from './spec.ts';

const SOURCE = new URL('./relay.c', import.meta.url).pathname;

/** Compiles relay.c with the system C compiler, once per version of the source (cached in the temp dir). */
export async function buildRelay(): Promise<string> {
  const source = readFileSync(SOURCE);
  const hash = createHash('sha256').update(source).digest('hex').slice(0, 16);
  const dir = join(tmpdir(), 'wanwatch-lab-relay');
  mkdirSync(dir, { recursive: true });
  const binary = join(dir, `relay-${hash}`);
  try {
    statSync(binary);
    return binary;
  } catch {
    // not built yet
  }
  const tmp = `${binary}.${process.pid}.tmp`;
  const r = await execa('cc', ['-O2', '-Wall', '-o', tmp, SOURCE], { reject: false });
  if (r.exitCode !== 0) {
    throw new Error(
      `cannot compile the lab relay (${SOURCE}) with cc: ${r.stderr || r.message}; install gcc (bash .ci/install)`,
    );
  }
  renameSync(tmp, binary); // atomic: concurrent labs never run a half-written binary
  return binary;
}

export interface StartedRelay {
  pid: number;
  /** TUN device names in the root namespace, per link: [end a, end b]. */
  tuns: [string, string][];
  /** Resolves when the relay exits (after `stop`). */
  exited: Promise<unknown>;
}

/**
 * Starts the relay for `links` links. `detached`: it outlives this process (the `lab up` command);
 * otherwise it dies with this process, so a crashed test leaves no relay behind.
 */
export async function startRelay(opts: {
  binary: string;
  controlSocket: string;
  links: number;
  seed: number;
  detached: boolean;
  logFile: string;
}): Promise<StartedRelay> {
  const args = [opts.controlSocket, String(opts.links), String(opts.seed), opts.logFile];
  if (!opts.detached) args.push('--die-with-parent');
  const child = execa(opts.binary, args, {
    detached: opts.detached,
    stdin: 'ignore',
    stdout: 'pipe',
    // The relay writes its errors to the log file itself: no pipe of ours keeps a detached relay and
    // this process tied to each other.
    stderr: 'ignore',
    buffer: false,
    reject: false,
    cleanup: !opts.detached,
  });
  const pid = child.pid;
  if (pid === undefined) throw new Error(`cannot start the lab relay ${opts.binary}`);
  const tuns: [string, string][] = [];
  const ready = new Promise<void>((resolve, reject) => {
    let text = '';
    const onData = (chunk: Buffer) => {
      text += chunk.toString();
      let nl = text.indexOf('\n');
      while (nl >= 0) {
        const line = text.slice(0, nl);
        text = text.slice(nl + 1);
        const m = /^tun (\d+) ([01]) (\S+)$/.exec(line);
        if (m) {
          const link = Number(m[1]);
          const pair = tuns[link] ?? ['', ''];
          pair[Number(m[2])] = m[3] as string;
          tuns[link] = pair;
        } else if (line === 'ready') {
          child.stdout?.off('data', onData);
          resolve();
          return;
        }
        nl = text.indexOf('\n');
      }
    };
    child.stdout?.on('data', onData);
    child.then((r) => {
      let log = '';
      try {
        log = readFileSync(opts.logFile, 'utf8').trim().split('\n').slice(-3).join('; ');
      } catch {}
      reject(new Error(`the lab relay exited before it was ready (exit code ${r.exitCode}): ${log}`));
    });
  });
  await ready;
  // The relay prints nothing after "ready"; let go of the pipe so a detached relay outlives us.
  child.stdout?.destroy();
  if (opts.detached) child.unref();
  return { pid, tuns, exited: child };
}

/** Sends one command on the relay's control socket and returns its answer. */
export function relayCommand(controlSocket: string, command: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const sock = connect(controlSocket);
    let answer = '';
    sock.setTimeout(2000, () => sock.destroy(new Error('no answer within 2 s')));
    sock.on('connect', () => sock.write(`${command}\n`));
    sock.on('data', (d) => {
      answer += d.toString();
    });
    sock.on('end', () => resolve(answer));
    sock.on('error', (err) =>
      reject(new Error(`lab relay control socket ${controlSocket}: ${err.message}; is the lab up?`)),
    );
  });
}

/** Sets the parameters of one direction (2 × link index, +1 for b → a). */
export async function setDirection(controlSocket: string, dir: number, p: LinkParams): Promise<void> {
  const answer = await relayCommand(
    controlSocket,
    `set ${dir} ${p.delay_ms} ${p.jitter_ms} ${p.loss_percent} ${p.rate_mbps ?? 0} ${p.queue_ms}`,
  );
  if (answer.trim() !== 'ok') throw new Error(`lab relay refused "set ${dir}": ${answer.trim()}`);
}

export interface DirectionStats {
  direction: number;
  received: number;
  sent: number;
  lost: number;
  overflowed: number;
  queued: number;
}

export async function relayStats(controlSocket: string): Promise<DirectionStats[]> {
  const answer = await relayCommand(controlSocket, 'stats');
  return answer
    .trim()
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => {
      const [direction, received, sent, lost, overflowed, queued] = l.split(' ').map(Number);
      return {
        direction: direction ?? 0,
        received: received ?? 0,
        sent: sent ?? 0,
        lost: lost ?? 0,
        overflowed: overflowed ?? 0,
        queued: queued ?? 0,
      };
    });
}
