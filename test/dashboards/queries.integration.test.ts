// Every query of every dashboard, run against a real InfluxDB 1.6.7 that a real collector filled: the
// test pushes RTT rounds, throughput tests and heartbeats over HTTP with site tokens, the collector
// stores them, evaluates the links (link status, alerts firing and resolving) and its output writes
// everything to InfluxDB. Each query is expanded as Grafana expands it and its result compared with
// what the query must return, computed from what the collector stored (which the test checks against
// what it pushed). $__interval is 10 s over about 70 s of data, so GROUP BY time makes several buckets.
import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AlertEvent } from '../../collector/alerts/event.ts';
import {
  alertEventLines,
  heartbeatLines,
  linkStatusLines,
  MEASUREMENTS,
  resultLines,
} from '../../collector/sinks/influx-schema.ts';
import type { LinkStatusPoint } from '../../collector/sinks/source.ts';
import { Store } from '../../collector/store/store.ts';
import { allDashboards } from '../../dashboards/src/build.ts';
import type { Dashboard } from '../../dashboards/src/grafana.ts';
import { SPECS } from '../../dashboards/src/influxql.ts';
import type { Result, RttResult } from '../../shared/result.ts';
import { percentileSorted, summarizeRtt } from '../../shared/stats.ts';
import { WANWATCH_VERSION } from '../../shared/version.ts';
import type { Heartbeat } from '../../shared/wire.ts';
import { eventually, startTestCollector, type TestCollector } from '../../testbed/collector.ts';
import { type Influxd, type InfluxSeries, startInfluxd } from '../../testbed/influxd.ts';
import { pending, waitUntilWritten } from '../../testbed/outputs.ts';
import { rttResult, throughputResult } from '../../testbed/results.ts';
import { heartbeatAs, pushAs, TOKEN_ENV, threeSites } from '../../testbed/topologies.ts';
import { type Interpolation, interpolate } from '../support/grafana-interpolate.ts';
import { expectedSeries } from '../support/influxql-reference.ts';
import { type ParsedPoint, parseLine } from '../support/line-protocol.ts';

const DB = 'wanwatch';
const INTERVAL_MS = 10_000;
const SITES = ['a', 'b', 'c'];
const PAIRS = SITES.flatMap((s) => SITES.filter((d) => d !== s).map((d) => [s, d] as const));
const ROUNDS = 12;

/** What a person picks in each dashboard's variables (multi-value where the variable allows it). */
const SELECTED: Record<string, Record<string, string[]>> = {
  'wanwatch-link': { src: ['a'], dst: ['c'] },
  'wanwatch-agents': { site: ['b', 'c'] },
  'wanwatch-overview': {},
};

let influx: Influxd;
let c: TestCollector;
let T0: number;
let FROM: number;
let TO: number;
let points: ParsedPoint[];
let pushed: Result[];
let heartbeats: Heartbeat[];
let stored: {
  results: Result[];
  linkStatus: LinkStatusPoint[];
  alertEvents: AlertEvent[];
  heartbeats: Heartbeat[];
};

/** Round r from src to dst: 5 probes; a → c is slow (over 80 ms); every fourth round loses a probe. */
function round(src: string, dst: string, r: number): RttResult {
  const p = PAIRS.findIndex(([s, d]) => s === src && d === dst);
  const base = src === 'a' && dst === 'c' ? 95 : 20 + p * 5;
  const samples: (number | null)[] = [0, 1, 2, 3, 4].map((i) => base + ((r * 7 + i * 3) % 11) * 1.5);
  if (r % 4 === 3) samples[4] = null;
  return rttResult(src, dst, T0 + r * 5000 + p * 10, samples);
}

const linkEvent = (dedup: string, status: AlertEvent['status']) =>
  stored?.alertEvents.find((e) => e.dedup_key === dedup && e.status === status) ??
  c.store
    .recentAlertEvents(100)
    .map((e) => e.value)
    .find((e) => e.dedup_key === dedup && e.status === status);

