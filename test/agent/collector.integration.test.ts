// Agents and the real collector, each restarted while the other runs: every result an agent produced is
// stored exactly once, counted in the collector's store against what the agents produced.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCollector } from '../../collector/collector.ts';
import type { Store } from '../../collector/store/store.ts';
import type { Result } from '../../shared/result.ts';
import { quietLog, startFleet, twoLoopbackAgentSites } from '../../testbed/agents.ts';
import { tempDir } from '../../testbed/collector.ts';

const TOKENS = { WW_TOKEN_A: 'token-a-for-agent-tests', WW_TOKEN_B: 'token-b-for-agent-tests' };
let dir: string;
let configPath: string;
let dataDir: string;

beforeAll(async () => {
  dir = tempDir('agents-collector');
  configPath = join(dir, 'topology.yaml');
  dataDir = join(dir, 'collector');
  const sites = await twoLoopbackAgentSites();
  writeFileSync(
    configPath,
    `${sites}probes:
  rtt: {method: udp, interval: 300ms, count: 3, spacing: 10ms, timeout: 200ms}
  throughput: {enabled: false}
  heartbeat: {interval: 1s, timeout: 5s}
`,
  );
});

afterAll(() => {
  // rmSync is left to the OS temp cleaner when a test failed midway and handles are still open.
});

function storedIds(store: Store): string[] {
  const ids: string[] = [];
  for (const [s, d] of [
    ['a', 'b'],
    ['b', 'a'],
  ] as const)
    for (const r of store.rttResults(s, d, 0)) ids.push(r.id);
  return ids.sort();
}

const ids = (rs: Result[]) => rs.map((r) => r.id).sort();

describe('agents with the real collector', () => {
  it('stores every result exactly once when the collector is stopped and restarted while agents run', async () => {
    const start = () =>
      startCollector({
        configPath,
        listen: `127.0.0.1:${port}`,
        dataDir,
        env: TOKENS,
        evaluateIntervalMs: 1000,
        watch: false,
        log: quietLog,
      });
    let port = 0;
    let collector = await start();
    port = collector.port;
    const fleet = await startFleet(
      [
        { site: 'a', token: TOKENS.WW_TOKEN_A },
        { site: 'b', token: TOKENS.WW_TOKEN_B },
      ],
      { collector: collector.url, dir },
    );
    try {
      await until('results stored', () => collector.store.countResults() >= 4);
      // Outage: the collector goes away; agents keep measuring into their spools.
      await collector.close();
      const atOutage = fleet.produced.length;
      await until('results made during the outage', () => fleet.produced.length >= atOutage + 8);
      const spooled = [...fleet.agents.values()].reduce((n, a) => n + a.stats().spool.queued_results, 0);
      expect(spooled).toBeGreaterThan(0);
      collector = await start();
      const back = fleet.produced.length;
      await until('more results after the return', () => fleet.produced.length >= back + 4);
      for (const a of fleet.agents.values()) expect(await a.drain(20_000)).toBe(true);
      expect(storedIds(collector.store)).toEqual(ids(fleet.produced));
      // Heartbeats reached the collector too, with nothing dropped.
      const agents = collector.store.agents();
      expect(agents.map((x) => x.site).sort()).toEqual(['a', 'b']);
    } finally {
      await fleet.stop();
      await collector.close();
    }
  });

  it('keeps results across an agent restart: the next run sends what the last one spooled', async () => {
    // Agents run with the collector away, stop, and start again when it is back.
    const collector = await startCollector({
      configPath,
      listen: '127.0.0.1:0',
      dataDir: join(dir, 'collector-2'),
      env: TOKENS,
      watch: false,
      log: quietLog,
    });
    const url = collector.url;
    const port = collector.port;
    const first = await startFleet([{ site: 'a', token: TOKENS.WW_TOKEN_A }], {
      collector: url,
      dir: join(dir, 'r'),
    });
    await collector.close();
    await until('spooled', () => first.agents.get('a')!.stats().spool.queued_results >= 6);
    await first.stop();
    const again = await startCollector({
      configPath,
      listen: `127.0.0.1:${port}`,
      dataDir: join(dir, 'collector-2'),
      env: TOKENS,
      watch: false,
      log: quietLog,
    });
    const second = await startFleet([{ site: 'a', token: TOKENS.WW_TOKEN_A }], {
      collector: url,
      dir: join(dir, 'r'),
    });
    try {
      expect(await second.agents.get('a')!.drain(20_000)).toBe(true);
      const stored = again.store
        .rttResults('a', 'b', 0)
        .map((r) => r.id)
        .sort();
      expect(stored).toEqual(ids([...first.produced, ...second.produced]));
    } finally {
      await second.stop();
      await again.close();
    }
  });
});

async function until(what: string, cond: () => boolean, timeoutMs = 20_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
