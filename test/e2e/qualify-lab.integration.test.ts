// `wanwatch qualify` over the emulated WAN: a healthy link passes, a slow one and a thin one fail, each
// with the reason, measured from inside the sites' network namespaces against real reflectors.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type Lab, startLab } from '../../lab/lab.ts';
import { loadLabFile } from '../../lab/spec.ts';
import { WANWATCH } from '../support/cli.ts';
import { describeLab } from '../support/lab.ts';

describeLab('wanwatch qualify in the emulated WAN (three-site example)', () => {
  let lab: Lab;
  const reflectors: { kill(): boolean }[] = [];

  const qualify = (from: string, to: string, subclusters: number) =>
    lab.exec(
      from,
      'node',
      [
        WANWATCH,
        'qualify',
        '--to',
        lab.siteAddress(to),
        '--subclusters',
        String(subclusters),
        '--duration',
        '6s',
        '--test-duration',
        '1s',
        '--quiet',
      ],
      { reject: false, timeout: 60_000 },
    );

  beforeAll(async () => {
    // A–B is the healthy link: its queue is kept short (25 ms, not the example's 100), as a shaped WAN
    // link's is, so the RTT under qualify's full-rate TCP tests stays well within 80 ms. With 100 ms of
    // buffer, latency under load reaches 75–90 ms and the verdict is rightly WARN or FAIL.
    const spec = loadLabFile('lab/examples/three-sites.yaml');
    for (const l of spec.links) {
      if (l.a === 'A' && l.b === 'B') for (const d of [l.a_to_b, l.b_to_a]) d.queue_ms = 25;
    }
    lab = await startLab(spec, { name: `q${randomBytes(3).toString('hex')}` });
    for (const site of ['B', 'C']) {
      const child = lab.spawn(site, 'node', [WANWATCH, 'reflector', '--address', lab.siteAddress(site)], {
        reject: false,
      });
      reflectors.push(child);
      // Ready once it prints its first line.
      await new Promise<void>((resolve) => child.stdout?.once('data', () => resolve()));
    }
  });
  afterAll(async () => {
    for (const r of reflectors) r.kill();
    await lab?.stop();
  });

  it('passes A–B (10 ms one way, 20 Mbps) for one subcluster: exit 0', async () => {
    const r = await qualify('A', 'B', 1);
    expect(r.stdout).toContain('PASS — needs 5 Mbps');
    expect(r.stdout).toMatch(/PASS +p95 RTT 2\d\.\d ms ≤ 80 ms/);
    expect(r.exitCode, r.stdout + r.stderr).toBe(0);
  });

  it('fails A–C (45 ms one way: 90 ms round trip) as too slow: exit 1', async () => {
    const r = await qualify('A', 'C', 1);
    expect(r.exitCode, r.stdout + r.stderr).toBe(1);
    expect(r.stdout).toMatch(/FAIL +p95 RTT 9\d\.\d ms > 80 ms \(\d+\.\d ms over\)/);
  });

  it('fails B–C (8 Mbps) as too thin for two subclusters: exit 1', async () => {
    const r = await qualify('B', 'C', 2);
    expect(r.exitCode, r.stdout + r.stderr).toBe(1);
    expect(r.stdout).toMatch(/FAIL +TCP goodput .* [0-8]\.\d Mbps < 10 Mbps required \(2 subclusters\)/);
    expect(r.stdout).toMatch(/PASS +p95 RTT \d\.\d ms ≤ 80 ms/);
  });
});