beforeAll(async () => {
  influx = await startInfluxd();
  await influx.createDatabase(DB);
  c = await startTestCollector(
    threeSites({
      outputs: `  - {type: influxdb, version: 1, url: "${influx.url}", db: ${DB}, batch_size: 50, flush_interval: 200ms}`,
    }),
    { env: TOKEN_ENV, sinks: { backoff: { min_ms: 100, max_ms: 400 } } },
  );
  T0 = Date.now() - 65_000;
  pushed = [];
  for (const [src, dst] of PAIRS)
    for (let r = 0; r < ROUNDS; r++) {
      let res = round(src, dst, r);
      // a → c fails one round in the middle; b → a's latest round is lost whole (link_down).
      if ((src === 'a' && dst === 'c' && r === 6) || (src === 'b' && dst === 'a' && r === ROUNDS - 1))
        res = rttResult(src, dst, res.time_ms, [null, null, null]);
      pushed.push(res);
    }
  const loaded = summarizeRtt([110, 112, 130]);
  pushed.push(
    { ...throughputResult('a', 'c', T0 + 20_000, 12_000_000), loaded_rtt: loaded },
    { ...throughputResult('a', 'c', T0 + 32_000, 6_000_000, 'reverse'), loaded_rtt: loaded },
    throughputResult('a', 'b', T0 + 21_000, 8_000_000),
    throughputResult('b', 'c', T0 + 22_000, 3_000_000), // under the 10 Mbps b–c needs
  );
  for (const site of SITES)
    await pushAs(
      c.url,
      site,
      pushed.filter((r) => r.src === site),
    );
  heartbeats = SITES.flatMap((site, i) =>
    [0, 1, 2, 3].map((k) => ({
      site,
      // Two versions this collector takes: its own, and a development build (no release line to judge).
      version: site === 'c' ? 'development' : WANWATCH_VERSION,
      time_ms: T0 + k * 15_000 + i * 100,
      started_at_ms: T0 - 60_000,
      plan_version: 'p1',
      spool_queued: k,
      spool_dropped: site === 'b' ? 2 : 0,
      errors: site === 'c' ? k % 2 : 0,
    })),
  );
  for (const hb of heartbeats) await heartbeatAs(c.url, hb);

  // Evaluation (one alert per rule and link): rtt_high on a–c (a → c), goodput_low on a–c (c → a) and
  // b–c (b → c), link_down on a–b (b → a); then b → a recovers.
  for (const key of ['rtt_high/a--c', 'goodput_low/a--c', 'goodput_low/b--c', 'link_down/a--b'])
    await eventually(() => linkEvent(`wanwatch/${key}`, 'firing'), 5000, `${key} firing`);
  const recovered = rttResult('b', 'a', Date.now(), [21, 22, 23]);
  pushed.push(recovered);
  await pushAs(c.url, 'b', [recovered]);
  await eventually(() => linkEvent('wanwatch/link_down/a--b', 'resolved'), 5000, 'link_down resolved');
  await waitUntilWritten(c);

  // Stop the collector (its output writes what is left), then read what it stored.
  await c.close();
  const store = Store.open(c.dataDir);
  try {
    const sink = `influxdb:${influx.url}?db=${DB}`;
    expect(pending(store, sink)).toEqual({
      results: 0,
      link_status: 0,
      alert_events: 0,
      agent_heartbeats: 0,
    });
    const all = 1_000_000;
    stored = {
      results: store.resultsAfter(0, all).map((r) => r.value),
      linkStatus: store.linkStatusAfter(0, all).map((r) => r.value),
      alertEvents: store.alertEventsAfter(0, all).map((r) => r.value),
      heartbeats: store.agentHeartbeatsAfter(0, all).map((r) => r.value),
    };
  } finally {
    store.close();
  }
  points = [
    ...stored.results.flatMap(resultLines),
    ...stored.linkStatus.flatMap(linkStatusLines),
    ...stored.alertEvents.flatMap(alertEventLines),
    ...stored.heartbeats.flatMap(heartbeatLines),
  ].map(parseLine);
  FROM = T0 - 5000;
  TO = Date.now();
});
afterAll(async () => {
  await c?.close();
  if (c) rmSync(c.dir, { recursive: true, force: true });
  await influx?.close();
});

