import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, tempDir } from '../../testbed/collector.ts';
import { batch, rttResult } from '../../testbed/results.ts';
import { push, twoSites } from '../../testbed/topologies.ts';
import { runCollector, wanwatch } from '../support/cli.ts';
import { selfSignedCert } from '../support/tls.ts';

describe('wanwatch collector and wanwatch status (the real CLI)', () => {
  const dir = tempDir('cli-collector');
  const config = join(dir, 'topology.yaml');
  let c: Awaited<ReturnType<typeof runCollector>>;

  beforeAll(async () => {
    writeFileSync(config, twoSites({ max_rtt_ms: 20 }));
    c = await runCollector(['-c', config, '--listen', '127.0.0.1:0', '--data-dir', join(dir, 'data')]);
  });
  afterAll(async () => {
    c?.proc.kill('SIGTERM');
    await c?.proc;
    rmSync(dir, { recursive: true, force: true });
  });

  it('stores pushed results in the data dir given by --data-dir', async () => {
    const r = await push(c.url, batch('a', [rttResult('a', 'b', Date.now(), [40, 41, 42])]));
    expect(await r.json()).toEqual({ stored: 1, duplicates: 0 });
    expect(readFileSync(join(dir, 'data', 'wanwatch.sqlite')).length).toBeGreaterThan(0);
  });

  it('status prints the link table and exits 1 while a direction is firing', async () => {
    await eventually(
      async () => {
        const links = (await (await fetch(`${c.url}/api/v1/links`)).json()) as { links: { state: string }[] };
        return links.links[0]?.state === 'firing' ? true : undefined;
      },
      10_000,
      'firing',
    );
    const s = await wanwatch(['status', '--collector', c.url]);
    expect(s.exitCode).toBe(1);
    const lines = s.stdout.split('\n');
    expect(lines[0]).toMatch(
      /^LINK\s+DIRECTION\s+RTT p95 \/ LIMIT\s+LOSS \/ LIMIT\s+GOODPUT \/ REQUIRED\s+STATE$/,
    );
    expect(lines[1]).toMatch(/^a – b\s+a → b\s+41\.9 \/ 20 ms\s+0 \/ 50 %\s+- \/ 5 Mbps\s+firing$/);
    expect(lines[2]).toMatch(/^a – b\s+b → a\s+- \/ 20 ms\s+- \/ 50 %\s+- \/ 5 Mbps\s+unknown$/);
    const json = await wanwatch(['status', '--collector', c.url, '--json']);
    expect(JSON.parse(json.stdout).links[0].directions[0]).toMatchObject({
      src: 'a',
      dst: 'b',
      state: 'firing',
      rtt_ms: 41.9,
    });
  });

  it('re-reads the topology on SIGHUP', async () => {
    writeFileSync(config, twoSites({ max_rtt_ms: 100 }));
    c.proc.kill('SIGHUP');
    await eventually(
      () => (c.stderr().includes('SIGHUP: re-reading the topology file') ? true : undefined),
      10_000,
      'SIGHUP log',
    );
    await eventually(
      async () => {
        const s = await wanwatch(['status', '--collector', c.url]);
        return s.exitCode === 0 && /41\.9 \/ 100 ms/.test(s.stdout) ? true : undefined;
      },
      15_000,
      'the relaxed limit',
    );
  });

  it('status exits 2 with a message when the collector cannot be reached', async () => {
    const s = await wanwatch(['status', '--collector', 'http://127.0.0.1:9']);
    expect(s.exitCode).toBe(2);
    expect(s.stderr).toMatch(
      /cannot read http:\/\/127\.0\.0\.1:9\/api\/v1\/links: .*is the collector running there\?/,
    );
  });

  it('refuses bad options with exit code 2', async () => {
    const half = await wanwatch(['collector', '-c', config, '--tls-cert', 'cert.pem']);
    expect(half.exitCode).toBe(2);
    expect(half.stderr).toContain('--tls-cert and --tls-key go together');
    const listen = await wanwatch(['collector', '-c', config, '--listen', 'localhost']);
    expect(listen.exitCode).toBe(2);
    expect(listen.stderr).toContain('--listen: listen address "localhost" is not HOST:PORT');
  });
});

describe('wanwatch collector over HTTPS', () => {
  it('serves the API over TLS with --tls-cert and --tls-key', async () => {
    const dir = tempDir('cli-tls');
    const { cert, key } = selfSignedCert(dir, 'rsa');
    const config = join(dir, 'topology.yaml');
    writeFileSync(config, twoSites());
    const c = await runCollector([
      '-c',
      config,
      '--listen',
      '127.0.0.1:0',
      '--data-dir',
      join(dir, 'data'),
      '--tls-cert',
      cert,
      '--tls-key',
      key,
    ]);
    try {
      expect(c.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
      const body = await new Promise<string>((resolve, reject) => {
        request(`${c.url}/healthz`, { ca: readFileSync(cert) }, (res) => {
          let t = '';
          res.on('data', (d: Buffer) => {
            t += d.toString();
          });
          res.on('end', () => resolve(t));
        })
          .on('error', reject)
          .end();
      });
      expect(JSON.parse(body)).toEqual({ ok: true });
    } finally {
      c.proc.kill('SIGTERM');
      await c.proc;
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
