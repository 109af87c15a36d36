// The collector's InfluxDB outputs against real servers: a real collector (its SQLite store, its
// evaluation) takes results and heartbeats over HTTP with site tokens, and its sinks copy them into
// Debian's InfluxDB 1.6.7 through /write (version 1) and into VictoriaMetrics through /api/v2/write
// (version 2, the InfluxDB 2.x/3.x path).
import { rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSinks } from '../../../collector/sinks/index.ts';
import { MEASUREMENTS } from '../../../collector/sinks/influx-schema.ts';
import { Store } from '../../../collector/store/store.ts';
import { createLogger } from '../../../shared/log.ts';
import { outputsReplySchema } from '../../../shared/outputs-wire.ts';
import { percentileSorted } from '../../../shared/stats.ts';
import { WANWATCH_VERSION } from '../../../shared/version.ts';
import type { Heartbeat } from '../../../shared/wire.ts';
import { eventually, startTestCollector, type TestCollector, tempDir } from '../../../testbed/collector.ts';
import { type Influxd, startInfluxd } from '../../../testbed/influxd.ts';
import { countsAfterClose, influxCounts, pending, waitUntilWritten } from '../../../testbed/outputs.ts';
import { waitFor } from '../../../testbed/ports.ts';
import { batch, rttResult, throughputResult } from '../../../testbed/results.ts';
import { heartbeatAs, pushAs, TOKEN_ENV, threeSites } from '../../../testbed/topologies.ts';
import { startVictoriaMetrics, type VictoriaMetrics } from '../../support/victoria-metrics.ts';

const SINK_BACKOFF = { backoff: { min_ms: 100, max_ms: 400 } };

function v1Output(url: string, db: string, extra = ''): string {
  return `  - {type: influxdb, version: 1, url: "${url}", db: ${db}, batch_size: 7, flush_interval: 200ms, timeout: 2s${extra}}`;
}

function heartbeat(site: string, time_ms: number, spool_queued = 0): Heartbeat {
  return {
    site,
    version: WANWATCH_VERSION,
    time_ms,
    started_at_ms: time_ms - 60_000,
    plan_version: null,
    spool_queued,
    spool_dropped: 0,
    errors: 0,
  };
}

/** Rounds from a to b at `rtt` ms and from b to a at 20 ms, 1 s apart ending now; one failed round. */
async function pushRounds(c: TestCollector, n: number, rtt: number, t0 = Date.now() - n * 1000) {
  const ab = Array.from({ length: n }, (_, i) => rttResult('a', 'b', t0 + i * 1000, [rtt, rtt + 1, rtt + 2]));
  const ba = Array.from({ length: n }, (_, i) => rttResult('b', 'a', t0 + i * 1000 + 1, [20, 21, null]));
  ba.splice(1, 0, rttResult('b', 'a', t0 + 1500, [null, null]));
  await pushAs(c.url, 'a', ab);
  await pushAs(c.url, 'b', ba);
  return [...ab, ...ba];
}

const warnings = (c: TestCollector, what: string) =>
  c.logs.filter((l) => l.includes('"level":"warn"') && l.includes(what));

