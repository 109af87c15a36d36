// What the real collector takes from a site's token beyond the wire schema's shapes: results only
// towards the site's peers (and, for a short grace after a topology change, its peers before it); names
// as the topology spells them, so no NUL, bidi override or lone surrogate reaches SQLite; times within
// the allowed clock skew (results may be old, up to the retention, not ahead; heartbeats neither way).
// Each refusal is a 400 that names the field, and nothing of a refused batch is stored.

import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_MAX_CLOCK_SKEW_MS } from '../../../shared/config/schema.ts';
import { WANWATCH_VERSION } from '../../../shared/version.ts';
import { API_PREFIX, type Heartbeat, heartbeatReplySchema } from '../../../shared/wire.ts';
import { startTestCollector, type TestCollector } from '../../../testbed/collector.ts';
import { batch, rttResult, throughputResult } from '../../../testbed/results.ts';
import { push, TOKEN_A, TOKEN_ENV, testAccess } from '../../../testbed/topologies.ts';

const MIN = 60_000;

/** a–b is a link; c is in a cluster of its own with no peering, so it is no peer of a. */
const topology = (extra = '', clusters = 'east: {subclusters: {sc1: {nodes: {n1: a, n2: b}}}}') => `sites:
  a: {address: 127.0.0.1, token_env: WW_TOKEN_A}
  b: {address: 127.0.0.2, token_env: WW_TOKEN_B}
  c: {address: 127.0.0.3, token_env: WW_TOKEN_C}
clusters:
  ${clusters}
  west: {subclusters: {sc2: {nodes: {n3: c, n4: c}}}}
${testAccess({ collector: extra })}`;

let c: TestCollector;
beforeAll(async () => {
  c = await startTestCollector(topology(), { env: TOKEN_ENV, planRefreshMs: 500 });
});
afterAll(async () => {
  await c?.dispose();
});

async function refused(results: unknown[]): Promise<{ error: string; details: string[] }> {
  const before = c.store.countResults();
  const res = await push(c.url, { ...batch('a', []), results });
  const body = (await res.json()) as { error: string; details: string[] };
  expect(res.status, JSON.stringify(body)).toBe(400);
  expect(c.store.countResults()).toBe(before);
  return body;
}

/** What an agent with nothing to report says besides its site and times. */
const QUIET = { version: WANWATCH_VERSION, plan_version: null, spool_queued: 0, spool_dropped: 0, errors: 0 };
const heartbeat = (over: Partial<Heartbeat> = {}): Heartbeat => {
  const now = Date.now();
  return { ...QUIET, site: 'a', time_ms: now, started_at_ms: now - 1000, ...over };
};

async function postHeartbeat(hb: unknown) {
  const res = await fetch(`${c.url}${API_PREFIX}/heartbeat`, {
    method: 'POST',
    headers: { authorization: `Bearer ${TOKEN_A}`, 'content-type': 'application/json' },
    body: JSON.stringify(hb),
  });
  return { status: res.status, body: (await res.json()) as { error?: string; details?: string[] } };
}

describe('results', () => {
  it('are taken towards the sending site’s peers only', async () => {
    expect((await push(c.url, batch('a', [rttResult('a', 'b', Date.now(), [5])]))).status).toBe(200);
    const toC = await refused([
      rttResult('a', 'b', Date.now(), [5]),
      throughputResult('a', 'c', Date.now(), 5e6),
    ]);
    expect(toC.error).toMatch(/results the collector does not take for site "a"/);
    expect(toC.details).toEqual([
      'results[1].dst: "c" is not a peer of site "a" in the topology in force (its peers: b)',
    ]);
    const unknown = await refused([rttResult('a', 'nowhere', Date.now(), [5])]);
    expect(unknown.details[0]).toMatch(/^results\[0\]\.dst: "nowhere" is not a peer/);
    const self = await refused([rttResult('a', 'a', Date.now(), [5])]);
    expect(self.details[0]).toMatch(/^results\[0\]\.dst: "a" is not a peer/);
  });

  it('with NUL, bidi overrides or lone surrogates anywhere are refused, and none reaches SQLite', async () => {
    for (const dst of ['b\u0000', 'b\u202e', '\u202eb', 'b\ud800', 'B', 'b ']) {
      const r = await refused([rttResult('a', dst, Date.now(), [5])]);
      expect(r.details.join('\n'), JSON.stringify(dst)).toMatch(/results\[0\]\.dst/);
    }
    const target = await refused([
      { ...rttResult('a', 'b', Date.now(), [5]), target: '127.0.0.2:4789\u202e' },
    ]);
    expect(target.details).toEqual([
      'results[0].target: holds U+202E, a control or invisible formatting character',
    ]);
    const message = await refused([
      { ...rttResult('a', 'b', Date.now(), [null]), error: { code: 'timeout', message: 'lost \ud83d' } },
    ]);
    expect(message.error).toMatch(/not valid Unicode or holds NUL/);
    expect(message.details).toEqual(['results[0].error.message: U+D83D is not allowed in text']);
    const db = new Database(join(c.dataDir, 'wanwatch.sqlite'), { readonly: true });
    try {
      const names = db.prepare('SELECT DISTINCT src, dst FROM results').all() as {
        src: string;
        dst: string;
      }[];
      expect(names).toEqual([{ src: 'a', dst: 'b' }]);
    } finally {
      db.close();
    }
  });

  it('dated ahead of the collector’s clock by more than the skew are refused, saying the clock is off', async () => {
    const now = Date.now();
    expect((await push(c.url, batch('a', [rttResult('a', 'b', now + 4 * MIN, [5])]))).status).toBe(200);
    for (const t of [now + 6 * MIN, now + 10 * 365 * 86_400_000, 2 ** 53 - 1]) {
      const r = await refused([rttResult('a', 'b', Date.now(), [5]), rttResult('a', 'b', t, [5])]);
      expect(r.error).toMatch(
        /^1 result\(s\) are dated ahead of the collector's clock by more than 5m: the agent's clock is off: set up time sync/,
      );
      expect(r.details[0]).toMatch(
        /^results\[1\]\.time_ms: dated .* ahead of the collector's clock \(at most 5m is accepted, collector\.max_clock_skew\)$/,
      );
    }
    expect(DEFAULT_MAX_CLOCK_SKEW_MS).toBe(5 * MIN);
  });

  it('may be old (a resent spool) but not older than the retention', async () => {
    expect(
      (await push(c.url, batch('a', [rttResult('a', 'b', Date.now() - 10 * 86_400_000, [5])]))).status,
    ).toBe(200);
    for (const t of [0, Date.now() - 31 * 86_400_000]) {
      const r = await refused([rttResult('a', 'b', t, [5])]);
      expect(r.details[0]).toMatch(
        /^results\[0\]\.time_ms: dated .* before the collector's clock, older than collector\.retention \(30d\)$/,
      );
    }
  });

  it('are judged against collector.max_clock_skew as the file says, without a restart', async () => {
    writeFileSync(c.configPath, topology('  max_clock_skew: 30s\n'));
    expect(c.reload()).toBe(true);
    try {
      const r = await refused([rttResult('a', 'b', Date.now() + MIN, [5])]);
      expect(r.details[0]).toMatch(/at most 30s is accepted/);
    } finally {
      writeFileSync(c.configPath, topology());
      expect(c.reload()).toBe(true);
    }
  });
});

