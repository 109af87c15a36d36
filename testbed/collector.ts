// Starts a real collector in-process on 127.0.0.1 (an ephemeral port) with its own temp data dir. The
// API's rate limits are off unless a test passes `limits` (tests poll the read API faster than a person
// would, and the fuzz test sends thousands of wrong tokens from one address); the access tests turn
// them on.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ApiLimits } from '../collector/api/limits.ts';
import { type CollectorOptions, type RunningCollector, startCollector } from '../collector/collector.ts';
import { createLogger } from '../shared/log.ts';

export interface TestCollector extends RunningCollector {
  dir: string;
  configPath: string;
  dataDir: string;
  logs: string[];
  /** Stops the collector and removes its temp dir. */
  dispose(): Promise<void>;
}

/** No read rate limit, no slowing down after failed authentications, any number of qualification starts. */
export const NO_LIMITS: Partial<ApiLimits> = { readsPerSecond: 0, authFailures: 0, qualificationStarts: 0 };

export function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `wanwatch-${prefix}-`));
}

export async function startTestCollector(
  topologyYaml: string,
  opts: Partial<CollectorOptions> & { dir?: string } = {},
): Promise<TestCollector> {
  const dir = opts.dir ?? tempDir('collector');
  const configPath = join(dir, 'topology.yaml');
  const dataDir = join(dir, 'data');
  if (!opts.dir) writeFileSync(configPath, topologyYaml);
  const logs: string[] = [];
  const c = await startCollector({
    configPath,
    listen: '127.0.0.1:0',
    dataDir,
    evaluateIntervalMs: 200,
    retry: { base_ms: 100, cap_ms: 1000, timeout_ms: 2000 },
    limits: NO_LIMITS,
    log: createLogger({ component: 'collector' }, (l) => logs.push(l)),
    ...opts,
  });
  return {
    ...c,
    dir,
    configPath,
    dataDir,
    logs,
    dispose: async () => {
      await c.close();
      if (!opts.dir) rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Polls `check` until it returns a value other than undefined, or fails after `timeoutMs`. */
export async function eventually<T>(
  check: () => T | undefined | Promise<T | undefined>,
  timeoutMs = 10_000,
  what = 'condition',
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
