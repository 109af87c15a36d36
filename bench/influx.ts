// How many points a second the InfluxDB sink sustains into a real InfluxDB 1.6.7 on loopback, reading
// the collector's real SQLite store.
//   1. backlog: the store already holds `rows` RTT results (as after an outage); time the sink's drain.
//   2. live: a real collector with an `outputs:` entry takes `rows` results over HTTP (batches of 500,
//      site token) while its output writes them; time until InfluxDB counts every point.
// Run: npx tsx bench/influx.ts [rows] [batch_size]
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startCollector } from '../collector/collector.ts';
import { InfluxSink } from '../collector/sinks/influx.ts';
import { Store } from '../collector/store/store.ts';
import { createLogger } from '../shared/log.ts';
import type { Result } from '../shared/result.ts';
import { tempDir } from '../testbed/collector.ts';
import { startInfluxd } from '../testbed/influxd.ts';
import { waitFor } from '../testbed/ports.ts';
import { batch, rttResult } from '../testbed/results.ts';
import { pushAs, TOKEN_ENV, threeSites } from '../testbed/topologies.ts';

const rows = Number(process.argv[2] ?? 100_000);
const batchSizes = process.argv[3] ? [Number(process.argv[3])] : [500, 5000];
const quiet = createLogger({}, () => {});
const say = (s: string) => process.stdout.write(`${s}\n`);
const rate = (n: number, s: number) => Math.round(n / s).toLocaleString('en');

/** RTT rounds from site a to b and c, 10 ms apart, ending an hour ago. */
function results(n: number, offset = 0): Result[] {
  const start = Date.now() - 3_600_000 - n * 10;
  return Array.from({ length: n }, (_, i) =>
    rttResult('a', i % 2 ? 'b' : 'c', start + (offset + i) * 10, [20 + (i % 7), 21, 22, 23, 24 + (i % 3)]),
  );
}

async function count(influx: Awaited<ReturnType<typeof startInfluxd>>, db: string): Promise<number> {
  const [r] = await influx.query('SELECT COUNT("sent") FROM wanwatch_rtt', db);
  return Number(r?.series?.[0]?.values[0]?.[1] ?? 0);
}

const influx = await startInfluxd();
const dirs: string[] = [];
try {
  // 1. Backlog in the real store.
  const dir = tempDir('bench-influx');
  dirs.push(dir);
  const store = Store.open(dir);
  const all = results(rows);
  for (let i = 0; i < all.length; i += 1000)
    store.ingestBatch(batch('a', all.slice(i, i + 1000)), Date.now());
  for (const size of batchSizes) {
    const db = `bench_${size}`;
    await influx.createDatabase(db);
    const sink = new InfluxSink(
      {
        type: 'influxdb',
        version: 1,
        url: influx.url,
        db,
        batch_size: size,
        flush_interval: 1000,
        timeout: 30_000,
      },
      store,
      quiet,
    );
    const t0 = performance.now();
    const n = await sink.drain();
    const s = (performance.now() - t0) / 1000;
    await sink.close();
    say(
      `backlog, batch_size ${String(size).padStart(5)}: ${n} points in ${s.toFixed(2)} s = ${rate(n, s)} points/s (InfluxDB counts ${await count(influx, db)})`,
    );
  }
  store.close();

  // 2. Live, through a real collector.
  const cdir = tempDir('bench-influx-collector');
  dirs.push(cdir);
  const configPath = join(cdir, 'topology.yaml');
  writeFileSync(
    configPath,
    threeSites({
      outputs: `  - {type: influxdb, version: 1, url: "${influx.url}", db: live, batch_size: 5000, flush_interval: 1s, timeout: 30s}`,
    }),
  );
  await influx.createDatabase('live');
  const c = await startCollector({
    configPath,
    listen: '127.0.0.1:0',
    dataDir: join(cdir, 'data'),
    env: TOKEN_ENV,
    log: quiet,
  });
  try {
    const live = results(rows, rows);
    const t0 = performance.now();
    for (let i = 0; i < live.length; i += 500) await pushAs(c.url, 'a', live.slice(i, i + 500));
    const ingested = (performance.now() - t0) / 1000;
    await waitFor('every point in InfluxDB', async () => (await count(influx, 'live')) >= rows, 600_000);
    const s = (performance.now() - t0) / 1000;
    say(
      `live, batch_size  5000: ${rows} results pushed over HTTP in ${ingested.toFixed(2)} s (${rate(rows, ingested)}/s); all in InfluxDB after ${s.toFixed(2)} s = ${rate(rows, s)} points/s (InfluxDB counts ${await count(influx, 'live')})`,
    );
  } finally {
    await c.close();
  }
} finally {
  await influx.close();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
}
