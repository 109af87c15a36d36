// GET /api/v1/series through a real collector: the same access rules as every read, each bad parameter a
// 400 naming it, a direction that is no link a 404, and what agents pushed in the reply with the link's
// limits beside it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seriesReplySchema } from '../../../shared/series-wire.ts';
import { API_PREFIX } from '../../../shared/wire.ts';
import { startTestCollector, type TestCollector } from '../../../testbed/collector.ts';
import { rttResult, throughputResult } from '../../../testbed/results.ts';
import {
  CREDENTIAL_ENV,
  pushAs,
  TOKEN_A,
  TOKEN_ENV,
  twoSites,
  VIEWER_TOKEN,
} from '../../../testbed/topologies.ts';

let c: TestCollector;
const now = Date.now();
beforeAll(async () => {
  c = await startTestCollector(twoSites({ publicRead: false, max_rtt_ms: 50 }), {
    env: { ...TOKEN_ENV, ...CREDENTIAL_ENV },
  });
  await pushAs(c.url, 'a', [
    rttResult('a', 'b', now - 120_000, [10, 12, 11]),
    rttResult('a', 'b', now - 60_000, [30, 31, 90]),
    throughputResult('a', 'b', now - 90_000, 8e6),
  ]);
});
afterAll(async () => {
  await c?.dispose();
});

const get = (query: string, token: string | null = VIEWER_TOKEN) =>
  fetch(`${c.url}${API_PREFIX}/series?${query}`, {
    headers: token === null ? {} : { authorization: `Bearer ${token}` },
  });
const range = `from=${now - 3_600_000}&to=${now}`;

describe('GET /api/v1/series', () => {
  it('answers a viewer with the pushed rounds and tests, and the link’s limits', async () => {
    const res = await get(`src=a&dst=b&${range}&points=400`);
    expect(res.status).toBe(200);
    const s = seriesReplySchema.parse(await res.json());
    expect(s.bucket_ms).toBe(10_000);
    expect(s.rtt.median_ms).toEqual([11, 31]);
    expect(s.rtt.max_ms).toEqual([12, 90]);
    expect(s.throughput.mean_bps).toEqual([8e6]);
    expect([s.max_rtt_ms, s.required_bps]).toEqual([50, 5e6]);
    // The other direction has nothing yet.
    const back = seriesReplySchema.parse(await (await get(`src=b&dst=a&${range}`)).json());
    expect(back.rtt.time_ms).toEqual([]);
  });

  it('answers a month from the rollup kept at ingest, with the rounds pushed to it since', async () => {
    const month = `src=a&dst=b&from=${now - 30 * 86_400_000}&to=${now + 3_600_000}&points=1000`;
    const hour = Math.floor((now - 30_000) / 3_600_000) * 3_600_000;
    const inHour = (r: { rtt: { time_ms: number[]; rounds: number[]; max_ms: (number | null)[] } }) => {
      const i = r.rtt.time_ms.indexOf(hour);
      return i < 0 ? { rounds: 0, max: null } : { rounds: r.rtt.rounds[i], max: r.rtt.max_ms[i] };
    };
    const s = seriesReplySchema.parse(await (await get(month)).json());
    expect(s.bucket_ms).toBe(3_600_000);
    expect(Math.max(...s.rtt.max_ms.map((v) => v ?? 0))).toBe(90);
    expect(s.rtt.rounds.reduce((x, y) => x + y, 0)).toBe(2);
    const before = inHour(s).rounds as number;
    await pushAs(c.url, 'a', [rttResult('a', 'b', now - 30_000, [40, 41, 140])]);
    const again = seriesReplySchema.parse(await (await get(month)).json());
    expect(inHour(again)).toEqual({ rounds: before + 1, max: 140 });
  });

  it('needs a viewer credential when reads are closed, and takes no site token', async () => {
    expect((await get(`src=a&dst=b&${range}`, null)).status).toBe(401);
    expect((await get(`src=a&dst=b&${range}`, TOKEN_A)).status).toBe(403);
  });

  it.each([
    ['src=a&dst=b', ['from', 'to']],
    [`src=a&dst=b&from=${now}&to=${now - 1}`, ['"to"', 'after']],
    [`src=a&dst=b&${range}&points=5000`, ['points']],
    [`src=a&dst=b&${range}&points=ten`, ['points']],
    [`src=a&dst=b&${range}&colour=red`, ['colour']],
    [`src=a&dst=b&${range}&src=b`, ['"src" is given twice']],
    [`src=a&dst=b&from=0&to=${now}`, ['days']],
  ])('refuses %s with a 400 naming what is wrong', async (query, words) => {
    const res = await get(query);
    const body = (await res.json()) as { error: string; details?: string[] };
    expect(res.status).toBe(400);
    const text = `${body.error} ${(body.details ?? []).join(' ')}`;
    for (const w of words) expect(text).toContain(w);
  });

  it('answers 404 for a direction that is no link', async () => {
    const res = await get(`src=a&dst=zz&${range}`);
    expect(res.status).toBe(404);
    expect(((await res.json()) as { error: string }).error).toContain('no link between "a" and "zz"');
  });
});