describe('the data behind the dashboards is what was pushed, as the collector judged it', () => {
  it('stores every pushed result and heartbeat as pushed', () => {
    const byId = (rs: Result[]) => [...rs].sort((x, y) => x.id.localeCompare(y.id));
    expect(byId(stored.results)).toEqual(byId(pushed));
    expect(stored.heartbeats).toEqual(heartbeats);
  });

  it("records each link direction's verdict from the rounds and tests pushed, and the link's requirement", () => {
    const latest = (src: string, dst: string) =>
      stored.linkStatus.filter((p) => p.src === src && p.dst === dst).at(-1);
    const ac = pushed
      .filter((r): r is RttResult => r.kind === 'rtt' && r.src === 'a' && r.dst === 'c')
      .flatMap((r) => r.rtt?.samples_ms ?? [])
      .filter((v): v is number => v !== null)
      .sort((x, y) => x - y);
    expect(latest('a', 'c')).toMatchObject({
      state: 'firing',
      rtt_ms: percentileSorted(ac, 95),
      goodput_bps: 12_000_000,
      required_bps: 10_000_000,
      max_rtt_ms: 80,
    });
    expect(latest('b', 'c')).toMatchObject({
      state: 'firing',
      goodput_bps: 3_000_000,
      required_bps: 10_000_000,
    });
    expect(latest('a', 'b')).toMatchObject({ state: 'ok', goodput_bps: 8_000_000, required_bps: 5_000_000 });
    expect(latest('b', 'a')?.state).toBe('ok');
    expect(
      stored.alertEvents.map((e) => `${e.status} ${e.dedup_key} ${JSON.stringify(e.subject)}`).sort(),
    ).toEqual([
      // The reverse test a → c carried 6 Mbps from c to a, under the 10 Mbps a–c needs.
      'firing wanwatch/goodput_low/a--c {"kind":"link","sites":["a","c"],"worst":{"src":"c","dst":"a"}}',
      'firing wanwatch/goodput_low/b--c {"kind":"link","sites":["b","c"],"worst":{"src":"b","dst":"c"}}',
      'firing wanwatch/link_down/a--b {"kind":"link","sites":["a","b"],"worst":{"src":"b","dst":"a"}}',
      'firing wanwatch/rtt_high/a--c {"kind":"link","sites":["a","c"],"worst":{"src":"a","dst":"c"}}',
      // Resolved: neither direction lost a whole round; a → b is the worse (one probe of five lost).
      'resolved wanwatch/link_down/a--b {"kind":"link","sites":["a","b"],"worst":{"src":"a","dst":"b"}}',
    ]);
  });
});

function context(d: Dashboard, from_ms = FROM): Interpolation {
  const chosen = SELECTED[d.uid] ?? {};
  const variables: Interpolation['variables'] = {};
  for (const v of d.templating.list)
    if (v.type === 'query')
      variables[v.name] = { values: chosen[v.name] ?? [], multi: Boolean(v.multi || v.includeAll) };
  return { from_ms, to_ms: TO, interval: '10s', interval_ms: INTERVAL_MS, variables };
}

/** InfluxDB's answer, in the reference's shape: tags of the series and its rows without time. */
function actual(series: InfluxSeries[] | undefined, isTagValues: boolean) {
  return (series ?? []).map((s) => ({
    tags: s.tags ?? {},
    rows: isTagValues ? s.values : s.values.map((r) => r.slice(1)),
    times: s.values.map((r) => r[0]),
  }));
}

function compareRows(got: unknown[][], want: unknown[][], what: string) {
  expect(got.length, `${what}: rows`).toBe(want.length);
  got.forEach((row, i) => {
    row.forEach((v, j) => {
      const w = want[i]?.[j];
      if (typeof w === 'number' && typeof v === 'number')
        expect(v, `${what} row ${i} column ${j}`).toBeCloseTo(w, 6);
      else expect(v, `${what} row ${i} column ${j}`).toEqual(w);
    });
  });
}

const dashboards = Object.values(allDashboards());

