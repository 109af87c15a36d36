// The InfluxDB sink through a long outage: results keep arriving in the store while InfluxDB 1.6.7 is
// stopped for two minutes; after it returns, every point must arrive, once (counted with InfluxQL).
// Run: npx tsx bench/influx-soak.ts [outage_seconds]
import { startSinks } from '../collector/sinks/index.ts';
import { createLogger } from '../shared/log.ts';
import type { Result } from '../shared/result.ts';
import { startInfluxd } from '../test/support/influxd.ts';
import { MemorySource } from '../test/support/memory-source.ts';
import { waitFor } from '../test/support/ports.ts';
import { sampleData, uuidOf } from '../test/support/sample-data.ts';

const outageS = Number(process.argv[2] ?? 120);
const RATE = 50; // results a second into the store
const say = (s: string) => process.stdout.write(`${new Date().toISOString().slice(11, 19)} ${s}\n`);

const influx = await startInfluxd();
const source = new MemorySource();
const template = sampleData(0, 1).results[0] as Result;
let i = 0;
const produce = setInterval(() => {
  for (let k = 0; k < RATE / 10; k++, i++)
    source.addResult({ ...template, id: uuidOf(`soak/${i}`), time_ms: Date.now() - 600_000 + i });
}, 100);
try {
  await influx.createDatabase('soak');
  const sinks = startSinks(
    {
      outputs: [
        {
          type: 'influxdb',
          version: 1,
          url: influx.url,
          db: 'soak',
          batch_size: 1000,
          flush_interval: 500,
          timeout: 5000,
        },
      ],
    },
    source,
    createLogger({ bench: 'influx-soak' }),
    { backoff: { min_ms: 500, max_ms: 10_000 } },
  );
  const sink = sinks.sinks[0]!;
  await new Promise((r) => setTimeout(r, 10_000));
  say(`before the outage: ${source.results.length} stored, ${sink.written} written`);
  await influx.stop();
  say(`influxd stopped for ${outageS} s`);
  await new Promise((r) => setTimeout(r, outageS * 1000));
  const during = source.results.length;
  say(
    `during the outage the store grew to ${during}; the sink's cursor stayed at ${source.getCursor(sink.name, 'results')}`,
  );
  await influx.start();
  say('influxd is back');
  await new Promise((r) => setTimeout(r, 10_000));
  clearInterval(produce);
  const total = source.results.length;
  const t0 = Date.now();
  await waitFor(
    'the sink to catch up',
    async () => source.getCursor(sink.name, 'results') === total,
    300_000,
  );
  say(`caught up ${((Date.now() - t0) / 1000).toFixed(1)} s after the producer stopped`);
  await sinks.close();
  const [r] = await influx.query('SELECT COUNT("sent") FROM wanwatch_rtt', 'soak');
  const counted = Number(r?.series?.[0]?.values[0]?.[1] ?? 0);
  say(
    `stored ${total} results, InfluxDB counts ${counted} points: ${counted === total ? 'every point arrived, once' : 'MISMATCH'}`,
  );
  if (counted !== total) process.exitCode = 1;
} finally {
  clearInterval(produce);
  await influx.close();
}
