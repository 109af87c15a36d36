import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WANWATCH_VERSION } from '../../../shared/version.ts';
import { MAX_BODY_BYTES } from '../../../shared/wire.ts';
import { startTestCollector, type TestCollector } from '../../../testbed/collector.ts';
import { batch, rttResult, throughputResult } from '../../../testbed/results.ts';

const TOKEN_A = 'token-of-site-a-0123456789';
const TOKEN_B = 'token-of-site-b-9876543210';
const TOPOLOGY = `
sites:
  a: {address: 127.0.0.1, token_env: TEST_TOKEN_A}
  b: {address: 127.0.0.2, token_sha256: ${createHash('sha256').update(TOKEN_B).digest('hex')}}
  c: {address: 127.0.0.3}
clusters:
  east:
    subclusters:
      sc1: {nodes: {n1: a, n2: b}}
      sc2: {nodes: {n3: c}}
`;

let c: TestCollector;
beforeAll(async () => {
  c = await startTestCollector(TOPOLOGY, { env: { TEST_TOKEN_A: TOKEN_A } });
});
afterAll(async () => {
  await c.dispose();
});

async function post(path: string, body: string | Buffer, token: string | null = TOKEN_A) {
  const res = await fetch(`${c.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body,
  });
  const text = await res.text();
  return {
    status: res.status,
    body: JSON.parse(text) as { error?: string; details?: string[]; stored?: number; duplicates?: number },
  };
}

async function stillServing() {
  const res = await fetch(`${c.url}/healthz`);
  expect(res.status).toBe(200);
  const ok = await post(
    '/api/v1/results',
    JSON.stringify(batch('a', [rttResult('a', 'b', Date.now(), [5])])),
  );
  expect(ok.status).toBe(200);
}

describe('ingest: POST /api/v1/results', () => {
  it('warns at startup about a site that has no token', () => {
    expect(c.logs.join('')).toContain('site c has no agent token and cannot push');
  });

  it('stores a batch pushed with the site token and stores a resent batch once', async () => {
    const before = c.store.countResults();
    const b = batch('a', [
      rttResult('a', 'b', Date.now(), [10, 12]),
      throughputResult('a', 'b', Date.now(), 9e6),
    ]);
    const first = await post('/api/v1/results', JSON.stringify(b));
    expect(first).toEqual({ status: 200, body: { stored: 2, duplicates: 0 } });
    const again = await post('/api/v1/results', JSON.stringify(b));
    expect(again).toEqual({ status: 200, body: { stored: 0, duplicates: 2 } });
    expect(c.store.countResults()).toBe(before + 2);
  });

  it('accepts the token given as a SHA-256 in the file', async () => {
    const r = await post(
      '/api/v1/results',
      JSON.stringify(batch('b', [rttResult('b', 'a', Date.now(), [10])])),
      TOKEN_B,
    );
    expect(r.status).toBe(200);
  });

  it('refuses a missing or wrong token with 401 and a message about this request only', async () => {
    const body = JSON.stringify(batch('a', [rttResult('a', 'b', Date.now(), [10])]));
    const none = await post('/api/v1/results', body, null);
    expect(none.status).toBe(401);
    expect(none.body.error).toMatch(/missing Authorization header/);
    const wrong = await post('/api/v1/results', body, 'not-the-token');
    expect(wrong.status).toBe(401);
    expect(wrong.body.error).toMatch(/matches no site's token/);
    // Nothing about other sites: not that site c has no token, nor the variables' names.
    expect(JSON.stringify(wrong.body)).not.toMatch(/"c"|sites\.c|TEST_TOKEN|token_env names/);
  });

  it('refuses a batch for another or unknown site with 403', async () => {
    const other = await post('/api/v1/results', JSON.stringify(batch('b', [rttResult('b', 'a', 1, [1])])));
    expect(other.status).toBe(403);
    expect(other.body.error).toContain('token belongs to site "a"');
    const unknown = await post('/api/v1/results', JSON.stringify(batch('nowhere', [])));
    expect(unknown.status).toBe(403);
    expect(unknown.body.error).toContain('"nowhere" (not a site in the topology)');
    const src = await post('/api/v1/results', JSON.stringify(batch('a', [rttResult('b', 'a', 1, [1])])));
    expect(src.status).toBe(403);
    expect(src.body.details).toEqual(['results[0].src: must be "a"']);
  });

  it('refuses malformed JSON with 400', async () => {
    const r = await post('/api/v1/results', '{"batch_id": ');
    expect(r.status).toBe(400);
    expect(r.body.error).toMatch(/not valid JSON/);
    await stillServing();
  });

  it('refuses a body over MAX_BODY_BYTES with 413', async () => {
    const r = await post('/api/v1/results', Buffer.alloc(MAX_BODY_BYTES + 1, 0x20));
    expect(r.status).toBe(413);
    expect(r.body.error).toMatch(/larger than 4194304 bytes/);
    await stillServing();
  });

  it('refuses wrong field types with 400, naming each path', async () => {
    const b = batch('a', [rttResult('a', 'b', 1, [1])]) as unknown as { results: Record<string, unknown>[] };
    (b.results[0] as Record<string, unknown>).time_ms = 'yesterday';
    (b.results[0] as { rtt: Record<string, unknown> }).rtt.samples_ms = ['fast'];
    const r = await post('/api/v1/results', JSON.stringify(b));
    expect(r.status).toBe(400);
    expect(r.body.error).toBe('the result batch does not match the wire schema');
    expect(r.body.details).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^results\[0\]\.time_ms: /),
        expect.stringMatching(/^results\[0\]\.rtt\.samples_ms\[0\]: /),
      ]),
    );
  });

  it('answers 1,000 random and mutated bodies each with a 4xx and a message, and keeps serving', async () => {
    const rand = mulberry32(20240501);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)] as T;
    const statuses = new Map<number, number>();
    for (let i = 0; i < 1000; i++) {
      const valid = batch('a', [
        rttResult('a', 'b', 1000 + i, [1, null, 3]),
        throughputResult('a', 'b', 2000, 5e6),
      ]);
      const body = mutate(valid, rand, pick);
      const r = await post('/api/v1/results', body);
      statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
      if (r.status < 400 || r.status >= 500 || typeof r.body.error !== 'string' || r.body.error === '') {
        throw new Error(`body #${i} got ${r.status} ${JSON.stringify(r.body)}: ${body}`);
      }
    }
    expect([...statuses.keys()].every((s) => s >= 400 && s < 500)).toBe(true);
    await stillServing();
  });
});

