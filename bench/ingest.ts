// How many results per second the collector stores: several concurrent clients on loopback POST
// batches of 100 RTT results (each with 5 samples) to a real collector writing to SQLite in a temp dir.
//   npx tsx bench/ingest.ts [clients=4] [batches per client=200] [results per batch=100]

import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startCollector } from '../collector/collector.ts';
import { createLogger } from '../shared/log.ts';
import type { RttResult } from '../shared/result.ts';
import { summarizeRtt } from '../shared/stats.ts';

const clients = Number(process.argv[2] ?? 4);
const batchesPerClient = Number(process.argv[3] ?? 200);
const perBatch = Number(process.argv[4] ?? 100);

const dir = mkdtempSync(join(tmpdir(), 'wanwatch-bench-ingest-'));
const configPath = join(dir, 'topology.yaml');
writeFileSync(
  configPath,
  `sites:
  a: {address: 127.0.0.1, token_env: BENCH_TOKEN}
  b: {address: 127.0.0.2}
clusters:
  east: {subclusters: {sc1: {nodes: {n1: a, n2: b}}}}
probes: {heartbeat: {interval: 1h, timeout: 1h}}
`,
);

const collector = await startCollector({
  configPath,
  listen: '127.0.0.1:0',
  dataDir: join(dir, 'data'),
  env: { BENCH_TOKEN: 'bench' },
  watch: false,
  log: createLogger({}, () => {}),
});

function result(t: number): RttResult {
  const samples = [10 + Math.random(), 11 + Math.random(), 12, null, 10.5];
  return {
    id: randomUUID(),
    kind: 'rtt',
    method: 'udp',
    src: 'a',
    dst: 'b',
    target: '127.0.0.2:4789',
    time_ms: t,
    duration_ms: 1000,
    error: null,
    rtt: summarizeRtt(samples),
  };
}

// Bodies are built before the clock starts: the number is the collector's, not the client's.
const bodies = Array.from({ length: clients }, () =>
  Array.from({ length: batchesPerClient }, () =>
    JSON.stringify({
      batch_id: randomUUID(),
      site: 'a',
      results: Array.from({ length: perBatch }, () => result(Date.now())),
    }),
  ),
);
const bytes = bodies[0]?.[0]?.length ?? 0;

const started = process.hrtime.bigint();
let stored = 0;
await Promise.all(
  bodies.map(async (mine) => {
    for (const body of mine) {
      const res = await fetch(`${collector.url}/api/v1/results`, {
        method: 'POST',
        headers: { authorization: 'Bearer bench', 'content-type': 'application/json' },
        body,
      });
      if (!res.ok) throw new Error(`HTTP ${res.status}: ${await res.text()}`);
      stored += ((await res.json()) as { stored: number }).stored;
    }
  }),
);
const seconds = Number(process.hrtime.bigint() - started) / 1e9;
const total = collector.store.countResults();
await collector.close();
rmSync(dir, { recursive: true, force: true });

console.log(
  `clients ${clients}, ${batchesPerClient} batches each of ${perBatch} results (${(bytes / 1024).toFixed(1)} KiB per batch)`,
);
console.log(`stored ${stored} results (store count ${total}) in ${seconds.toFixed(2)} s`);
console.log(
  `${Math.round(stored / seconds)} results/s, ${Math.round((clients * batchesPerClient) / seconds)} batches/s`,
);
