// Runs the real `wanwatch` command line, as a user would, and captures what it prints.
import { execa } from 'execa';
import {
  type CollectorProcess,
  startCollectorProcess,
  WANWATCH_BIN,
} from '../../testbed/collector-process.ts';
import { TOKEN_ENV } from '../../testbed/topologies.ts';

export const WANWATCH = WANWATCH_BIN;

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

/**
 * Starts `wanwatch collector` as a process (testbed/collector-process.ts) with the test tokens and an
 * evaluation every 200 ms, and waits for the line that names its URL.
 */
export function runCollector(args: string[], env: Record<string, string> = {}): Promise<CollectorProcess> {
  return startCollectorProcess(args, { env: { ...TOKEN_ENV, WANWATCH_EVALUATE_INTERVAL_MS: '200', ...env } });
}