describe('plan and heartbeat endpoints', () => {
  it('serves a site its plan with its own token only', async () => {
    const ok = await fetch(`${c.url}/api/v1/plan?site=a`, {
      headers: { authorization: `Bearer ${TOKEN_A}` },
    });
    expect(ok.status).toBe(200);
    expect(((await ok.json()) as { site: string }).site).toBe('a');
    const other = await fetch(`${c.url}/api/v1/plan?site=b`, {
      headers: { authorization: `Bearer ${TOKEN_A}` },
    });
    expect(other.status).toBe(403);
    const tokenless = await fetch(`${c.url}/api/v1/plan?site=c`, {
      headers: { authorization: 'Bearer guess' },
    });
    expect(tokenless.status).toBe(401);
    // The same answer as any wrong token: whether site c has a token is the collector's log's business.
    const answer = (await tokenless.json()) as { error: string };
    expect(answer.error).toMatch(/matches no site's token/);
    expect(JSON.stringify(answer)).not.toMatch(/"c"|sites\.c|neither/);
  });

  it('records a heartbeat and refuses one with a bad field', async () => {
    const hb = {
      site: 'a',
      version: WANWATCH_VERSION,
      time_ms: Date.now(),
      started_at_ms: Date.now() - 1000,
      plan_version: null,
      spool_queued: 3,
      spool_dropped: 0,
      errors: 0,
    };
    const ok = await post('/api/v1/heartbeat', JSON.stringify(hb));
    expect(ok.status).toBe(200);
    expect(c.store.agents().find((x) => x.site === 'a')?.heartbeat.spool_queued).toBe(3);
    const bad = await post('/api/v1/heartbeat', JSON.stringify({ ...hb, spool_queued: -1 }));
    expect(bad.status).toBe(400);
    expect(bad.body.details?.[0]).toMatch(/^spool_queued: /);
  });

  it('answers a request that is not even HTTP with a JSON 400', async () => {
    const { connect } = await import('node:net');
    const reply = await new Promise<string>((resolve, reject) => {
      const sock = connect(c.port, '127.0.0.1', () => sock.write('HELLO THERE\r\n\r\n'));
      let got = '';
      sock.on('data', (d) => {
        got += d.toString();
      });
      sock.on('end', () => resolve(got));
      sock.on('error', reject);
    });
    expect(reply).toMatch(/^HTTP\/1\.1 400 Bad Request\r\n/);
    expect(JSON.parse(reply.slice(reply.indexOf('\r\n\r\n') + 4)).error).toMatch(/^malformed HTTP request/);
    await stillServing();
  });

  it('answers unknown paths and methods with a JSON 404 or 405', async () => {
    const nf = await fetch(`${c.url}/api/v1/nothing`);
    expect(nf.status).toBe(404);
    expect(((await nf.json()) as { error: string }).error).toContain('no such endpoint');
    const wrong = await fetch(`${c.url}/api/v1/results`);
    expect(wrong.status).toBe(405);
  });
});

/** Makes an invalid body from a valid batch, in one of several ways that each break the contract. */
function mutate(valid: object, rand: () => number, pick: <T>(xs: readonly T[]) => T): string {
  const text = JSON.stringify(valid);
  const kind = pick(['truncate', 'garbage', 'retype', 'unknown-key', 'drop-key', 'top-level'] as const);
  switch (kind) {
    case 'truncate':
      return text.slice(0, 1 + Math.floor(rand() * (text.length - 2)));
    case 'garbage':
      return Array.from({ length: 1 + Math.floor(rand() * 200) }, () =>
        String.fromCharCode(Math.floor(rand() * 256)),
      ).join('');
    case 'top-level':
      return JSON.stringify(pick([null, 42, 'batch', [], [valid], true, {}]));
  }
  const copy = JSON.parse(text) as Record<string, unknown>;
  const nodes: { parent: Record<string, unknown> | unknown[]; key: string | number }[] = [];
  const walk = (v: unknown) => {
    if (Array.isArray(v))
      v.forEach((x, i) => {
        nodes.push({ parent: v, key: i });
        walk(x);
      });
    else if (v && typeof v === 'object')
      for (const [k, x] of Object.entries(v)) {
        nodes.push({ parent: v as Record<string, unknown>, key: k });
        walk(x);
      }
  };
  walk(copy);
  const objects = [
    copy,
    ...nodes
      .map((n) => (n.parent as Record<string, unknown>)[n.key as string])
      .filter((x) => x && typeof x === 'object' && !Array.isArray(x)),
  ] as Record<string, unknown>[];
  if (kind === 'unknown-key') {
    pick(objects)[`extra_${Math.floor(rand() * 1000)}`] = 1;
  } else if (kind === 'drop-key') {
    const withKeys = nodes.filter((n) => !Array.isArray(n.parent));
    const n = pick(withKeys);
    delete (n.parent as Record<string, unknown>)[n.key as string];
  } else {
    const n = pick(nodes);
    const old = (n.parent as Record<string, unknown>)[n.key as string];
    const replacement =
      typeof old === 'string'
        ? 12345
        : typeof old === 'number'
          ? 'not a number'
          : old === null
            ? true
            : typeof old === 'boolean'
              ? 'yes'
              : 'wrong';
    (n.parent as Record<string, unknown>)[n.key as string] = replacement;
  }
  return JSON.stringify(copy);
}

function mulberry32(seed: number): () => number {
  let a = seed;
  return () => {
    a |= 0;
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
