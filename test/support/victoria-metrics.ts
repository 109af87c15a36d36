// Runs Debian's VictoriaMetrics privately on loopback: a second real endpoint for InfluxDB line
// protocol through /api/v2/write (the path InfluxDB 2.x and 3.x serve).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { freePort, waitFor } from '../../testbed/ports.ts';

export interface VictoriaMetrics {
  url: string;
  /** Every sample of the series matching `match` (a PromQL series selector), from /api/v1/export. */
  exportSeries(
    match: string,
  ): Promise<{ metric: Record<string, string>; values: number[]; timestamps: number[] }[]>;
  close(): Promise<void>;
}

export async function startVictoriaMetrics(): Promise<VictoriaMetrics> {
  const dir = mkdtempSync(join(tmpdir(), 'wanwatch-vm-'));
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const child = execa(
    'victoria-metrics',
    ['-storageDataPath', join(dir, 'data'), '-httpListenAddr', `127.0.0.1:${port}`, '-loggerLevel', 'ERROR'],
    { reject: false, stdin: 'ignore', all: true },
  );
  await waitFor(`victoria-metrics on ${url}/health`, async () => {
    if (child.exitCode !== null) throw new Error(`victoria-metrics exited: ${child.all ?? ''}`);
    return (await fetch(`${url}/health`)).ok;
  });
  return {
    url,
    exportSeries: async (match) => {
      // Samples become searchable about a second after they arrive: callers poll.
      await fetch(`${url}/internal/force_flush`);
      const res = await fetch(`${url}/api/v1/export?${new URLSearchParams({ 'match[]': match })}`);
      if (!res.ok)
        throw new Error(`victoria-metrics export ${match} → HTTP ${res.status}: ${await res.text()}`);
      return (await res.text())
        .split('\n')
        .filter((l) => l.trim() !== '')
        .map((l) => JSON.parse(l));
    },
    close: async () => {
      child.kill('SIGTERM');
      await child;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