describe.each(dashboards.map((d) => [d.uid, d] as const))(
  'dashboard %s against InfluxDB 1.6.7 filled by the collector',
  (_uid, d) => {
    const vars = () =>
      Object.fromEntries(Object.entries(context(d).variables).map(([k, v]) => [k, v.values]));

    it.each(d.templating.list.filter((v) => v.type === 'query').map((v) => [v.name, v] as const))(
      'variable $%s lists the tag values written',
      async (_name, v) => {
        const spec = SPECS.get(v.query);
        if (!spec) throw new Error(`no spec for ${v.query}`);
        const ctx = context(d);
        const [res] = await influx.query(interpolate(v.query, ctx), DB);
        const want = expectedSeries(spec, points, ctx, vars());
        const got = actual(res?.series, true);
        expect(want.length).toBeGreaterThan(0);
        expect(got.map((s) => s.rows)).toEqual(want.map((s) => s.rows));
        // What the test selects is among what Grafana would offer.
        for (const value of vars()[v.name] ?? []) expect(got[0]?.rows.map((r) => r[1])).toContain(value);
      },
    );

    const targets = d.panels.flatMap((p) =>
      (p.targets ?? []).flatMap((t) => ('query' in t ? [[`${p.title} / ${t.refId}`, t.query] as const] : [])),
    );
    it.each(targets)('panel "%s" returns the series and values written', async (what, query) => {
      const spec = SPECS.get(query);
      if (spec?.kind !== 'select') throw new Error(`no select spec for ${query}`);
      const ctx = context(d);
      const [res] = await influx.query(interpolate(query, ctx), DB);
      const want = expectedSeries(spec, points, ctx, vars());
      const got = actual(res?.series, false);
      expect(want.length, `${what}: the data must give this query something to show`).toBeGreaterThan(0);
      expect(
        got.map((s) => s.tags),
        what,
      ).toEqual(want.map((s) => s.tags));
      got.forEach((s, i) => {
        compareRows(s.rows, want[i]?.rows ?? [], `${what} ${JSON.stringify(s.tags)}`);
        if (spec.time) expect(s.times, `${what}: bucket starts`).toEqual(want[i]?.times);
      });
      // RTT rounds and heartbeats, spread over the whole minute, fall into several $__interval buckets.
      if (spec.time && (spec.measurement === MEASUREMENTS.rtt || spec.select[0]?.fn === 'count'))
        for (const s of got)
          expect(
            s.rows.filter((r) => r.some((v) => v !== null && v !== 0)).length,
            `${what}: buckets with data`,
          ).toBeGreaterThanOrEqual(2);
    });
  },
);

describe('the firing alerts panel', () => {
  const overview = dashboards.find((d) => d.uid === 'wanwatch-overview') as Dashboard;
  const first = overview.panels.find((p) => p.title === 'Firing alerts')?.targets?.[0];
  const query = (first && 'query' in first ? first.query : '') as string;

  it('shows alerts that began firing before the time range and still fire, and not those that resolved', async () => {
    const lastEvent = Math.max(...stored.alertEvents.map((e) => e.time_ms));
    const ctx = context(overview, lastEvent + 1); // a range that holds no alert event at all
    const [res] = await influx.query(interpolate(query, ctx), DB);
    const got = actual(res?.series, false);
    expect(got.map((s) => [s.tags.rule, s.tags.link])).toEqual([
      // InfluxDB orders series by their tags in key order: link first.
      ['goodput_low', 'a--c'],
      ['rtt_high', 'a--c'],
      ['goodput_low', 'b--c'],
    ]);
    const fired = linkEvent('wanwatch/rtt_high/a--c', 'firing') as AlertEvent;
    // firing, summary, observed, threshold, firing since
    expect(got[1]?.rows).toEqual([[1, fired.summary, fired.observed, 80, fired.fired_at_ms]]);
    const spec = SPECS.get(query);
    if (spec?.kind !== 'select') throw new Error('no spec');
    expect(got.map((s) => s.tags)).toEqual(expectedSeries(spec, points, ctx, {}).map((s) => s.tags));
  });

  it('shows nothing for a range that ends before the first alert fired', async () => {
    const first = Math.min(...stored.alertEvents.map((e) => e.time_ms));
    const ctx = { ...context(overview), to_ms: first - 1 };
    const [res] = await influx.query(interpolate(query, ctx), DB);
    expect(res?.series ?? []).toEqual([]);
  });
});
