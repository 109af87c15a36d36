// How many results per second the collector stores, next to what a user would pick instead to store
// them: InfluxDB 1.6.7's /write (Debian's influxd, a private instance on loopback) fed the same results
// as the line protocol wanwatch's InfluxDB output writes (collector/sinks/influx-schema.ts), in the same
// run. Clients on loopback POST batches of RTT rounds (10 samples each, the default) to a real
// `wanwatch collector` process storing in SQLite (synchronous=FULL: an acknowledged batch is on disk)
// and to influxd; the two take turns after a warm-up, and the median of three runs of each is printed,
// for 1 client and for `clients` concurrent ones. The results are those of a 100-site full mesh, each
// batch one site's rounds towards its peers, dated now: the collector judges them as they arrive, as it
// would in service.
//   npx tsx bench/ingest.ts [clients=4] [batches per client=200] [results per batch=100]
// BENCH_SHAPE=link sends every round from one site to one peer instead (one link direction, whose window
// then holds every round sent: the shape this bench had before, a worst case for the evaluation).
// BENCH_BASELINE=DIR also runs the collector of another wanwatch checkout (e.g. `git archive <commit> |
// tar -x -C DIR`, with DIR/node_modules linked to this one's) in the same turns, as "baseline".
import { randomUUID } from 'node:crypto';
import { rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { resultLines } from '../collector/sinks/influx-schema.ts';
import type { RttResult } from '../shared/result.ts';
import { eventually, tempDir } from '../testbed/collector.ts';
import { startInfluxd } from '../testbed/influxd.ts';
import { rttResult } from '../testbed/results.ts';

const maxClients = Number(process.argv[2] ?? 4);
const batchesPerClient = Number(process.argv[3] ?? 200);
const perBatch = Number(process.argv[4] ?? 100);
const SITES = 100;
const names = Array.from({ length: SITES }, (_, i) => `s${String(i).padStart(3, '0')}`);
const token = (s: string) => `bench-token-${s}`;

type Side = 'wanwatch' | 'baseline' | 'influxd';
const baseline = process.env.BENCH_BASELINE;
interface Run {
  side: Side;
  clients: number;
  stored: number;
  seconds: number;
}

/** One site's batch: a round towards each peer in turn, dated now. */
const oneLink = process.env.BENCH_SHAPE === 'link';

function batchOf(mesh: number, k: number): { site: string; results: RttResult[] } {
  const site = oneLink ? 0 : mesh;
  const src = names[site] as string;
  const results: RttResult[] = [];
  for (let i = 0; i < perBatch; i++) {
    const peer = oneLink
      ? (names[1] as string)
      : (names[(site + 1 + ((k * perBatch + i) % (SITES - 1))) % SITES] as string);
    const samples = Array.from({ length: 10 }, () => 10 + Math.random() * 2);
    results.push(rttResult(src, peer, Date.now(), samples, 'icmp'));
  }
  return { site: src, results };
}

/** Runs `clients` clients, each sending its bodies one after another; the seconds it took. */
async function timed(bodies: string[][], send: (body: string, client: number) => Promise<number>) {
  const started = process.hrtime.bigint();
  let stored = 0;
  await Promise.all(
    bodies.map(async (mine, c) => {
      for (const body of mine) {
        const n = await send(body, c);
        stored += n;
      }
    }),
  );
  return { stored, seconds: Number(process.hrtime.bigint() - started) / 1e9 };
}

async function runWanwatch(clients: number, side: 'wanwatch' | 'baseline' = 'wanwatch'): Promise<Run> {
  const root = side === 'baseline' ? `${baseline}/` : new URL('../', import.meta.url).pathname;
  const dir = tempDir('bench-ingest');
  const yaml = [
    'sites:',
    ...names.map((s, i) => `  ${s}: {address: 127.1.${i}.1, token_env: T_${s}}`),
    'clusters:',
    '  one:',
    '    subclusters:',
    ...names.map((s) => `      sc_${s}: {nodes: {n_${s}: ${s}}}`),
    'probes: {throughput: {enabled: false}, heartbeat: {interval: 1h, timeout: 1h}}',
    '',
  ].join('\n');
  writeFileSync(join(dir, 'topology.yaml'), yaml);
  const env = Object.fromEntries(names.map((s) => [`T_${s}`, token(s)]));
  const collector = execa(
    process.execPath,
    [
      `${root}bin/wanwatch.js`,
      'collector',
      '-c',
      join(dir, 'topology.yaml'),
      '--listen',
      '127.0.0.1:0',
      '--data-dir',
      join(dir, 'data'),
    ],
    { env, reject: false },
  );
  let out = '';
  collector.stdout?.on('data', (d: Buffer) => {
    out += d.toString();
  });
  try {
    const url = await eventually(() => /listening on (\S+)/.exec(out)?.[1], 60_000, 'the collector');
    // Its first evaluation observes every link and stores every alert's state: a start's cost, not ingest's.
    await new Promise((r) => setTimeout(r, 5000));
    // Bodies are built before the clock starts: the number is the collector's, not the client's.
    const bodies = Array.from({ length: clients }, (_, c) =>
      Array.from({ length: batchesPerClient }, (_, k) => {
        const b = batchOf((c * batchesPerClient + k) % SITES, k);
        return JSON.stringify({ batch_id: randomUUID(), ...b });
      }),
    );
    const siteOf = (body: string) => /"site":"([^"]+)"/.exec(body)?.[1] ?? '';
    const { stored, seconds } = await timed(bodies, async (body) => {
      const res = await fetch(`${url}/api/v1/results`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token(siteOf(body))}`, 'content-type': 'application/json' },
        body,
      });
      if (!res.ok) throw new Error(`wanwatch: HTTP ${res.status}: ${await res.text()}`);
      return ((await res.json()) as { stored: number }).stored;
    });
    if (stored !== clients * batchesPerClient * perBatch)
      throw new Error(`wanwatch stored ${stored} of ${clients * batchesPerClient * perBatch} results`);
    return { side, clients, stored, seconds };
  } finally {
    collector.kill('SIGTERM');
    await collector;
    rmSync(dir, { recursive: true, force: true });
  }
}

async function runInfluxd(clients: number): Promise<Run> {
  const influx = await startInfluxd();
  try {
    const db = `bench_${randomUUID().slice(0, 8)}`;
    await influx.createDatabase(db);
    const bodies = Array.from({ length: clients }, (_, c) =>
      Array.from({ length: batchesPerClient }, (_, k) =>
        batchOf((c * batchesPerClient + k) % SITES, k)
          .results.flatMap((r) => resultLines(r))
          .join('\n'),
      ),
    );
    const { stored, seconds } = await timed(bodies, async (body) => {
      const res = await fetch(`${influx.url}/write?db=${db}&precision=ms`, { method: 'POST', body });
      if (res.status !== 204) throw new Error(`influxd /write: HTTP ${res.status}: ${await res.text()}`);
      return perBatch;
    });
    return { side: 'influxd', clients, stored, seconds };
  } finally {
    await influx.close();
  }
}

const median = (runs: Run[]): Run => {
  const sorted = [...runs].sort((a, b) => a.seconds - b.seconds);
  return sorted[Math.floor(sorted.length / 2)] as Run;
};
const rate = (r: Run) => r.stored / r.seconds;

console.log(
  `machine: ${cpus().length} cores (${cpus()[0]?.model.trim()}), Node ${process.versions.node}; ` +
    `${batchesPerClient} batches per client of ${perBatch} RTT rounds (10 samples each), ` +
    `${oneLink ? 'all on one link direction' : `a ${SITES}-site full mesh`}, store in ${tmpdir()}; median of 3 runs each`,
);
// Warm-up: the JIT, the disk, influxd's first start.
await runWanwatch(1);
await runInfluxd(1);
for (const clients of [...new Set([1, maxClients])]) {
  const runs: Run[] = [];
  for (let i = 0; i < 3; i++) {
    runs.push(await runWanwatch(clients), await runInfluxd(clients));
    if (baseline) runs.push(await runWanwatch(clients, 'baseline'));
  }
  const theirs = median(runs.filter((r) => r.side === 'influxd'));
  const sides: Side[] = baseline ? ['wanwatch', 'baseline', 'influxd'] : ['wanwatch', 'influxd'];
  for (const side of sides) {
    const r = median(runs.filter((x) => x.side === side));
    console.log(
      `clients ${clients}  ${r.side.padEnd(8)} ${r.stored} results in ${r.seconds.toFixed(2)} s: ${Math.round(rate(r))} results/s` +
        (side === 'influxd' ? '' : `, ${(rate(r) / rate(theirs)).toFixed(2)}× influxd`),
    );
  }
}
