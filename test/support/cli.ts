// Runs the real `wanwatch` command line, as a user would, and captures what it prints.
import { execa } from 'execa';

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
