// How many results per second the collector stores: several concurrent clients on loopback POST
// batches of 100 RTT results (each with 5 samples) to a real collector writing to SQLite in a temp dir
// (on disk: fsync costs what it costs there). It runs twice in one go, to show what durable commits
// cost: first with the store at synchronous=NORMAL (what wanwatch ran before: a power loss can roll back
// batches already acknowledged), then at synchronous=FULL (what the store runs: an acknowledged batch
// is on disk), taking turns, and prints the median of each.
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

type Sync = 'NORMAL' | 'FULL';

interface Run {
  sync: Sync;
  stored: number;
  seconds: number;
  batches: number;
}

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

async function run(sync: Sync): Promise<Run> {
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
  // The store opens at FULL; the comparison run puts the same connection back to NORMAL.
  collector.store.db.pragma(`synchronous = ${sync}`);

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
  bytes = bodies[0]?.[0]?.length ?? 0;

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
  if (total !== stored) throw new Error(`stored ${stored} but the store counts ${total}`);
  return { sync, stored, seconds, batches: clients * batchesPerClient };
}

let bytes = 0;
// A first run warms up the JIT and the disk; then the two settings take turns, three runs each, and the
// median of each is reported, so a noisy neighbour on the machine weighs on both alike.
await run('NORMAL');
const runs: Run[] = [];
for (let i = 0; i < 3; i++) runs.push(await run('NORMAL'), await run('FULL'));
const median = (sync: Sync): Run => {
  const mine = runs.filter((r) => r.sync === sync).sort((a, b) => a.seconds - b.seconds);
  return mine[Math.floor(mine.length / 2)] as Run;
};
console.log(
  `clients ${clients}, ${batchesPerClient} batches each of ${perBatch} results (${(bytes / 1024).toFixed(1)} KiB per batch), store in ${tmpdir()}; median of 3 runs each`,
);
const normal = median('NORMAL');
const full = median('FULL');
for (const r of [normal, full]) {
  console.log(
    `synchronous=${r.sync.padEnd(6)} ${r.stored} results in ${r.seconds.toFixed(2)} s: ${Math.round(r.stored / r.seconds)} results/s, ${Math.round(r.batches / r.seconds)} batches/s`,
  );
}
const cost = ((full.seconds - normal.seconds) / normal.seconds) * 100;
console.log(
  `durable commits (FULL) take ${cost.toFixed(0)} % ${cost >= 0 ? 'more' : 'less'} time than NORMAL`,
);
