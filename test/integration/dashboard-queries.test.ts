// Every query of every dashboard, run against a real InfluxDB 1.6.7 that the collector's sink filled,
// with the query text expanded as Grafana expands it; each result is compared with what the query must
// return, computed from the data written.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InfluxSink } from '../../collector/sinks/influx.ts';
import {
  alertEventLines,
  heartbeatLines,
  linkStatusLines,
  resultLines,
} from '../../collector/sinks/influx-schema.ts';
import { allDashboards } from '../../dashboards/src/build.ts';
import type { Dashboard } from '../../dashboards/src/grafana.ts';
import { SPECS } from '../../dashboards/src/influxql.ts';
import { createLogger } from '../../shared/log.ts';
import { type Interpolation, interpolate } from '../support/grafana-interpolate.ts';
import { type Influxd, type InfluxSeries, startInfluxd } from '../support/influxd.ts';
import { expectedSeries } from '../support/influxql-reference.ts';
import { type ParsedPoint, parseLine } from '../support/line-protocol.ts';
import { MemorySource } from '../support/memory-source.ts';
import { sampleData } from '../support/sample-data.ts';

const HOUR = 3_600_000;
// One whole past hour: the data lies inside it and $__interval is 1h, so every GROUP BY time(…) has one
// bucket and the expected values are plain aggregates over the range.
const FROM = Math.floor(Date.now() / HOUR) * HOUR - 3 * HOUR;
const TO = FROM + HOUR - 1;
const DB = 'wanwatch';

/** What a person picks in each dashboard's variables (multi-value where the variable allows it). */
const SELECTED: Record<string, Record<string, string[]>> = {
  'wanwatch-link': { src: ['tokyo'], dst: ['london'] },
  'wanwatch-agents': { site: ['london', 'tokyo'] },
  'wanwatch-overview': {},
};

let influx: Influxd;
let points: ParsedPoint[];

beforeAll(async () => {
  influx = await startInfluxd();
  await influx.createDatabase(DB);
  const d = sampleData(FROM + 60_000, 12);
  const source = new MemorySource();
  for (const r of d.results) source.addResult(r);
  for (const s of d.linkStatus) source.addLinkStatus(s);
  for (const e of d.alertEvents) source.addAlertEvent(e);
  for (const h of d.heartbeats) source.addHeartbeat(h);
  const sink = new InfluxSink(
    {
      type: 'influxdb',
      version: 1,
      url: influx.url,
      db: DB,
      batch_size: 50,
      flush_interval: 1000,
      timeout: 5000,
    },
    source,
    createLogger({}, () => {}),
  );
  await sink.drain();
  await sink.close();
  points = [
    ...d.results.flatMap(resultLines),
    ...d.linkStatus.flatMap(linkStatusLines),
    ...d.alertEvents.flatMap(alertEventLines),
    ...d.heartbeats.flatMap(heartbeatLines),
  ].map(parseLine);
});
afterAll(async () => {
  await influx?.close();
});

function context(d: Dashboard): Interpolation {
  const chosen = SELECTED[d.uid] ?? {};
  const variables: Interpolation['variables'] = {};
  for (const v of d.templating.list)
    if (v.type === 'query')
      variables[v.name] = { values: chosen[v.name] ?? [], multi: Boolean(v.multi || v.includeAll) };
  return { from_ms: FROM, to_ms: TO, interval: '1h', interval_ms: HOUR, variables };
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
  'dashboard %s against InfluxDB 1.6.7',
  (_uid, d) => {
    const ctx = context(d);
    const vars = Object.fromEntries(Object.entries(ctx.variables).map(([k, v]) => [k, v.values]));

    it.each(d.templating.list.filter((v) => v.type === 'query').map((v) => [v.name, v] as const))(
      'variable $%s lists the tag values written',
      async (_name, v) => {
        const spec = SPECS.get(v.query);
        if (!spec) throw new Error(`no spec for ${v.query}`);
        const [res] = await influx.query(interpolate(v.query, ctx), DB);
        const want = expectedSeries(spec, points, ctx, vars);
        const got = actual(res?.series, true);
        expect(want.length).toBeGreaterThan(0);
        expect(got.map((s) => s.rows)).toEqual(want.map((s) => s.rows));
        // What the test selects is among what Grafana would offer.
        for (const value of vars[v.name] ?? []) expect(got[0]?.rows.map((r) => r[1])).toContain(value);
      },
    );

    const targets = d.panels.flatMap((p) =>
      (p.targets ?? []).map((t) => [`${p.title} / ${t.refId}`, t.query] as const),
    );
    it.each(targets)('panel "%s" returns the series and values written', async (what, query) => {
      const spec = SPECS.get(query);
      if (spec?.kind !== 'select') throw new Error(`no select spec for ${query}`);
      const [res] = await influx.query(interpolate(query, ctx), DB);
      const want = expectedSeries(spec, points, ctx, vars);
      const got = actual(res?.series, false);
      expect(want.length, `${what}: the data must give this query something to show`).toBeGreaterThan(0);
      expect(
        got.map((s) => s.tags),
        what,
      ).toEqual(want.map((s) => s.tags));
      got.forEach((s, i) => {
        compareRows(s.rows, want[i]?.rows ?? [], `${what} ${JSON.stringify(s.tags)}`);
        // GROUP BY time($__interval) puts the one bucket at the start of the hour.
        if (spec.time) expect(s.times).toEqual([FROM]);
      });
    });
  },
);
