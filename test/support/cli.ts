// Runs the real `wanwatch` command line, as a user would, and captures what it prints.
import { execa, type ResultPromise } from 'execa';
import { eventually } from '../../testbed/collector.ts';
import { TOKEN_ENV } from '../../testbed/topologies.ts';

export const WANWATCH = new URL('../../bin/wanwatch.js', import.meta.url).pathname;

export async function wanwatch(
  args: string[],
  opts: { env?: Record<string, string>; timeout?: number } = {},
) {
  const r = await execa('node', [WANWATCH, ...args], {
    reject: false,
    timeout: opts.timeout ?? 60_000,
    env: opts.env,
  });
  return { stdout: r.stdout, stderr: r.stderr, exitCode: r.exitCode };
}

/** Starts `wanwatch collector` as a process and waits for the line that names its URL. */
export async function runCollector(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ proc: ResultPromise; url: string; stderr: () => string; stdout: () => string }> {
  const proc = execa('node', [WANWATCH, 'collector', ...args], {
    env: { ...TOKEN_ENV, WANWATCH_EVALUATE_INTERVAL_MS: '200', ...env },
    reject: false,
  });
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
    30_000,
    `the collector to start (stderr: ${err})`,
  );
  return { proc, url, stderr: () => err, stdout: () => out };
}
