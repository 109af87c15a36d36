// Every PromQL query of the Prometheus dashboards (dashboards/*-prometheus.json), run against a real
// Prometheus (Debian's 2.42, scraping every second) that scrapes a real collector the test fills over
// HTTP with site tokens: RTT rounds both ways on every link, throughput tests, heartbeats. Each query is
// expanded as Grafana expands it (the test's choice of $src, $dst and $site) and must return exactly the
// series the test expects, with the values the collector's /api/v1/links and what was pushed say. A
// query without an expectation here fails the test: a new panel brings its own.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STATE_CODE } from '../../collector/metrics/links.ts';
import { prometheusDashboards } from '../../dashboards/src/build.ts';
import type { Dashboard, PromTarget } from '../../dashboards/src/grafana.ts';
import type { RttResult } from '../../shared/result.ts';
import { WANWATCH_VERSION } from '../../shared/version.ts';
import type { Heartbeat, LinksReply } from '../../shared/wire.ts';
import { eventually, startTestCollector, type TestCollector } from '../../testbed/collector.ts';
import { type Prometheus, startPrometheus } from '../../testbed/prometheus.ts';
import { rttResult, throughputResult } from '../../testbed/results.ts';
import { CREDENTIAL_ENV, heartbeatAs, pushAs, TOKEN_ENV, threeSites } from '../../testbed/topologies.ts';

const SITES = ['a', 'b', 'c'];
const PAIRS = SITES.flatMap((s) => SITES.filter((d) => d !== s).map((d) => [s, d] as const));
/** What a person picks in each dashboard's variables. */
const CHOSEN: Record<string, Record<string, string>> = {
  'wanwatch-link-prometheus': { src: 'a', dst: 'c' },
  // Multi-value, as Grafana writes it into a regex matcher.
  'wanwatch-agents-prometheus': { site: '(b|c)' },
};
const INTERVAL = '5s';
const RANGE = '60s';

let c: TestCollector;
let prometheus: Prometheus;
let latest: Map<string, RttResult>;
let links: LinksReply;
const heartbeats: Heartbeat[] = [];

/** Round from src to dst: a → c is slow (over 80 ms) and loses one probe of five. */
function round(src: string, dst: string, t: number): RttResult {
  if (src === 'a' && dst === 'c') return rttResult(src, dst, t, [92, 95, 101, 110, null]);
  const base = 10 + PAIRS.findIndex(([s, d]) => s === src && d === dst) * 3;
  return rttResult(src, dst, t, [base, base + 1, base + 2.5, base + 0.5, base + 1.5]);
}

function heartbeat(site: string, extra: Partial<Heartbeat> = {}): Heartbeat {
  return {
    site,
    // Two versions this collector takes: its own, and a development build (no release line to judge).
    version: site === 'c' ? 'development' : WANWATCH_VERSION,
    time_ms: Date.now(),
    started_at_ms: Date.now() - 60_000,
    plan_version: 'p1',
    spool_queued: { a: 0, b: 3, c: 5 }[site] ?? 0,
    spool_dropped: site === 'b' ? 2 : 0,
    errors: 0,
    ...extra,
  };
}

beforeAll(async () => {
  c = await startTestCollector(threeSites(), { env: { ...TOKEN_ENV, ...CREDENTIAL_ENV } });
  prometheus = await startPrometheus([{ job: 'wanwatch-collector', target: new URL(c.url).host }]);
  const t = Date.now() - 20_000;
  latest = new Map();
  for (const site of SITES) {
    const rounds = PAIRS.filter(([s]) => s === site).flatMap(([s, d]) => [
      round(s, d, t),
      round(s, d, t + 5000),
    ]);
    for (const r of rounds) latest.set(`${r.src}>${r.dst}`, r);
    const tests = {
      a: [
        throughputResult('a', 'b', t + 1000, 8_000_000),
        throughputResult('a', 'c', t + 2000, 12_000_000),
        // Reverse: c sent to a, 6 Mbps, under the 10 Mbps a–c needs.
        throughputResult('a', 'c', t + 3000, 6_000_000, 'reverse'),
      ],
      b: [throughputResult('b', 'c', t + 4000, 3_000_000)], // under the 10 Mbps b–c needs
      c: [],
    }[site as 'a' | 'b' | 'c'];
    await pushAs(c.url, site, [...rounds, ...tests]);
    const hb = heartbeat(site);
    heartbeats.push(hb);
    await heartbeatAs(c.url, hb);
  }
  // Prometheus scrapes a few times; then c reports errors (its counter rises between scrapes).
  await eventually(
    async () =>
      (await prometheus.query('wanwatch_agent_errors_total{site="c",code="timeout"}')).length > 0
        ? true
        : undefined,
    15_000,
    'the first scrapes',
  );
  await new Promise((r) => setTimeout(r, 2000));
  await heartbeatAs(c.url, heartbeat('c', { errors_by_code: { timeout: 3 } }));
  // The alerts fire (for: 300 ms) and Prometheus scrapes the state they leave.
  await eventually(
    async () => {
      const reply = (await (await fetch(`${c.url}/api/v1/links`)).json()) as LinksReply;
      const firing = reply.links.flatMap((l) => Object.values(l.alerts)).filter((s) => s === 'firing');
      return firing.length >= 3 ? reply : undefined;
    },
    10_000,
    'rtt_high and goodput_low firing',
  );
  await new Promise((r) => setTimeout(r, 3000));
  links = (await (await fetch(`${c.url}/api/v1/links`)).json()) as LinksReply;
}, 60_000);

