// Silent doubles: a second collector on one data directory refuses to start, naming the directory and
// the collector that holds it; the lock goes with the process, however it ends.
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DataDirInUseError } from '../../collector/data-dir-lock.ts';
import { startTestCollector, tempDir } from '../../testbed/collector.ts';
import { TOKEN_ENV, twoSites } from '../../testbed/topologies.ts';
import { runCollector, wanwatch } from '../support/cli.ts';

describe('one collector per data directory', () => {
  const dir = tempDir('doubles');
  const config = join(dir, 'topology.yaml');
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('refuses a second collector in the same process, naming the directory and the first one', async () => {
    const first = await startTestCollector(twoSites(), { env: TOKEN_ENV });
    try {
      const second = startTestCollector('', { dir: first.dir, env: TOKEN_ENV, dataDir: first.dataDir });
      await expect(second).rejects.toThrow(DataDirInUseError);
      await expect(second).rejects.toThrow(
        `the data directory ${first.dataDir} is in use by the collector with pid ${process.pid} on host`,
      );
      await expect(second).rejects.toThrow(`listening on ${first.url}`);
      // The first one runs on, unharmed.
      expect((await fetch(`${first.url}/healthz`)).status).toBe(200);
    } finally {
      await first.close();
    }
    // Once it stopped, the directory is free again.
    const again = await startTestCollector('', { dir: first.dir, env: TOKEN_ENV, dataDir: first.dataDir });
    await again.dispose();
    await first.dispose();
  });

  it('refuses a second `wanwatch collector` process (exit 2), and takes over from one killed with -9', async () => {
    writeFileSync(config, twoSites());
    const data = join(dir, 'data');
    const first = await runCollector(['-c', config, '--listen', '127.0.0.1:0', '--data-dir', data]);
    try {
      const second = await wanwatch(
        ['collector', '-c', config, '--listen', '127.0.0.1:0', '--data-dir', data],
        {
          env: TOKEN_ENV,
        },
      );
      expect(second.exitCode).toBe(2);
      expect(second.stderr).toContain(
        `the data directory ${data} is in use by the collector with pid ${first.proc.pid} on host`,
      );
      expect(second.stderr).toContain(`listening on ${first.url}`);
      expect(second.stderr).toContain('Stop that one first, or give this one another data directory');
    } finally {
      first.proc.kill('SIGKILL');
      await first.proc;
    }
    // No stale lock: the operating system dropped it with the process.
    const next = await runCollector(['-c', config, '--listen', '127.0.0.1:0', '--data-dir', data]);
    expect((await fetch(`${next.url}/healthz`)).status).toBe(200);
    next.proc.kill('SIGTERM');
    await next.proc;
  });
});