describe("the collector's InfluxDB 1.6.7 output (/write)", () => {
  let influx: Influxd;
  beforeAll(async () => {
    influx = await startInfluxd();
  });
  afterAll(async () => {
    await influx?.close();
  });

  it('copies every result, link status point, alert event and heartbeat the collector stores, with its values', async () => {
    await influx.createDatabase('w1');
    const c = await startTestCollector(threeSites({ outputs: v1Output(influx.url, 'w1') }), {
      env: TOKEN_ENV,
      sinks: SINK_BACKOFF,
    });
    try {
      const t0 = Date.now() - 10_000;
      const rounds = await pushRounds(c, 8, 120, t0);
      const tput = { ...throughputResult('a', 'c', t0 + 500, 12_000_000), loaded_rtt: rounds[0]!.rtt };
      await pushAs(c.url, 'a', [tput]);
      for (const site of ['a', 'b', 'c']) await heartbeatAs(c.url, heartbeat(site, t0 + site.charCodeAt(0)));
      await heartbeatAs(c.url, heartbeat('a', t0 + 5000, 3));
      // Evaluation turns the 120 ms rounds into an rtt_high alert on a → b.
      await eventually(
        () => c.store.recentAlertEvents(10).find((e) => e.value.dedup_key === 'wanwatch/rtt_high/a--b'),
        5000,
        'rtt_high firing on a → b',
      );
      await waitUntilWritten(c);
      const counts = await countsAfterClose(c);
      expect(counts[MEASUREMENTS.rtt]).toBe(rounds.length);
      expect(counts[MEASUREMENTS.agent]).toBe(4);
      expect(counts[MEASUREMENTS.link]).toBeGreaterThan(0);
      expect(await influxCounts(influx, 'w1')).toEqual(counts);

      // Values arrive as pushed: an RTT round, the throughput test, the alert, a heartbeat.
      const r = rounds[3]!;
      const [rtt] = await influx.query(
        `SELECT rtt_p95_ms, loss_percent, sent, jitter_ms FROM wanwatch_rtt WHERE src = '${r.src}' AND dst = '${r.dst}' AND time = ${r.time_ms}ms`,
        'w1',
      );
      expect(rtt?.series?.[0]?.values).toEqual([
        [r.time_ms, r.rtt?.rtt_p95_ms, r.rtt?.loss_percent, r.rtt?.sent, r.rtt?.jitter_ms],
      ]);
      const [failed] = await influx.query(
        `SELECT COUNT(duration_ms) FROM wanwatch_rtt WHERE ok = 'false' AND "error" = 'timeout' GROUP BY src`,
        'w1',
      );
      expect(failed?.series?.map((s) => [s.tags?.src, s.values[0]?.[1]])).toEqual([['b', 1]]);
      const [t] = await influx.query(
        `SELECT goodput_bps, loaded_rtt_p95_ms, direction FROM wanwatch_throughput WHERE time = ${tput.time_ms}ms`,
        'w1',
      );
      expect(t?.series?.[0]?.values).toEqual([[tput.time_ms, 12_000_000, 121.9, 'forward']]);
      const [alert] = await influx.query(
        `SELECT firing, observed, threshold, summary FROM wanwatch_alert WHERE "rule" = 'rtt_high' AND link = 'a--b'`,
        'w1',
      );
      // p95 over every sample of the window's rounds from a to b.
      const samples = rounds.filter((x) => x.src === 'a').flatMap((x) => x.rtt?.samples_ms ?? []);
      const p95 = percentileSorted(
        samples.map(Number).sort((x, y) => x - y),
        95,
      );
      expect(alert?.series?.[0]?.values[0]?.slice(1, 4)).toEqual([1, p95, 80]);
      expect(alert?.series?.[0]?.values[0]?.[4]).toContain(
        `p95 RTT ${p95} ms > 80 ms on a ↔ b (a → b ${p95} ms)`,
      );
      const [hb] = await influx.query(
        `SELECT spool_queued, uptime_s FROM wanwatch_agent WHERE site = 'a'`,
        'w1',
      );
      expect(hb?.series?.[0]?.values).toEqual([
        [t0 + 97, 0, 60],
        [t0 + 5000, 3, 60],
      ]);
      // The link status carries the link's requirement: a–b needs 5 Mbps (one subcluster).
      const [req] = await influx.query(
        `SELECT LAST(required_bps), LAST(max_rtt_ms) FROM wanwatch_link WHERE src = 'a' AND dst = 'b'`,
        'w1',
      );
      expect(req?.series?.[0]?.values[0]?.slice(1)).toEqual([5_000_000, 80]);
    } finally {
      await c.dispose();
    }
  });

  it('loses nothing and duplicates nothing while InfluxDB is down, and says so once per outage with the URL and what to do', async () => {
    await influx.createDatabase('w2');
    const c = await startTestCollector(threeSites({ outputs: v1Output(influx.url, 'w2') }), {
      env: TOKEN_ENV,
      sinks: SINK_BACKOFF,
    });
    try {
      await pushRounds(c, 5, 20, Date.now() - 20_000);
      await heartbeatAs(c.url, heartbeat('a', Date.now()));
      await waitUntilWritten(c);
      const sink = c.sinks().sinks[0]!;

      await influx.stop();
      // Ingest and evaluation go on: pushes are answered at once, and slow rounds raise an alert.
      const t = Date.now() - 5000;
      for (let i = 0; i < 3; i++) {
        const started = performance.now();
        await pushRounds(c, 4, 150, t + i * 100); // rounds 1 s apart: times do not repeat
        await heartbeatAs(c.url, heartbeat('b', t + i * 1000, i));
        expect(performance.now() - started).toBeLessThan(1000);
      }
      await eventually(
        () => c.store.recentAlertEvents(10).find((e) => e.value.dedup_key === 'wanwatch/rtt_high/a--b'),
        5000,
        'rtt_high on a → b during the outage',
      );
      await eventually(() => (sink.failing ? true : undefined), 5000, 'the sink to notice the outage');
      await new Promise((r) => setTimeout(r, 1500)); // several retries (backoff 100 → 400 ms)
      // The cursors stayed where the last write that succeeded left them.
      expect(pending(c.store, sink.name).results).toBeGreaterThan(0);
      expect(pending(c.store, sink.name).alert_events).toBeGreaterThan(0);
      const outage = warnings(c, 'cannot be written');
      expect(outage).toHaveLength(1);
      expect(outage[0]).toContain(`InfluxDB output influxdb:${influx.url}?db=w2 cannot be written`);
      expect(outage[0]).toContain(`check that InfluxDB is running and reachable at ${influx.url}`);
      expect(outage[0]).toContain('Nothing is lost');

      await influx.start();
      await waitUntilWritten(c);
      expect(await influxCounts(influx, 'w2')).toEqual(await countsAfterClose(c));
      expect(c.logs.filter((l) => l.includes('is writing again'))).toHaveLength(1);
      expect(warnings(c, 'cannot be written')).toHaveLength(1);
    } finally {
      await c.dispose();
    }
  });

  it('sets aside the rows InfluxDB refuses (a result dated 2300, a field type conflict), counts and shows them, and every stream goes on', async () => {
    await influx.createDatabase('bad');
    const t0 = Date.now() - 20_000;
    // goodput_bps is a float in wanwatch's schema; a string already in the shard makes InfluxDB refuse it.
    const conflict = await fetch(`${influx.url}/write?db=bad&precision=ms`, {
      method: 'POST',
      body: `wanwatch_throughput,src=z,dst=z goodput_bps="not a number" ${t0 - 1000}`,
    });
    expect(conflict.status).toBe(204);
    const c = await startTestCollector(threeSites({ outputs: v1Output(influx.url, 'bad') }), {
      env: TOKEN_ENV,
      sinks: SINK_BACKOFF,
    });
    try {
      const year2300 = rttResult('a', 'b', Date.UTC(2300, 0, 1), [20, 21, 22]);
      const refusedTput = throughputResult('a', 'c', t0, 9_000_000);
      const backslash = rttResult('a', 'b\\', t0 + 100, [20, 21, 22]);
      // The bad rows come first, in the middle of a batch (batch_size 7), with good rows after them.
      // Ingest now refuses a time past the clock skew and a dst that is no peer (ingest-checks.ts), so
      // they go into the store directly, as a store from before that check may hold them.
      c.store.ingestBatch(
        batch('a', [rttResult('a', 'b', t0, [20]), year2300, refusedTput, backslash]),
        Date.now(),
      );
      await pushRounds(c, 8, 150, t0 + 1000);
      await heartbeatAs(c.url, heartbeat('a', t0 + 2000));
      await eventually(
        () => c.store.recentAlertEvents(10).find((e) => e.value.dedup_key === 'wanwatch/rtt_high/a--b'),
        5000,
        'rtt_high on a → b',
      );
      await waitUntilWritten(c);

      const reply = outputsReplySchema.parse(await (await fetch(`${c.url}/api/v1/outputs`)).json());
      const [out] = reply.outputs;
      expect(out).toMatchObject({ failing: false, refused_rows: 2, refused_since_start: 2 });
      expect(out?.refused_recent.map((r) => [r.stream, r.reason])).toEqual([
        [
          'results',
          'InfluxDB answered 400: partial write: field type conflict: input field "goodput_bps" on measurement "wanwatch_throughput" is type float, already exists as type string dropped=1',
        ],
        [
          'results',
          'not written: its time 2300-01-01T00:00:00.000Z is outside what InfluxDB can store (1677-09-21 to 2262-04-11)',
        ],
      ]);
      expect(out?.refused_recent[0]?.line).toMatch(/^wanwatch_throughput,direction=forward,dst=c,/);
      const errors = c.logs.filter((l) => l.includes('"level":"error"') && l.includes('set aside'));
      // One line per batch, at error level, with the first reason.
      expect(errors).toHaveLength(1);
      expect(errors[0]).toContain(
        `InfluxDB output influxdb:${influx.url}?db=bad refused 2 rows of results (seq 2: not written: its time 2300-01-01`,
      );
      expect(warnings(c, 'Nothing is lost')).toEqual([]);

      // Everything else arrived: the rows after the refused ones, link status, alert events, heartbeats.
      const counts = await countsAfterClose(c);
      expect(await influxCounts(influx, 'bad')).toEqual({
        ...counts,
        [MEASUREMENTS.rtt]: counts[MEASUREMENTS.rtt]! - 1,
        [MEASUREMENTS.throughput]: counts[MEASUREMENTS.throughput]! - 1,
      });
      expect(counts[MEASUREMENTS.alert]).toBeGreaterThan(0);
      expect(counts[MEASUREMENTS.link]).toBeGreaterThan(0);
      // A destination ending in a backslash arrives with a space after it (InfluxDB cannot store it as is).
      const [dsts] = await influx.query('SHOW TAG VALUES FROM wanwatch_rtt WITH KEY = dst', 'bad');
      expect(dsts?.series?.[0]?.values.map((v) => v[1])).toEqual(['a', 'b', 'b\\ ']);
    } finally {
      await c.dispose();
    }
  });

  it('stops the old outputs and starts the new ones when a reloaded topology changes outputs:, and the new ones catch up from the start', async () => {
    await influx.createDatabase('r1');
    await influx.createDatabase('r2');
    const c = await startTestCollector(threeSites({ outputs: v1Output(influx.url, 'r1') }), {
      env: TOKEN_ENV,
      sinks: SINK_BACKOFF,
      watch: false,
    });
    try {
      const first = await pushRounds(c, 3, 20);
      await waitUntilWritten(c);
      writeFileSync(c.configPath, threeSites({ outputs: v1Output(influx.url, 'r2') }));
      expect(c.reload()).toBe(true);
      await eventually(() => (c.sinks().sinks[0]?.name.endsWith('db=r2') ? true : undefined));
      const second = await pushRounds(c, 3, 20);
      await waitUntilWritten(c);
      const rtt = async (db: string) => (await influxCounts(influx, db))[MEASUREMENTS.rtt];
      expect(await rtt('r2')).toBe(first.length + second.length);
      expect(await rtt('r1')).toBe(first.length);
      expect(c.logs.filter((l) => l.includes('InfluxDB output started'))).toHaveLength(2);
    } finally {
      await c.dispose();
    }
  });
});

