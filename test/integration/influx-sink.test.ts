// The InfluxDB sink against real servers: Debian's InfluxDB 1.6.7 through /write (version 1) and
// VictoriaMetrics through /api/v2/write (version 2, the InfluxDB 2.x/3.x path).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSinks } from '../../collector/sinks/index.ts';
import { InfluxSink } from '../../collector/sinks/influx.ts';
import { MEASUREMENTS } from '../../collector/sinks/influx-schema.ts';
import type { InfluxOutputConfig } from '../../shared/config/schema.ts';
import { createLogger } from '../../shared/log.ts';
import { type Influxd, startInfluxd } from '../support/influxd.ts';
import { MemorySource } from '../support/memory-source.ts';
import { waitFor } from '../support/ports.ts';
import { type SampleData, sampleData } from '../support/sample-data.ts';
import { startVictoriaMetrics, type VictoriaMetrics } from '../support/victoria-metrics.ts';

const quiet = createLogger({}, () => {});

function fill(source: MemorySource, d: SampleData): void {
  for (const r of d.results) source.addResult(r);
  for (const s of d.linkStatus) source.addLinkStatus(s);
  for (const e of d.alertEvents) source.addAlertEvent(e);
  for (const h of d.heartbeats) source.addHeartbeat(h);
}

function v1(url: string, db: string, extra: Partial<InfluxOutputConfig> = {}): InfluxOutputConfig {
  return {
    type: 'influxdb',
    version: 1,
    url,
    db,
    batch_size: 7,
    flush_interval: 100,
    timeout: 2000,
    ...extra,
  };
}

describe('InfluxDB 1.6.7 through /write', () => {
  let influx: Influxd;
  beforeAll(async () => {
    influx = await startInfluxd();
  });
  afterAll(async () => {
    await influx?.close();
  });

  async function counts(db: string): Promise<Record<string, number>> {
    const out: Record<string, number> = {};
    const fields: Record<string, string> = {
      [MEASUREMENTS.rtt]: 'duration_ms',
      [MEASUREMENTS.throughput]: 'duration_ms',
      [MEASUREMENTS.link]: 'state_code',
      [MEASUREMENTS.alert]: 'firing',
      [MEASUREMENTS.agent]: 'up',
    };
    for (const [m, f] of Object.entries(fields)) {
      const [r] = await influx.query(`SELECT COUNT("${f}") FROM "${m}"`, db);
      out[m] = Number(r?.series?.[0]?.values[0]?.[1] ?? 0);
    }
    return out;
  }
  const expected = (d: SampleData): Record<string, number> => ({
    [MEASUREMENTS.rtt]: d.results.filter((r) => r.kind === 'rtt').length,
    [MEASUREMENTS.throughput]: d.results.filter((r) => r.kind === 'throughput').length,
    [MEASUREMENTS.link]: d.linkStatus.length,
    [MEASUREMENTS.alert]: d.alertEvents.length,
    [MEASUREMENTS.agent]: d.heartbeats.length,
  });

  it('writes every stored row in batches and advances each cursor to the last row written', async () => {
    await influx.createDatabase('w1');
    const source = new MemorySource();
    const d = sampleData(Date.now() - 3_600_000);
    fill(source, d);
    const sink = new InfluxSink(v1(influx.url, 'w1'), source, quiet);
    const n = await sink.drain();
    await sink.close();
    expect(n).toBe(d.results.length + d.linkStatus.length + d.alertEvents.length + d.heartbeats.length);
    expect(await counts('w1')).toEqual(expected(d));
    expect(source.getCursor(sink.name, 'results')).toBe(source.results.at(-1)?.seq);
    expect(source.getCursor(sink.name, 'agent_heartbeats')).toBe(source.heartbeats.at(-1)?.seq);
    // The values arrive as written: one RTT round read back field by field.
    const r = d.results[5]!;
    if (r.kind !== 'rtt' || !r.rtt) throw new Error('sample 5 is an RTT round');
    const [res] = await influx.query(
      `SELECT rtt_p95_ms, loss_percent, sent FROM wanwatch_rtt WHERE src = '${r.src}' AND dst = '${r.dst}' AND time = ${r.time_ms}ms`,
      'w1',
    );
    expect(res?.series?.[0]?.values).toEqual([[r.time_ms, r.rtt.rtt_p95_ms, r.rtt.loss_percent, r.rtt.sent]]);
  });

  it('loses nothing and duplicates nothing when InfluxDB is down for a while', async () => {
    await influx.createDatabase('w2');
    const source = new MemorySource();
    const before = sampleData(Date.now() - 7_200_000, 6);
    fill(source, before);
    const sinks = startSinks({ outputs: [v1(influx.url, 'w2')] }, source, quiet, {
      backoff: { min_ms: 100, max_ms: 400 },
    });
    const name = sinks.sinks[0]!.name;
    try {
      await waitFor('the first rows in InfluxDB', async () => source.getCursor(name, 'agent_heartbeats') > 0);
      await influx.stop();
      const during = sampleData(Date.now() - 3_600_000, 9);
      fill(source, during);
      sinks.poke();
      // While InfluxDB is away the cursors stay where the last successful write left them.
      await new Promise((r) => setTimeout(r, 1500));
      expect(source.getCursor(name, 'results')).toBeLessThan(source.results.at(-1)!.seq);
      await influx.start();
      await waitFor(
        'the sink to catch up',
        async () => source.getCursor(name, 'agent_heartbeats') === source.heartbeats.at(-1)!.seq,
      );
    } finally {
      await sinks.close();
    }
    const all = expected(before);
    const more = expected(sampleData(Date.now() - 3_600_000, 9));
    expect(await counts('w2')).toEqual(
      Object.fromEntries(Object.entries(all).map(([k, v]) => [k, v + (more[k] ?? 0)])),
    );
  });

  it('authenticates to InfluxDB 1.x with username and password from the environment', () => {
    expect(
      () =>
        new InfluxSink(
          v1(influx.url, 'w3', { username: 'w', password_env: 'WANWATCH_TEST_NO_SUCH_VAR' }),
          new MemorySource(),
          quiet,
          {
            env: {},
          },
        ),
    ).toThrow(/environment variable WANWATCH_TEST_NO_SUCH_VAR \(the InfluxDB 1.x password\) is not set/);
  });
});

