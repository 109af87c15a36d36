// The InfluxDB output through a long outage: a real collector takes 50 results a second (and a heartbeat
// a second) over HTTP while InfluxDB 1.6.7 is stopped for two minutes; after it returns, every point the
// collector stored (results, link status, alert events, heartbeats) must arrive, once (InfluxQL COUNT).
// Run: npx tsx bench/influx-soak.ts [outage_seconds]
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startCollector } from '../collector/collector.ts';
import { createLogger } from '../shared/log.ts';
import { WANWATCH_VERSION } from '../shared/version.ts';
import { tempDir } from '../testbed/collector.ts';
import { startInfluxd } from '../testbed/influxd.ts';
import { influxCounts, pending, storeCounts } from '../testbed/outputs.ts';
import { waitFor } from '../testbed/ports.ts';
import { rttResult } from '../testbed/results.ts';
import { heartbeatAs, pushAs, TOKEN_ENV, threeSites } from '../testbed/topologies.ts';

const outageS = Number(process.argv[2] ?? 120);
const RATE = 50; // results a second
const say = (s: string) => process.stdout.write(`${new Date().toISOString().slice(11, 19)} ${s}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const influx = await startInfluxd();
const dir = tempDir('influx-soak');
const configPath = join(dir, 'topology.yaml');
writeFileSync(
  configPath,
  threeSites({
    outputs: `  - {type: influxdb, version: 1, url: "${influx.url}", db: soak, batch_size: 1000, flush_interval: 500ms, timeout: 5s}`,
  }),
);
await influx.createDatabase('soak');
const logs: string[] = [];
const c = await startCollector({
  configPath,
  listen: '127.0.0.1:0',
  dataDir: join(dir, 'data'),
  env: TOKEN_ENV,
  sinks: { backoff: { min_ms: 500, max_ms: 10_000 } },
  log: createLogger({}, (l) => logs.push(l)),
});

// The producer: every 100 ms, 5 rounds from a to b; every second a heartbeat from a. One five-second
// stretch in every 25 s is slow (150 ms > 80), so rtt_high fires and the link status changes.
let i = 0;
let stop = false;
let pushFailures = 0;
const producer = (async () => {
  const started = Date.now();
  while (!stop) {
    const slow = Math.floor((Date.now() - started) / 5000) % 5 === 4;
    const now = Date.now();
    const batch = Array.from({ length: RATE / 10 }, (_, k) =>
      rttResult('a', 'b', now - 1000 + k, slow ? [150, 151, 152] : [20, 21, 22]),
    );
    i += batch.length;
    try {
      await pushAs(c.url, 'a', batch);
      if (i % RATE === 0)
        await heartbeatAs(c.url, {
          site: 'a',
          version: WANWATCH_VERSION,
          time_ms: now,
          started_at_ms: started,
          plan_version: null,
          spool_queued: 0,
          spool_dropped: 0,
          errors: 0,
        });
    } catch {
      pushFailures++;
    }
    await sleep(100);
  }
})();

try {
  await waitFor('the output to start', async () => c.sinks().sinks.length === 1);
  const sink = c.sinks().sinks[0];
  if (!sink) throw new Error('the output did not start');
  await sleep(10_000);
  say(`before the outage: ${c.store.countResults()} results stored, ${sink.written} points written`);
  await influx.stop();
  say(`influxd stopped for ${outageS} s`);
  await sleep(outageS * 1000);
  const waiting = pending(c.store, sink.name);
  const warns = logs.filter((l) => l.includes('"level":"warn"') && l.includes('cannot be written'));
  say(
    `during the outage the store grew to ${c.store.countResults()} results; waiting for the output: ${JSON.stringify(waiting)}`,
  );
  say(`warnings logged during the outage: ${warns.length}`);
  for (const w of warns) say(`  ${(JSON.parse(w) as { msg: string }).msg}`);
  await influx.start();
  const back = Date.now();
  say('influxd is back');
  await waitFor(
    'the output to catch up',
    async () => !sink.failing && pending(c.store, sink.name).results < RATE,
    300_000,
  );
  say(`the backlog was written ${((Date.now() - back) / 1000).toFixed(1)} s after influxd returned`);
  await sleep(Math.max(0, back + 10_000 - Date.now()));
  stop = true;
  await producer;
  const t0 = Date.now();
  await waitFor(
    'the output to catch up',
    async () => !sink.failing && Object.values(pending(c.store, sink.name)).every((n) => n === 0),
    300_000,
  );
  say(`caught up ${((Date.now() - t0) / 1000).toFixed(1)} s after the producer stopped`);
  const want = storeCounts(c.store);
  const got = await influxCounts(influx, 'soak');
  say(`stored    ${JSON.stringify(want)}`);
  say(`InfluxDB  ${JSON.stringify(got)}`);
  const same = JSON.stringify(want) === JSON.stringify(got);
  say(
    same
      ? `every point arrived, once (${i} results pushed, ${pushFailures} pushes failed)`
      : 'MISMATCH between the store and InfluxDB',
  );
  if (!same || pushFailures > 0) process.exitCode = 1;
} finally {
  stop = true;
  await producer;
  await c.close();
  await influx.close();
  rmSync(dir, { recursive: true, force: true });
}