afterAll(async () => {
  await prometheus?.close();
  await c?.dispose();
});

type Expected = Map<string, number | ((points: number[]) => boolean)>;

/** A series' key: its direction, statistic, link and rule, site or version, as the query keeps them. */
function key(m: Record<string, string>): string {
  const parts: string[] = [];
  if (m.src && m.dst) parts.push(`${m.src}>${m.dst}`);
  if (m.statistic) parts.push(m.statistic);
  if (m.rule) parts.push(`${m.link} ${m.rule}`);
  if (m.site) parts.push(m.site);
  if (m.version) parts.push(m.version);
  return parts.join(' ');
}

const dir = (src: string, dst: string) =>
  links.links.flatMap((l) => l.directions).find((d) => d.src === src && d.dst === dst)!;
const everyDirection = (
  f: (d: LinksReply['links'][number]['directions'][number]) => number | null,
): Expected =>
  new Map(
    links.links
      .flatMap((l) => l.directions)
      .flatMap((d) => {
        const v = f(d);
        return v === null ? [] : [[`${d.src}>${d.dst}`, v] as const];
      }),
  );
/** The window RTT series carry the statistic the rules use (p95 here). */
const withStatistic = (e: Expected): Expected =>
  new Map([...e].map(([k, v]) => [`${k} ${links.rtt_statistic}`, v]));
const hb = (site: string) => heartbeats.find((h) => h.site === site)!;
const some = (points: number[]) => points.some((v) => v > 0);
const none = (points: number[]) => points.every((v) => v === 0);

/** Every query's expected answer, by "dashboard uid / panel title / refId". */
const EXPECTED: Record<string, () => Expected> = {
  'wanwatch-overview-prometheus / Link status / A': () => everyDirection((d) => STATE_CODE[d.state]),
  'wanwatch-overview-prometheus / RTT (ms) / A': () => withStatistic(everyDirection((d) => d.rtt_ms)),
  "wanwatch-overview-prometheus / RTT (% of the link's limit) / A": () =>
    withStatistic(everyDirection((d) => (d.rtt_ms === null ? null : (100 * d.rtt_ms) / d.max_rtt_ms))),
  'wanwatch-overview-prometheus / Goodput (% of required) / A': () =>
    everyDirection((d) => (d.goodput_bps === null ? null : (100 * d.goodput_bps) / d.required_bps)),
  'wanwatch-overview-prometheus / Goodput / A': () => everyDirection((d) => d.goodput_bps),
  'wanwatch-overview-prometheus / Required / A': () => everyDirection((d) => d.required_bps),
  'wanwatch-overview-prometheus / Firing alerts / A': () =>
    new Map(
      links.links.flatMap((l) =>
        Object.entries(l.alerts)
          .filter(([, s]) => s === 'firing')
          .map(([rule]) => [`${l.sites.join('--')} ${rule}`, 2] as const),
      ),
    ),
  'wanwatch-overview-prometheus / Link state over time / A': () => everyDirection((d) => STATE_CODE[d.state]),
  'wanwatch-link-prometheus / p95 RTT (last round) / A': () =>
    new Map([['a>c p95', latest.get('a>c')?.rtt?.rtt_p95_ms as number]]),
  'wanwatch-link-prometheus / Loss (last round) / A': () => new Map([['a>c', 20]]),
  'wanwatch-link-prometheus / Goodput (last test) / A': () => new Map([['a>c', 12_000_000]]),
  'wanwatch-link-prometheus / Required / A': () => new Map([['a>c', 10_000_000]]),
  'wanwatch-link-prometheus / RTT: min, median and p95 band, against the limit / A': () => {
    const r = latest.get('a>c')?.rtt;
    return new Map([
      ['a>c min', r?.rtt_min_ms as number],
      ['a>c median', r?.rtt_median_ms as number],
      ['a>c p95', r?.rtt_p95_ms as number],
    ]);
  },
  'wanwatch-link-prometheus / RTT: min, median and p95 band, against the limit / B': () =>
    new Map([['a>c', dir('a', 'c').max_rtt_ms]]),
  'wanwatch-link-prometheus / Loss (%) / A': () => new Map([['a>c', 20]]),
  'wanwatch-link-prometheus / Loss (%) / A2': () => new Map([['a>c', 20]]),
  'wanwatch-link-prometheus / Jitter (ms) / A': () =>
    new Map([['a>c', latest.get('a>c')?.rtt?.jitter_ms as number]]),
  'wanwatch-link-prometheus / Goodput against the required rate / A': () => new Map([['a>c', 12_000_000]]),
  'wanwatch-link-prometheus / Goodput against the required rate / B': () => new Map([['a>c', 10_000_000]]),
  'wanwatch-agents-prometheus / Agents / A': () =>
    new Map(
      ['b', 'c'].map((s) => [
        s,
        (p: number[]) => p.length === 1 && (p[0] as number) >= 0 && (p[0] as number) < 60,
      ]),
    ),
  'wanwatch-agents-prometheus / Agents / A2': () => new Map(['b', 'c'].map((s) => [s, hb(s).spool_queued])),
  'wanwatch-agents-prometheus / Agents / A3': () => new Map(['b', 'c'].map((s) => [s, hb(s).spool_dropped])),
  'wanwatch-agents-prometheus / Agents / A4': () =>
    new Map<string, (p: number[]) => boolean>([
      ['b', none],
      ['c', some],
    ]),
  'wanwatch-agents-prometheus / Heartbeats received / A': () =>
    new Map([
      ['b', 1],
      ['c', 1],
    ]),
  'wanwatch-agents-prometheus / Probe errors / A': () =>
    new Map<string, (p: number[]) => boolean>([
      ['b', none],
      ['c', some],
    ]),
  'wanwatch-agents-prometheus / Results waiting in the spool / A': () =>
    new Map([
      ['b', 3],
      ['c', 5],
    ]),
  'wanwatch-agents-prometheus / Versions / A': () =>
    new Map([
      [WANWATCH_VERSION, 1],
      ['development', 1],
    ]),
};

