// Whether reading can hurt ingest: agents' push latency at a collector with N sites in a full mesh,
// without and then with 4 clients reading GET /api/v1/links as fast as they can. The collector runs as
// its own process (`wanwatch collector`); this process plays every agent (one RTT round per peer every
// 10 s, pushed in batches every 2 s, the defaults) after pre-filling the 5-minute window. The readers
// run in a process of their own (this file with --readers), so that receiving their replies does not
// delay the agents' event loop here, and each connects from its own loopback address (127.0.0.2, .3,
// …), as clients on separate hosts would.
//   npx tsx bench/read-load.ts [sites=40] [seconds per phase=30] [readers=4]
import { randomUUID } from 'node:crypto';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { Agent, fetch as fetchFrom } from 'undici';
import { percentileSorted } from '../shared/stats.ts';
import { tempDir } from '../testbed/collector.ts';
import { startCollectorProcess } from '../testbed/collector-process.ts';
import { MESH_VIEWER, writeMesh } from '../testbed/mesh.ts';
import { rttResult } from '../testbed/results.ts';

// The readers' viewer credential (the mesh's collector.credentials): reads need one.
const VIEWER = MESH_VIEWER;

/** `readers` clients reading GET /api/v1/links at `url` as fast as they can for `seconds`. */
async function readersFor(
  url: string,
  readers: number,
  seconds: number,
): Promise<{ reads: number; refused: number }> {
  const until = Date.now() + seconds * 1000;
  let reads = 0;
  let refused = 0;
  await Promise.all(
    Array.from({ length: readers }, async (_, i) => {
      const dispatcher = new Agent({ localAddress: `127.0.0.${2 + i}` });
      while (Date.now() < until) {
        const res = await fetchFrom(`${url}/api/v1/links`, {
          headers: { authorization: `Bearer ${VIEWER}` },
          dispatcher,
        });
        const body = await res.arrayBuffer();
        if (res.status === 429) refused++;
        else if (res.ok) reads++;
        else throw new Error(`GET /api/v1/links: HTTP ${res.status}: ${Buffer.from(body).toString()}`);
      }
      await dispatcher.close();
    }),
  );
  return { reads, refused };
}

if (process.argv[2] === '--readers') {
  const [url = '', readers, seconds] = process.argv.slice(3);
  console.log(JSON.stringify(await readersFor(url, Number(readers), Number(seconds))));
} else {
  await main();
}

async function main(): Promise<void> {
  const sites = Number(process.argv[2] ?? 40);
  const phaseSeconds = Number(process.argv[3] ?? 30);
  const readers = Number(process.argv[4] ?? 4);
  const ROUND_MS = 10_000;
  const BATCH_MS = 2_000;
  const WINDOW_MS = 5 * 60_000;

  const dir = tempDir('bench-read');
  const { names, token, configPath, env } = writeMesh(dir, sites, '{throughput: {enabled: false}}');

  const { proc: collector, url } = await startCollectorProcess(
    ['-c', configPath, '--listen', '127.0.0.1:0', '--data-dir', join(dir, 'data')],
    { env },
  );

  async function push(site: string, results: ReturnType<typeof rttResult>[]): Promise<number> {
    const t0 = performance.now();
    const res = await fetch(`${url}/api/v1/results`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token(site)}`, 'content-type': 'application/json' },
      body: JSON.stringify({ batch_id: randomUUID(), site, results }),
      signal: AbortSignal.timeout(30_000),
    });
    await res.text();
    if (!res.ok) throw new Error(`push from ${site}: HTTP ${res.status}`);
    return performance.now() - t0;
  }

  const rounds = (site: string, t: number) =>
    names.filter((p) => p !== site).map((p) => rttResult(site, p, Math.round(t), [20, 21, 22, 20.5, 21.5]));

  // Pre-fill the window, oldest first, as agents that have run for five minutes would have.
  const start = Date.now();
  for (let t = start - WINDOW_MS; t < start; t += ROUND_MS) {
    await Promise.all(names.map((s) => push(s, rounds(s, t))));
  }

  /** Every site pushes one batch every BATCH_MS (a fifth of its peers' rounds each time) for `seconds`. */
  async function agentsFor(seconds: number): Promise<number[]> {
    const latencies: number[] = [];
    const until = Date.now() + seconds * 1000;
    await Promise.all(
      names.map(async (s, i) => {
        await new Promise((r) => setTimeout(r, (i * BATCH_MS) / sites));
        while (Date.now() < until) {
          const all = rounds(s, Date.now());
          const slice = all.slice(0, Math.ceil(all.length / (ROUND_MS / BATCH_MS)));
          latencies.push(await push(s, slice));
          await new Promise((r) => setTimeout(r, BATCH_MS));
        }
      }),
    );
    return latencies.sort((a, b) => a - b);
  }

  const row = (label: string, l: number[]) =>
    `${label.padEnd(28)} pushes ${String(l.length).padStart(5)}  p50 ${percentileSorted(l, 50).toFixed(1).padStart(7)} ms  p99 ${percentileSorted(l, 99).toFixed(1).padStart(7)} ms  max ${(l[l.length - 1] ?? 0).toFixed(1).padStart(7)} ms`;

  const quiet = await agentsFor(phaseSeconds);
  const readerProcess = execa(process.execPath, [
    '--import',
    'tsx',
    fileURLToPath(import.meta.url),
    '--readers',
    url,
    String(readers),
    String(phaseSeconds),
  ]);
  const [loaded, read] = await Promise.all([
    agentsFor(phaseSeconds),
    readerProcess.then((r) => JSON.parse(r.stdout) as { reads: number; refused: number }),
  ]);
  collector.kill('SIGTERM');
  await collector;
  rmSync(dir, { recursive: true, force: true });

  console.log(
    `${sites} sites, ${(sites * (sites - 1)) / 2} links, window pre-filled, ${phaseSeconds} s per phase`,
  );
  console.log(row('agents only', quiet));
  console.log(row(`agents + ${readers} readers`, loaded));
  console.log(
    `readers: ${read.reads} answers (${(read.reads / phaseSeconds).toFixed(0)}/s), ${read.refused} refused with 429`,
  );
  console.log(
    `push p99 with readers / without: ${(percentileSorted(loaded, 99) / percentileSorted(quiet, 99)).toFixed(2)}×`,
  );
}