describe('heartbeats', () => {
  it('are taken within the skew either way, and the reply carries the collector’s clock', async () => {
    const ok = await fetch(`${c.url}${API_PREFIX}/heartbeat`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN_A}`, 'content-type': 'application/json' },
      body: JSON.stringify(heartbeat({ time_ms: Date.now() - 4 * MIN })),
    });
    expect(ok.status).toBe(200);
    const reply = heartbeatReplySchema.parse(await ok.json());
    expect(Math.abs((reply.time_ms ?? 0) - Date.now())).toBeLessThan(5000);
    expect(reply.max_clock_skew_ms).toBe(DEFAULT_MAX_CLOCK_SKEW_MS);
  });

  it('dated outside the skew, or with control characters in what becomes a tag, are refused', async () => {
    const stored = () => c.store.agents().find((a) => a.site === 'a')?.heartbeat.time_ms;
    const before = stored();
    for (const [time_ms, how] of [
      [9e15, 'ahead of'],
      [Date.now() + 6 * MIN, 'ahead of'],
      [Date.now() - 6 * MIN, 'behind'],
      [0, 'behind'],
    ] as const) {
      const r = await postHeartbeat(heartbeat({ time_ms }));
      expect(r.status).toBe(400);
      expect(r.body.error).toMatch(
        /^the heartbeat is dated outside the collector's clock skew: the agent's clock is off/,
      );
      expect(r.body.details?.[0]).toMatch(
        new RegExp(`^time_ms: the agent's clock is .* ${how} the collector's`),
      );
    }
    const tag = await postHeartbeat(heartbeat({ version: '1.0\u202e', instance: 'x\u0007' }));
    expect(tag.status).toBe(400);
    expect(tag.body.details).toEqual([
      'version: holds U+202E, a control or invisible formatting character',
      'instance: holds U+0007, a control or invisible formatting character',
    ]);
    expect(stored()).toBe(before);
  });
});

describe('after a topology change', () => {
  it('results towards a former peer are taken for two plan refreshes, then refused', async () => {
    // b leaves a's cluster for c's: a–b is no longer a link.
    writeFileSync(
      c.configPath,
      topology(
        '',
        'east: {subclusters: {sc1: {nodes: {n1: a}}}}\n  north: {subclusters: {sc3: {nodes: {n2: b, n5: c}}}}',
      ),
    );
    expect(c.reload()).toBe(true);
    const changed = Date.now();
    try {
      const during = await push(c.url, batch('a', [rttResult('a', 'b', Date.now(), [5])]));
      expect(during.status).toBe(200);
      expect(Date.now() - changed).toBeLessThan(1000);
      await new Promise((r) => setTimeout(r, 1200 - (Date.now() - changed)));
      const after = await refused([rttResult('a', 'b', Date.now(), [5])]);
      expect(after.details[0]).toBe(
        'results[0].dst: "b" is not a peer of site "a" in the topology in force (its peers: none)',
      );
    } finally {
      writeFileSync(c.configPath, topology());
      expect(c.reload()).toBe(true);
    }
  });
});
