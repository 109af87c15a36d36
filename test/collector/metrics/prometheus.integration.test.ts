// A real Prometheus (Debian's 2.42, on loopback, scraping every second with a viewer credential)
// scrapes a real collector fed by two real agents (UDP echo through each other's reflector, a real
// iperf3 test both ways). What PromQL answers must be what GET /api/v1/links says, the margins to each
// link's limits must come out as ratios, and an agent stopped must show as down. The scrape must pass
// `promtool check metrics`, Prometheus must take the OpenMetrics it asks for, and /metrics must follow
// the read access rules.
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ALERT_CODE, linkLabel, STATE_CODE } from '../../../collector/metrics/links.ts';
import type { LinksReply } from '../../../shared/wire.ts';
import { type Fleet, startFleet, twoLoopbackAgentSites } from '../../../testbed/agents.ts';
import { eventually, startTestCollector, type TestCollector, tempDir } from '../../../testbed/collector.ts';
import { type Prometheus, type PromSample, startPrometheus } from '../../../testbed/prometheus.ts';
import { CREDENTIAL_ENV, TOKEN_A, TOKEN_B, TOKEN_ENV, VIEWER_TOKEN } from '../../../testbed/topologies.ts';

const RULES = new URL('../../../deploy/prometheus/wanwatch-rules.yml', import.meta.url).pathname;
const auth = { authorization: `Bearer ${VIEWER_TOKEN}` };

let collector: TestCollector;
let fleet: Fleet;
let prometheus: Prometheus;

beforeAll(async () => {
  const dir = tempDir('metrics-prometheus');
  // Reads closed: Prometheus scrapes with the viewer credential, as docs/prometheus.md tells users to.
  const sites = (await twoLoopbackAgentSites()).replace('public_read: true', 'public_read: false');
  collector = await startTestCollector(
    `${sites}probes:
  rtt: {method: udp, interval: 500ms, count: 5, spacing: 10ms, timeout: 300ms}
  throughput: {interval: 1s, duration: 1s, omit: 0s, protocol: tcp, reverse: true}
  heartbeat: {interval: 500ms, timeout: 1s}
alerts: {for: 1s, clear_for: 1s, window: 1m}
`,
    { env: { ...TOKEN_ENV, ...CREDENTIAL_ENV }, evaluateIntervalMs: 1000, dir: undefined },
  );
  fleet = await startFleet(
    [
      { site: 'a', token: TOKEN_A },
      { site: 'b', token: TOKEN_B },
    ],
    { collector: collector.url, dir },
  );
  prometheus = await startPrometheus(
    [{ job: 'wanwatch-collector', target: new URL(collector.url).host, bearer: VIEWER_TOKEN }],
    [RULES],
  );
}, 60_000);

afterAll(async () => {
  await prometheus?.close();
  await fleet?.stop();
  await collector?.dispose();
});

async function links(): Promise<LinksReply> {
  const res = await fetch(`${collector.url}/api/v1/links`, { headers: auth });
  return (await res.json()) as LinksReply;
}

/** Equal but for float rounding (a ratio computed in another order; ms turned into seconds). */
const close = (a: number | undefined, b: number) =>
  a !== undefined && Math.abs(a - b) <= 1e-12 * Math.max(1e-3, Math.abs(b));

/** One value per direction (or per link) of a PromQL answer, keyed src>dst (or the link). */
function byDirection(samples: PromSample[]): Map<string, number> {
  return new Map(
    samples.map((s) => [s.metric.src ? `${s.metric.src}>${s.metric.dst}` : `${s.metric.link}`, s.value]),
  );
}