describe('outputs that cannot be written never hold up the collector', () => {
  it('an InfluxDB that accepts connections and never answers delays neither ingest nor evaluation', async () => {
    const sockets: Socket[] = [];
    const silent: Server = createServer((s) => sockets.push(s));
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    const port = (silent.address() as { port: number }).port;
    const c = await startTestCollector(
      threeSites({
        outputs: v1Output(`http://127.0.0.1:${port}`, 'x').replace('timeout: 2s', 'timeout: 1s'),
      }),
      { env: TOKEN_ENV, sinks: SINK_BACKOFF },
    );
    try {
      for (let i = 0; i < 5; i++) {
        const started = performance.now();
        await pushRounds(c, 5, 150, Date.now() - 10_000 + i);
        expect(performance.now() - started).toBeLessThan(500);
      }
      await eventually(
        () => c.store.recentAlertEvents(10).find((e) => e.value.dedup_key === 'wanwatch/rtt_high/a--b'),
        5000,
        'rtt_high on a → b',
      );
      await eventually(() => (warnings(c, 'cannot be written').length > 0 ? true : undefined), 5000);
      expect(warnings(c, 'cannot be written')[0]).toMatch(/timed out|timeout/i);
    } finally {
      const closing = performance.now();
      await c.dispose();
      expect(performance.now() - closing).toBeLessThan(3000);
      for (const s of sockets) s.destroy();
      silent.close();
    }
  });

  it('an output whose secret is not in the environment is logged and left out, and the others run', async () => {
    const dir = tempDir('sinks');
    const store = Store.open(dir);
    const logs: string[] = [];
    const running = startSinks(
      {
        outputs: [
          {
            type: 'influxdb',
            version: 1,
            url: 'http://127.0.0.1:9',
            db: 'a',
            username: 'w',
            password_env: 'WANWATCH_TEST_NO_SUCH_VAR',
            batch_size: 10,
            flush_interval: 1000,
            timeout: 1000,
          },
          {
            type: 'influxdb',
            version: 2,
            url: 'http://127.0.0.1:9',
            bucket: 'b',
            token_env: 'WANWATCH_TEST_TOKEN',
            batch_size: 10,
            flush_interval: 1000,
            timeout: 1000,
          },
        ],
      },
      store,
      createLogger({}, (l) => logs.push(l)),
      { env: { WANWATCH_TEST_TOKEN: 't' } },
    );
    try {
      expect(running.sinks.map((s) => s.name)).toEqual(['influxdb:http://127.0.0.1:9?bucket=b']);
      expect(logs.filter((l) => l.includes('"level":"error"'))).toEqual([
        expect.stringContaining(
          'environment variable WANWATCH_TEST_NO_SUCH_VAR (the InfluxDB 1.x password) is not set in the collector',
        ),
      ]);
    } finally {
      await running.close();
      store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("the collector's version 2 output (/api/v2/write) into VictoriaMetrics", () => {
  let vm: VictoriaMetrics;
  beforeAll(async () => {
    vm = await startVictoriaMetrics();
  });
  afterAll(async () => {
    await vm?.close();
  });

  it('arrives point for point, with tags as labels and field names as metric suffixes', async () => {
    const c = await startTestCollector(
      threeSites({
        outputs: `  - {type: influxdb, version: 2, url: "${vm.url}", org: ops, bucket: wanwatch, token_env: VM_TOKEN, batch_size: 10, flush_interval: 200ms}`,
      }),
      { env: { ...TOKEN_ENV, VM_TOKEN: 'secret' }, sinks: SINK_BACKOFF },
    );
    try {
      const rounds = await pushRounds(c, 6, 30);
      const tputs = [
        throughputResult('a', 'b', Date.now() - 3000, 8_000_000),
        throughputResult('a', 'b', Date.now() - 2000, 4_500_000, 'reverse'),
      ];
      await pushAs(c.url, 'a', tputs);
      await eventually(
        () => c.store.linkStatusAfter(0, 1000).find((p) => p.value.src === 'a' && p.value.state === 'ok'),
        5000,
        'a → b judged ok',
      );
      await waitUntilWritten(c);
      const measured = rounds.filter((r) => r.rtt?.rtt_p95_ms !== null);
      let series: Awaited<ReturnType<VictoriaMetrics['exportSeries']>> = [];
      await waitFor('the RTT points in VictoriaMetrics', async () => {
        series = await vm.exportSeries('{__name__="wanwatch_rtt_rtt_p95_ms"}');
        return series.reduce((a, s) => a + s.values.length, 0) === measured.length;
      });
      for (const r of measured) {
        const s = series.find((x) => x.metric.src === r.src && x.metric.dst === r.dst);
        expect(s?.metric).toMatchObject({ method: 'udp', ok: 'true', jitter_method: 'rtt-ipdv' });
        const i = s?.timestamps.indexOf(r.time_ms) ?? -1;
        expect(s?.values[i]).toBeCloseTo(r.rtt?.rtt_p95_ms ?? Number.NaN, 9);
      }
      const goodput = await vm.exportSeries('{__name__="wanwatch_throughput_goodput_bps"}');
      expect(goodput.map((s) => [s.metric.src, s.metric.dst, s.metric.direction, s.values]).sort()).toEqual([
        ['a', 'b', 'forward', [8_000_000]],
        ['a', 'b', 'reverse', [4_500_000]],
      ]);
      // The collector's verdicts arrive too, every one: stop it (its output writes what is left) and
      // count what its store holds.
      const links = (await countsAfterClose(c))[MEASUREMENTS.link];
      await waitFor('every link status point in VictoriaMetrics', async () => {
        const state = await vm.exportSeries('{__name__="wanwatch_link_state_code"}');
        return state.reduce((a, s) => a + s.values.length, 0) === links;
      });
      const ab = await vm.exportSeries('{__name__="wanwatch_link_state_code", src="a", dst="b"}');
      expect(ab.find((s) => s.metric.state === 'ok')?.values).toContain(0);
    } finally {
      await c.dispose();
    }
  });
});
