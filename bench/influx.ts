// How many points a second the InfluxDB sink sustains into a real InfluxDB 1.6.7 on loopback.
// Run: npx tsx bench/influx.ts [rows] [batch_size]
import { InfluxSink } from '../collector/sinks/influx.ts';
import { createLogger } from '../shared/log.ts';
import type { Result } from '../shared/result.ts';
import { startInfluxd } from '../test/support/influxd.ts';
import { MemorySource } from '../test/support/memory-source.ts';
import { sampleData, uuidOf } from '../test/support/sample-data.ts';

const rows = Number(process.argv[2] ?? 100_000);
const batchSizes = process.argv[3] ? [Number(process.argv[3])] : [500, 5000];

const influx = await startInfluxd();
try {
  const template = sampleData(0, 1).results[0] as Result;
  const start = Date.now() - 86_400_000;
  const sites = ['dallas', 'london', 'tokyo', 'sydney', 'paris'];
  for (const batch of batchSizes) {
    const db = `bench_${batch}`;
    await influx.createDatabase(db);
    const source = new MemorySource();
    for (let i = 0; i < rows; i++) {
      source.addResult({
        ...template,
        id: uuidOf(`bench/${i}`),
        src: sites[i % 5] as string,
        dst: sites[(i + 1 + (Math.floor(i / 5) % 4)) % 5] as string,
        time_ms: start + i * 10,
      });
    }
    const sink = new InfluxSink(
      {
        type: 'influxdb',
        version: 1,
        url: influx.url,
        db,
        batch_size: batch,
        flush_interval: 1000,
        timeout: 30_000,
      },
      source,
      createLogger({}, () => {}),
    );
    const t0 = performance.now();
    const n = await sink.drain();
    const s = (performance.now() - t0) / 1000;
    await sink.close();
    const [r] = await influx.query('SELECT COUNT("sent") FROM wanwatch_rtt', db);
    const stored = r?.series?.[0]?.values[0]?.[1];
    process.stdout.write(
      `batch_size ${String(batch).padStart(5)}: ${n} points in ${s.toFixed(2)} s = ${Math.round(n / s).toLocaleString('en')} points/s (InfluxDB counts ${stored})\n`,
    );
  }
} finally {
  await influx.close();
}