describe('Prometheus scraping a collector fed by real agents', () => {
  it('finds the target up with the OpenMetrics it asks for, and promtool finds no problem in a scrape', async () => {
    const targets = await eventually(
      async () => {
        const t = await prometheus.targets();
        return t.length === 1 && t[0]?.health === 'up' ? t : undefined;
      },
      15_000,
      'the collector up in Prometheus',
    );
    expect(targets[0]?.lastError).toBe('');
    const om = await fetch(`${collector.url}/metrics`, {
      headers: {
        ...auth,
        accept: 'application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5',
      },
    });
    expect(om.headers.get('content-type')).toMatch(/^application\/openmetrics-text; version=1\.0\.0/);
    expect(await om.text()).toMatch(/\n# EOF\n$/);

    const res = await fetch(`${collector.url}/metrics`, { headers: auth });
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = await res.text();
    expect(text).toContain('wanwatch_ingested_results_total');
    const check = await execa('promtool', ['check', 'metrics'], { input: text, reject: false });
    expect(check.stdout + check.stderr).toBe('');
    expect(check.exitCode).toBe(0);
  });

  it('refuses /metrics without a credential or with an agent token, as the other reads', async () => {
    expect((await fetch(`${collector.url}/metrics`)).status).toBe(401);
    const agent = await fetch(`${collector.url}/metrics`, {
      headers: { authorization: `Bearer ${TOKEN_A}` },
    });
    expect(agent.status).toBe(403);
    // Both counted, as Prometheus sees at its next scrapes.
    await eventually(
      async () => {
        const [c] = await prometheus.query(
          'sum(wanwatch_refused_requests_total{reason="unauthenticated"}) + sum(wanwatch_refused_requests_total{reason="forbidden"})',
        );
        return (c?.value ?? 0) >= 2 ? true : undefined;
      },
      10_000,
      'the refusals counted in Prometheus',
    );
  });

  it('shows each agent up, then a stopped agent down while the other stays up', async () => {
    await eventually(
      async () => {
        const up = byDirection(await prometheus.query('wanwatch_agent_up')).size;
        return up === 0 ? undefined : true;
      },
      15_000,
      'wanwatch_agent_up in Prometheus',
    );
    const up = await prometheus.query('wanwatch_agent_up');
    expect(Object.fromEntries(up.map((s) => [s.metric.site, s.value]))).toEqual({ a: 1, b: 1 });
    // Measured both ways, and a throughput test both ways, before b stops.
    await eventually(
      async () => {
        const l = (await links()).links[0];
        return l?.directions.every((d) => d.rtt_ms !== null && d.goodput_bps !== null) ? true : undefined;
      },
      30_000,
      'RTT and goodput both ways in /api/v1/links',
    );
    await fleet.agents.get('b')?.stop();
    const down = await eventually(
      async () => {
        const s = await prometheus.query('wanwatch_agent_up');
        const m = Object.fromEntries(s.map((x) => [x.metric.site, x.value]));
        return m.b === 0 ? m : undefined;
      },
      15_000,
      'site b down in Prometheus',
    );
    expect(down).toEqual({ a: 1, b: 0 });
    // The shipped rule sees it too (pending: its `for` is 2 minutes).
    const alerts = await eventually(
      async () => {
        const s = await prometheus.query('ALERTS{alertname="WanwatchAgentDown"}');
        return s.length > 0 ? s : undefined;
      },
      10_000,
      'WanwatchAgentDown in ALERTS',
    );
    expect(alerts.map((s) => [s.metric.site, s.metric.alertstate])).toEqual([['b', 'pending']]);
  }, 60_000);

  it('answers per link what /api/v1/links says, and the margins to each limit as ratios', async () => {
    // With both agents stopped the links stop changing; Prometheus then holds the latest evaluation.
    await fleet.stop();
    const queries = {
      rtt: 'wanwatch_link_rtt_seconds',
      loss: 'wanwatch_link_loss_ratio',
      goodput: 'wanwatch_link_goodput_bytes_per_second * 8',
      state: 'wanwatch_link_state',
      rounds: 'wanwatch_link_window_rounds',
      rttMargin:
        'wanwatch_link_rtt_seconds / on (job, instance, link) group_left () wanwatch_link_rtt_limit_seconds',
      goodputMargin:
        'wanwatch_link_goodput_bytes_per_second / on (job, instance, link) group_left () wanwatch_link_required_bytes_per_second',
      recordedRttMargin: 'wanwatch:link_rtt_of_limit:ratio',
      required: 'wanwatch_link_required_bytes_per_second * 8',
      maxRtt: 'wanwatch_link_rtt_limit_seconds',
      lastResult: 'wanwatch_link_last_result_timestamp_seconds',
    } as const;
    const expected = (reply: LinksReply) => {
      const out: Record<keyof typeof queries, Map<string, number>> = Object.fromEntries(
        Object.keys(queries).map((k) => [k, new Map()]),
      ) as never;
      for (const l of reply.links) {
        out.required.set(linkLabel(l.sites), l.required_mbps * 1e6);
        out.maxRtt.set(linkLabel(l.sites), l.max_rtt_ms / 1000);
        for (const d of l.directions) {
          const k = `${d.src}>${d.dst}`;
          out.rtt.set(k, (d.rtt_ms as number) / 1000);
          out.loss.set(k, (d.loss_percent as number) / 100);
          out.goodput.set(k, d.goodput_bps as number);
          out.state.set(k, STATE_CODE[d.state]);
          out.rounds.set(k, d.rounds_in_window);
          out.rttMargin.set(k, (d.rtt_ms as number) / d.max_rtt_ms);
          out.recordedRttMargin.set(k, (d.rtt_ms as number) / d.max_rtt_ms);
          out.goodputMargin.set(k, (d.goodput_bps as number) / d.required_bps);
          out.lastResult.set(k, (d.last_result_ms as number) / 1000);
        }
      }
      return out;
    };
    // Each evaluation after the stop gives the same reply; wait until Prometheus has scraped it.
    let last: { reply: LinksReply; got: Record<string, Map<string, number>> } | undefined;
    const settled = await eventually(
      async () => {
        const reply = await links();
        const got: Record<string, Map<string, number>> = {};
        for (const [k, q] of Object.entries(queries)) got[k] = byDirection(await prometheus.query(q));
        last = { reply, got };
        const want = expected(reply);
        for (const k of Object.keys(queries) as (keyof typeof queries)[])
          for (const [key, v] of want[k]) if (!close(got[k]?.get(key), v)) return undefined;
        return { reply, got, want };
      },
      15_000,
      `PromQL equal to /api/v1/links (last seen: ${JSON.stringify(last?.got && Object.fromEntries(Object.entries(last.got).map(([k, v]) => [k, [...v]])))})`,
    );
    for (const k of Object.keys(queries) as (keyof typeof queries)[]) {
      const got = settled.got[k] as Map<string, number>;
      expect([...got.keys()].sort(), k).toEqual([...settled.want[k].keys()].sort());
      for (const [key, v] of settled.want[k])
        expect(close(got.get(key), v), `${k} ${key}: ${got.get(key)} vs ${v}`).toBe(true);
    }
    const [l] = settled.reply.links;
    expect(l?.directions.length).toBe(2);
    // The figures are real measurements on loopback: a few ms at most, a real goodput.
    for (const d of l?.directions ?? []) {
      expect(d.rtt_ms).toBeGreaterThan(0);
      expect(d.rtt_ms).toBeLessThan(50);
      expect(d.goodput_bps).toBeGreaterThan(1e6);
    }
    // Every link rule of every direction, as its code.
    const alertStates = await prometheus.query('wanwatch_link_alert_state');
    expect(alertStates.length).toBe(2 * 5);
    for (const s of alertStates) {
      const d = l?.directions.find((x) => x.src === s.metric.src && x.dst === s.metric.dst);
      expect(s.value, `${s.metric.src}>${s.metric.dst} ${s.metric.rule}`).toBe(
        ALERT_CODE[d?.alerts[s.metric.rule as keyof typeof d.alerts] ?? 'ok'],
      );
    }
    // The latest round's statistics are there both ways, ordered as statistics are.
    const round = await prometheus.query('wanwatch_link_round_rtt_seconds');
    for (const dir of ['a>b', 'b>a']) {
      const v = Object.fromEntries(
        round
          .filter((s) => `${s.metric.src}>${s.metric.dst}` === dir)
          .map((s) => [s.metric.statistic, s.value]),
      );
      expect(v.min).toBeLessThanOrEqual(v.median as number);
      expect(v.median).toBeLessThanOrEqual(v.p95 as number);
      expect(v.p95).toBeLessThanOrEqual(v.max as number);
    }
  }, 60_000);

  it('counts what it ingested and times its evaluations', async () => {
    const [results] = await prometheus.query('wanwatch_ingested_results_total');
    const stored = collector.store.countResults();
    expect(results?.value).toBeGreaterThan(0);
    expect(results?.value).toBeLessThanOrEqual(stored);
    const [evals] = await prometheus.query('wanwatch_evaluation_duration_seconds_count');
    expect(evals?.value).toBeGreaterThan(0);
  });
});
