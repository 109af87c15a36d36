// /metrics in operation: anonymous clients flooding it (reads public) are slowed down like every read
// and counted, and after a restart the link families come back from the store at the first evaluation
// while the latest-round families wait for the agents' next rounds (they are kept in memory only).
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startTestCollector, type TestCollector, tempDir } from '../../../testbed/collector.ts';
import { rttResult } from '../../../testbed/results.ts';
import { CREDENTIAL_ENV, pushAs, TOKEN_ENV, threeSites } from '../../../testbed/topologies.ts';

const env = { ...TOKEN_ENV, ...CREDENTIAL_ENV };
const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const sample = (text: string, series: string) =>
  text
    .split('\n')
    .find((l) => l.startsWith(`${series} `))
    ?.split(' ')[1];

describe('/metrics in operation', () => {
  it('slows down a flood of anonymous scrapes like any read (429, Retry-After) and counts it', async () => {
    // The API's default limits (10 reads a second per address, bursts of 20); reads are public here.
    const c = await startTestCollector(threeSites(), { env, limits: {} });
    try {
      const answers = await Promise.all(Array.from({ length: 40 }, () => fetch(`${c.url}/metrics`)));
      const refused = answers.filter((r) => r.status === 429);
      expect(answers.filter((r) => r.status === 200).length).toBeGreaterThan(0);
      expect(refused.length).toBeGreaterThan(0);
      expect(Number(refused[0]?.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      await Promise.all(answers.map((r) => r.arrayBuffer()));
      // Once the bucket has refilled (10 a second), one more scrape reads the count.
      await new Promise((r) => setTimeout(r, 2500));
      const res = await fetch(`${c.url}/metrics`);
      expect(res.status).toBe(200);
      const text = await res.text();
      expect(Number(sample(text, 'wanwatch_refused_requests_total{reason="rate_limited"}'))).toBe(
        refused.length,
      );
    } finally {
      await c.dispose();
    }
  });

  it('after a restart, shows the links from the store at once and the latest rounds once agents push again', async () => {
    const dir = tempDir('metrics-restart');
    dirs.push(dir);
    writeFileSync(join(dir, 'topology.yaml'), threeSites());
    const series = 'wanwatch_link_round_rtt_seconds{src="a",dst="b",link="a--b",statistic="max"}';
    const window = 'wanwatch_link_rtt_seconds{src="a",dst="b",link="a--b",statistic="p95"}';
    const scrape = async (c: TestCollector) => (await fetch(`${c.url}/metrics`)).text();

    const first = await startTestCollector('', { env, dir });
    await pushAs(first.url, 'a', [rttResult('a', 'b', Date.now() - 2000, [10, 11, 12])]);
    first.evaluateNow();
    const before = await scrape(first);
    expect(sample(before, series)).toBe('0.012');
    expect(sample(before, window)).toBeDefined();
    await first.close();

    const second = await startTestCollector('', { env, dir });
    try {
      second.evaluateNow();
      const after = await scrape(second);
      expect(sample(after, window)).toBe(sample(before, window));
      expect(sample(after, series)).toBeUndefined();
      expect(sample(after, 'wanwatch_ingested_results_total')).toBe('0');
      await pushAs(second.url, 'a', [rttResult('a', 'b', Date.now() - 1000, [13, 14, 15])]);
      second.evaluateNow();
      expect(sample(await scrape(second), series)).toBe('0.015');
    } finally {
      await second.close();
    }
  });
});
