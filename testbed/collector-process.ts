// `wanwatch collector` as a process of its own, as a user runs it, for the tests and benchmarks that need
// one (signals, exit codes, what it prints, a process the benchmark does not share): started, and ready
// once it prints the address it listens on.
import { execa, type ResultPromise } from 'execa';
import { eventually } from './collector.ts';

export const WANWATCH_BIN = new URL('../bin/wanwatch.js', import.meta.url).pathname;

export interface CollectorProcess {
  proc: ResultPromise;
  /** The URL it printed (`listening on …`). */
  url: string;
  stdout: () => string;
  stderr: () => string;
}

/**
 * `wanwatch collector …args` with `env` beside this process's environment; fails after `timeoutMs`
 * without the line that names its URL, with its exit code and the end of its stderr.
 */
export async function startCollectorProcess(
  args: string[],
  opts: { env?: Record<string, string>; timeoutMs?: number } = {},
): Promise<CollectorProcess> {
  const proc = execa('node', [WANWATCH_BIN, 'collector', ...args], { env: opts.env, reject: false });
  let out = '';
  let err = '';
  proc.stdout?.on('data', (d: Buffer) => {
    out += d.toString();
  });
  proc.stderr?.on('data', (d: Buffer) => {
    err += d.toString();
  });
  const url = await eventually(
    () => /listening on (\S+)/.exec(out)?.[1],
    opts.timeoutMs ?? 30_000,
    'the collector to start',
  ).catch((e: Error) => {
    throw new Error(`${e.message} (exit ${proc.exitCode}, stderr: ${err.slice(-500)})`);
  });
  return { proc, url, stdout: () => out, stderr: () => err };
}