describe('the version 2 write path (/api/v2/write) into VictoriaMetrics', () => {
  let vm: VictoriaMetrics;
  beforeAll(async () => {
    vm = await startVictoriaMetrics();
  });
  afterAll(async () => {
    await vm?.close();
  });

  it('arrives point for point, with tags as labels and field names as metric suffixes', async () => {
    const source = new MemorySource();
    const d = sampleData(Date.now() - 600_000, 4);
    fill(source, d);
    const sink = new InfluxSink(
      {
        type: 'influxdb',
        version: 2,
        url: vm.url,
        org: 'ops',
        bucket: 'wanwatch',
        token_env: 'VM_TOKEN',
        batch_size: 10,
        flush_interval: 100,
        timeout: 2000,
      },
      source,
      quiet,
      { env: { VM_TOKEN: 'secret' } },
    );
    await sink.drain();
    await sink.close();
    const rtt = d.results.filter((r) => r.kind === 'rtt' && r.rtt !== null);
    let series: Awaited<ReturnType<VictoriaMetrics['exportSeries']>> = [];
    await waitFor('the RTT points in VictoriaMetrics', async () => {
      series = await vm.exportSeries('{__name__="wanwatch_rtt_rtt_p95_ms"}');
      return series.reduce((a, s) => a + s.values.length, 0) === rtt.length;
    });
    for (const r of rtt) {
      if (r.kind !== 'rtt') continue;
      const s = series.find((x) => x.metric.src === r.src && x.metric.dst === r.dst);
      expect(s?.metric).toMatchObject({ method: 'udp', ok: 'true', jitter_method: 'rtt-ipdv' });
      const i = s?.timestamps.indexOf(r.time_ms) ?? -1;
      expect(s?.values[i]).toBeCloseTo(r.rtt?.rtt_p95_ms ?? Number.NaN, 9);
    }
    const goodput = await vm.exportSeries('{__name__="wanwatch_throughput_goodput_bps"}');
    expect(goodput.reduce((a, s) => a + s.values.length, 0)).toBe(
      d.results.filter((r) => r.kind === 'throughput').length,
    );
    expect(
      goodput.find(
        (s) => s.metric.src === 'dallas' && s.metric.dst === 'london' && s.metric.direction === 'reverse',
      )?.values,
    ).toEqual([4_500_000]);
  });
});
