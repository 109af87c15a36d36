// The spool on a disk that cannot be written: real agents (real probes, the real collector), their data
// dirs on a small tmpfs that is remounted read-only or filled up while they run. With the collector up
// nothing is lost; with it down, every result lost is counted in spool_dropped; no `.tmp-*` file is left
// behind; the agent says what is wrong in its log (once) and in its heartbeats. Root only: chmod does
// not stop root, a read-only or full mount does.
import { existsSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { Spool } from '../../agent/spool/spool.ts';
import { type RunningCollector, startCollector } from '../../collector/collector.ts';
import { createLogger } from '../../shared/log.ts';
import type { Result } from '../../shared/result.ts';
import { type Fleet, quietLog, startFleet, twoLoopbackAgentSites } from '../../testbed/agents.ts';
import { tempDir } from '../../testbed/collector.ts';
import { rttResults } from '../support/agent-results.ts';
import { requireRoot } from '../support/privilege.ts';
import { fill, remount, tmpfs, unmountAll } from './mounts.ts';

const root = requireRoot('a read-only or full spool needs a tmpfs mounted and remounted');
const TOKENS = { WW_TOKEN_A: 'spool-disk-token-a', WW_TOKEN_B: 'spool-disk-token-b' };
let dir: string;
let configPath: string;
let port = 0;
/** Each test has its own collector store (restarted on the same one within the test). */
let collectorDir = '';
let tests = 0;
let collector: RunningCollector | undefined;
let fleet: Fleet | undefined;
const logs: string[] = [];

beforeAll(async () => {
  if (!root) return;
  dir = tempDir('spool-disk');
  configPath = join(dir, 'topology.yaml');
  writeFileSync(
    configPath,
    `${await twoLoopbackAgentSites()}probes:
  rtt: {method: udp, interval: 100ms, count: 2, spacing: 5ms, timeout: 100ms}
  throughput: {enabled: false}
  heartbeat: {interval: 300ms, timeout: 5s}
`,
  );
});

beforeEach(() => {
  tests += 1;
  collectorDir = join(dir, `collector-${tests}`);
  port = 0;
});

afterEach(async () => {
  await fleet?.stop();
  fleet = undefined;
  await stopCollector();
  logs.length = 0;
});

afterAll(() => {
  unmountAll();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function startTheCollector(): Promise<RunningCollector> {
  collector = await startCollector({
    configPath,
    listen: `127.0.0.1:${port}`,
    dataDir: collectorDir,
    env: TOKENS,
    evaluateIntervalMs: 60_000,
    watch: false,
    log: quietLog,
  });
  port = collector.port;
  return collector;
}

async function stopCollector(): Promise<void> {
  await collector?.close();
  collector = undefined;
}

async function fleetOn(disk: string, agent: Parameters<typeof startFleet>[1]['agent'] = {}): Promise<Fleet> {
  fleet = await startFleet(
    [
      { site: 'a', token: TOKENS.WW_TOKEN_A },
      { site: 'b', token: TOKENS.WW_TOKEN_B },
    ],
    { collector: `http://127.0.0.1:${port}`, dir: disk, log: createLogger({}, (l) => logs.push(l)), agent },
  );
  return fleet;
}

async function until<T>(what: string, check: () => T | undefined, timeoutMs = 20_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = check();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const storedIds = (src: string): string[] =>
  collector!.store
    .rttResults(src, src === 'a' ? 'b' : 'a', 0)
    .map((r) => r.id)
    .sort();
const producedBy = (f: Fleet, src: string): Result[] => f.produced.filter((r) => r.src === src);
const heartbeat = (site: string) => collector?.store.agents().find((x) => x.site === site)?.heartbeat;
/** Files the spools hold that are half-written leftovers. */
const tmpFiles = (disk: string): string[] =>
  ['a', 'b'].flatMap((s) => {
    const spool = join(disk, `agent-${s}`, 'spool');
    return existsSync(spool) ? readdirSync(spool).filter((n) => n.startsWith('.tmp-')) : [];
  });

async function drainAll(f: Fleet): Promise<void> {
  for (const a of f.agents.values()) expect(await a.drain(20_000)).toBe(true);
}

describe.runIf(root)('the spool, when its disk cannot be written', () => {
  it('read-only while the collector is up: nothing is lost, and the agent says what is wrong', async () => {
    const disk = tmpfs(16 * 1024);
    await startTheCollector();
    const f = await fleetOn(disk);
    await until('results stored', () => (storedIds('a').length >= 5 ? true : undefined));
    remount(disk, 'ro');
    const atRo = producedBy(f, 'a').length;
    const hb = await until('a heartbeat saying the spool cannot be written', () => {
      const h = heartbeat('a');
      return h?.spool_error ? h : undefined;
    });
    expect(hb.spool_error).toContain('read-only file system');
    expect(hb.spool_error).toContain('kept in memory');
    await until('results made while read-only', () =>
      producedBy(f, 'a').length >= atRo + 30 ? true : undefined,
    );
    // Sent straight from memory meanwhile.
    await until('results made while read-only stored', () =>
      storedIds('a').length >= atRo + 20 ? true : undefined,
    );
    expect(tmpFiles(disk)).toEqual([]);
    remount(disk, 'rw');
    await until('the spool writable again', () =>
      [...f.agents.values()].every((a) => a.stats().spool.queued_results === 0) &&
      heartbeat('a')?.spool_error === null
        ? true
        : undefined,
    );
    await drainAll(f);
    for (const s of ['a', 'b']) {
      expect(storedIds(s)).toEqual(
        producedBy(f, s)
          .map((r) => r.id)
          .sort(),
      );
      expect(f.agents.get(s)!.stats().spool.dropped).toBe(0);
    }
    expect(heartbeat('a')?.spool_dropped).toBe(0);
    expect(tmpFiles(disk)).toEqual([]);
    // Logged once for the episode, and once when it ended, per agent.
    const says = (text: string) => logs.filter((l) => l.includes(text)).length;
    expect(says('spool: cannot write to')).toBe(2);
    expect(says('spool: the disk takes writes again')).toBe(2);
  });

  it('full while the collector is up: nothing is lost, and no empty temporary file is left behind', async () => {
    const disk = tmpfs(2 * 1024);
    await startTheCollector();
    const f = await fleetOn(disk);
    await until('results stored', () => (storedIds('a').length >= 5 ? true : undefined));
    const filler = fill(disk);
    const atFull = producedBy(f, 'a').length;
    const hb = await until('a heartbeat saying the disk is full', () => {
      fill(disk, true);
      const h = heartbeat('a');
      return h?.spool_error ? h : undefined;
    });
    expect(hb.spool_error).toContain('no space left on device');
    await until('results made while full stored', () => {
      fill(disk, true);
      return storedIds('a').length >= atFull + 30 ? true : undefined;
    });
    expect(tmpFiles(disk)).toEqual([]);
    rmSync(filler);
    await until('the spool writable again', () => (heartbeat('a')?.spool_error === null ? true : undefined));
    await drainAll(f);
    for (const s of ['a', 'b']) {
      expect(storedIds(s)).toEqual(
        producedBy(f, s)
          .map((r) => r.id)
          .sort(),
      );
      expect(f.agents.get(s)!.stats().spool.dropped).toBe(0);
    }
    expect(tmpFiles(disk)).toEqual([]);
  });

  it('read-only while the collector is down: keeps a bounded queue in memory and counts every result it drops', async () => {
    const disk = tmpfs(16 * 1024);
    await startTheCollector();
    // A small bound, so that the memory queue overflows within the test: 20 results.
    const f = await fleetOn(disk, { spoolMaxResults: 20 });
    await until('results stored', () => (storedIds('a').length >= 5 ? true : undefined));
    await stopCollector();
    remount(disk, 'ro');
    const a = f.agents.get('a')!;
    await until('the oldest dropped past the memory bound', () =>
      a.stats().spool.dropped >= 30 ? true : undefined,
    );
    expect(a.stats().spool.queued_results).toBeLessThanOrEqual(20);
    await startTheCollector();
    await until('the memory queue sent', () => (a.stats().spool.queued_results <= 2 ? true : undefined));
    remount(disk, 'rw');
    await drainAll(f);
    for (const s of ['a', 'b']) {
      const agent = f.agents.get(s)!;
      const produced = producedBy(f, s).map((r) => r.id);
      const stored = storedIds(s);
      // Every result produced is stored or counted as dropped: none is lost without a count.
      expect(stored.length + agent.stats().spool.dropped).toBe(produced.length);
      expect(produced).toEqual(expect.arrayContaining(stored));
      await until(`${s}'s heartbeat with the drop count`, () =>
        heartbeat(s)?.spool_dropped === agent.stats().spool.dropped ? true : undefined,
      );
    }
    expect(tmpFiles(disk)).toEqual([]);
  });

  it('read-only and the collector down when the agent stops: what only memory held is counted and logged as lost', async () => {
    const disk = tmpfs(16 * 1024);
    await startTheCollector();
    const f = await fleetOn(disk);
    await until('results stored', () => (storedIds('a').length >= 5 ? true : undefined));
    await stopCollector();
    remount(disk, 'ro');
    const a = f.agents.get('a')!;
    await until('results in memory', () => (a.stats().spool.queued_results >= 10 ? true : undefined));
    await f.stop();
    fleet = undefined;
    const stats = a.stats();
    expect(stats.spool.queued_results).toBe(0);
    expect(stats.spool.dropped).toBeGreaterThanOrEqual(10);
    expect(logs.some((l) => l.includes('could not be written to') && l.includes('they are lost'))).toBe(true);
    expect(tmpFiles(disk)).toEqual([]);
  });
});

describe.runIf(root)('the spool itself, on a read-only disk', () => {
  it('keeps batches in memory in their place in the queue, and writes them to disk once it can', async () => {
    const disk = tmpfs(1024);
    const spool = await Spool.open(disk, { site: 'A', log: quietLog });
    await spool.append(rttResults(0, 2));
    remount(disk, 'ro');
    await spool.append(rttResults(2, 2));
    expect(spool.stats()).toEqual({ queued_results: 4, queued_batches: 2, dropped: 0 });
    expect(spool.memoryResults).toBe(2);
    expect(spool.writeError).toContain('read-only file system');
    // Sent oldest first: the batch on disk, then the one in memory.
    const first = await spool.peek();
    await spool.ack(first!.batch_id);
    expect(first?.results.map((r) => r.time_ms % 1000)).toEqual([0, 1]);
    remount(disk, 'rw');
    await spool.append(rttResults(4, 1));
    expect(spool.memoryResults).toBe(0);
    expect(spool.writeError).toBeNull();
    // The acknowledged batch's file, which the read-only disk kept, is gone too.
    expect(readdirSync(disk).filter((n) => n.endsWith('.json')).length).toBe(2);
    const reopened = await Spool.open(disk, { site: 'A' });
    expect(reopened.stats()).toMatchObject({ queued_results: 3, queued_batches: 2 });
  });
});