/** The query as Grafana sends it, with the test's choices for the dashboard's variables. */
function expand(expr: string, d: Dashboard): string {
  let q = expr.replaceAll('$__interval', INTERVAL).replaceAll('$__range', RANGE);
  for (const [name, value] of Object.entries(CHOSEN[d.uid] ?? {})) q = q.replaceAll(`$${name}`, value);
  return q;
}

const dashboards = Object.values(prometheusDashboards());
const queries = dashboards.flatMap((d) =>
  d.panels.flatMap((p) =>
    (p.targets ?? []).flatMap((t) =>
      'expr' in t ? [[`${d.uid} / ${p.title} / ${t.refId}`, t, d] as const] : [],
    ),
  ),
);

describe('the Prometheus dashboards against a real Prometheus scraping the collector', () => {
  it('have an expectation here for every PromQL query, and every expectation a query', () => {
    expect(queries.length).toBeGreaterThan(20);
    expect(queries.map(([what]) => what).sort()).toEqual(Object.keys(EXPECTED).sort());
  });

  it.each(
    dashboards.flatMap((d) =>
      d.templating.list
        .filter((v) => v.type === 'query')
        .map((v) => [`${d.uid} $${v.name}`, v.query, d] as const),
    ),
  )('variable %s lists the values Grafana would offer', async (what, query, d) => {
    const m = /^label_values\((.+), (\w+)\)$/.exec(expand(query, d));
    if (!m) throw new Error(`${what}: not label_values(…, label): ${query}`);
    const got = (await prometheus.labelValues(m[2] as string, m[1] as string)).sort();
    const want = { src: SITES, dst: ['b', 'c'], site: SITES }[m[2] as string];
    expect(got).toEqual(want);
  });

  it.each(queries)(
    'panel query "%s" returns the series and values expected',
    async (what, t: PromTarget, d) => {
      const expr = expand(t.expr, d);
      const end = Math.floor(Date.now() / 1000);
      const series = t.instant
        ? (await prometheus.query(expr)).map((s) => ({ metric: s.metric, values: [s.value] }))
        : await prometheus.queryRange(expr, end - 30, end, 1);
      const want = (EXPECTED[what] as () => Expected)();
      expect(want.size, `${what}: the data must give this query something to show`).toBeGreaterThan(0);
      const got = new Map(series.map((s) => [key(s.metric), s.values]));
      expect([...got.keys()].sort(), `${what}: ${expr}`).toEqual([...want.keys()].sort());
      for (const [k, w] of want) {
        const points = got.get(k) as number[];
        if (typeof w === 'function') expect(w(points), `${what} ${k}: ${JSON.stringify(points)}`).toBe(true);
        else expect(points.at(-1), `${what} ${k}`).toBeCloseTo(w, 6);
      }
    },
  );
});
