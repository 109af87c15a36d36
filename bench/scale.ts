// How many sites one collector holds: simulated agents at the default rates push to a real collector
// process (`wanwatch collector`), in a full mesh and in a hub-and-spoke of the same site count, and the
// bench prints the agents' push latency (p50, p99), the collector's evaluation time per step (its own
// /metrics: wanwatch_evaluation_duration_seconds), CPU (share of one core, from /proc) and RSS.
//   npx tsx bench/scale.ts [sites=10,50,100,200] [seconds measured=30] [shapes=mesh,hub]
//
// Each site measures each of its peers every probes.rtt.interval (5 s; rounds spread evenly over it,
// as agent/schedule/periodic.ts does) with probes.rtt.count (10) samples, and pushes the rounds that
// finished every 2 s (the agent's --batch-max-delay), one request per push; no throughput tests. The
// alert window fills first (window + 5 s unmeasured), then the measured seconds. A mesh of n sites has
// n(n-1)/2 links; a hub-and-spoke n-1 (the hub measures every spoke, each spoke the hub only). This
// process plays every agent; the collector runs alone in its own process.
import { randomUUID } from 'node:crypto';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { parseTopology } from '../shared/config/load.ts';
import { percentileSorted } from '../shared/stats.ts';
import { renderTable } from '../shared/table.ts';
import { eventually, tempDir } from '../testbed/collector.ts';
import { rttResult } from '../testbed/results.ts';

const sizes = (process.argv[2] ?? '10,50,100,200').split(',').map(Number);
const measureSeconds = Number(process.argv[3] ?? 30);
const shapes = (process.argv[4] ?? 'mesh,hub').split(',') as ('mesh' | 'hub')[];
if (sizes.some((n) => !Number.isInteger(n) || n < 2) || !(measureSeconds > 0)) {
  process.stderr.write(
    'usage: npx tsx bench/scale.ts [sites=10,50,100,200] [seconds=30] [shapes=mesh,hub]\n',
  );
  process.exit(2);
}
const BATCH_MS = 2000;
const CLK_TCK = 100;

/** The topology file: sites, and clusters that make the links of the shape. */
function topologyYaml(names: readonly string[], shape: 'mesh' | 'hub'): string {
  const hub = names[0] as string;
  const clusters =
    shape === 'mesh'
      ? ['  one:', '    subclusters:', ...names.map((s) => `      sc_${s}: {nodes: {n_${s}: ${s}}}`)]
      : names
          .slice(1)
          .flatMap((s) => [
            `  c_${s}:`,
            `    subclusters: {sc_${s}: {nodes: {h_${s}: ${hub}, n_${s}: ${s}}}}`,
          ]);
  return [
    'sites:',
    ...names.map(
      (s, i) => `  ${s}: {address: 127.${1 + Math.floor(i / 250)}.${i % 250}.1, token_env: T_${s}}`,
    ),
    'clusters:',
    ...clusters,
    'probes: {throughput: {enabled: false}}',
    'collector: {public_read: true}',
    '',
  ].join('\n');
}

/** The collector process's CPU seconds so far and its resident memory, from /proc. */
function processStats(pid: number): { cpu_s: number; rss_mb: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const cpu_s = (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
  const rss = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
  return { cpu_s, rss_mb: Number(rss) / 1024 };
}

/** The collector's evaluation steps so far, their total seconds and its histogram, from its /metrics. */
async function evaluations(
  url: string,
): Promise<{ count: number; sum: number; buckets: Map<string, number> }> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const read = (name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1] ?? Number.NaN);
  const buckets = new Map<string, number>();
  for (const m of text.matchAll(/^wanwatch_evaluation_duration_seconds_bucket\{le="([^"]+)"\} (\S+)$/gm))
    buckets.set(m[1] as string, Number(m[2]));
  return {
    count: read('wanwatch_evaluation_duration_seconds_count'),
    sum: read('wanwatch_evaluation_duration_seconds_sum'),
    buckets,
  };
}

/** The histogram's bound (ms) under which 99 % of the steps between two reads fell. */
function stepP99(before: Map<string, number>, after: Map<string, number>): string {
  const steps = (after.get('+Inf') ?? 0) - (before.get('+Inf') ?? 0);
  for (const [le, n] of after) {
    if (n - (before.get(le) ?? 0) >= 0.99 * steps) return le === '+Inf' ? '> 10 s' : `≤ ${Number(le) * 1000}`;
  }
  return '—';
}

async function run(n: number, shape: 'mesh' | 'hub'): Promise<string[]> {
  const names = Array.from({ length: n }, (_, i) => `s${String(i).padStart(3, '0')}`);
  const token = (s: string) => `bench-token-${s}`;
  const dir = tempDir('bench-scale');
  const yaml = topologyYaml(names, shape);
  writeFileSync(join(dir, 'topology.yaml'), yaml);
  const topology = parseTopology(yaml);
  const { interval: roundMs, count } = topology.probes.rtt;
  const windowMs = topology.alerts.window;
  const peers = new Map(names.map((s) => [s, [] as string[]]));
  const hub = names[0] as string;
  for (const a of names)
    for (const b of names) if (a !== b && (shape === 'mesh' || a === hub || b === hub)) peers.get(a)?.push(b);
  const links = [...peers.values()].reduce((sum, p) => sum + p.length, 0) / 2;

  const env: Record<string, string> = {};
  for (const s of names) env[`T_${s}`] = token(s);
  const collector = execa(
    process.env.BENCH_COLLECTOR_NODE ?? process.execPath,
    [
      new URL('../bin/wanwatch.js', import.meta.url).pathname,
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
  const url = await eventually(() => /listening on (\S+)/.exec(out)?.[1], 60_000, 'the collector');
  const pid = collector.pid as number;

  const samples = Array.from({ length: count }, (_, i) => 20 + (i % 5) * 0.5);
  // One summarized round per direction, copied with a new id and time: the agents' work is not measured.
  const templates = new Map<string, ReturnType<typeof rttResult>>();
  const template = (src: string, dst: string) => {
    const k = `${src}>${dst}`;
    let t = templates.get(k);
    if (!t) {
      t = rttResult(src, dst, 0, samples, 'icmp');
      templates.set(k, t);
    }
    return t;
  };
  let timeouts = 0;
  async function push(site: string, results: ReturnType<typeof rttResult>[]): Promise<number | null> {
    const t0 = performance.now();
    try {
      const res = await fetch(`${url}/api/v1/results`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token(site)}`, 'content-type': 'application/json' },
        body: JSON.stringify({ batch_id: randomUUID(), site, results }),
        signal: AbortSignal.timeout(30_000),
      });
      await res.text();
      if (!res.ok) throw new Error(`push from ${site}: HTTP ${res.status}`);
    } catch (err) {
      if ((err as Error).name === 'TimeoutError') {
        timeouts++;
        return null;
      }
      throw err;
    }
    return performance.now() - t0;
  }

  /** Every site pushes, every BATCH_MS, the rounds due since its last push (spread over the interval). */
  let recording = false;
  const latencies: number[] = [];
  let stopAt = Number.POSITIVE_INFINITY;
  const agents = names.map(async (s, i) => {
    const mine = peers.get(s) ?? [];
    const phase = (j: number) => Math.floor((j * roundMs) / mine.length);
    let last = Date.now();
    await new Promise((r) => setTimeout(r, (i * BATCH_MS) / n));
    while (Date.now() < stopAt) {
      const now = Date.now();
      const due: ReturnType<typeof rttResult>[] = [];
      mine.forEach((p, j) => {
        // The latest due time ≤ now of this peer's round; one round per push at most.
        const t = now - ((((now - phase(j)) % roundMs) + roundMs) % roundMs);
        if (t > last) due.push({ ...template(s, p), id: randomUUID(), time_ms: t });
      });
      last = now;
      if (due.length > 0) {
        const ms = await push(s, due);
        if (recording && ms !== null) latencies.push(ms);
      }
      await new Promise((r) => setTimeout(r, Math.max(0, last + BATCH_MS - Date.now())));
    }
  });

  // Fill the window, then measure.
  await new Promise((r) => setTimeout(r, windowMs + 5000));
  const evalBefore = await evaluations(url);
  const before = processStats(pid);
  const t0 = Date.now();
  recording = true;
  await new Promise((r) => setTimeout(r, measureSeconds * 1000));
  recording = false;
  const after = processStats(pid);
  const evalAfter = await evaluations(url);
  const wall = (Date.now() - t0) / 1000;
  stopAt = 0;
  await Promise.all(agents);
  collector.kill('SIGTERM');
  await collector;
  rmSync(dir, { recursive: true, force: true });

  latencies.sort((a, b) => a - b);
  const steps = evalAfter.count - evalBefore.count;
  const fmt = (v: number, digits = 0) => (Number.isFinite(v) ? v.toFixed(digits) : '—');
  return [
    String(n),
    shape === 'mesh' ? 'full mesh' : 'hub and spoke',
    links.toLocaleString('en-US'),
    fmt((2 * links * 1000) / roundMs),
    String(latencies.length),
    latencies.length ? fmt(percentileSorted(latencies, 50), 1) : '—',
    latencies.length ? fmt(percentileSorted(latencies, 99), 1) : '—',
    String(timeouts),
    fmt(steps / wall, 1),
    fmt(((evalAfter.sum - evalBefore.sum) / steps) * 1000, 2),
    stepP99(evalBefore.buckets, evalAfter.buckets),
    `${fmt(((after.cpu_s - before.cpu_s) / wall) * 100)} %`,
    fmt(after.rss_mb),
  ];
}

process.stdout.write(
  `machine: ${cpus().length} cores (${cpus()[0]?.model.trim()}), Node ${process.versions.node}; ` +
    `defaults: rounds every 5 s, 10 samples, window 15 s, pushes every 2 s; ${measureSeconds} s measured per row\n`,
);
const rows: string[][] = [];
for (const n of sizes)
  for (const shape of shapes) {
    rows.push(await run(n, shape));
    process.stderr.write(`${rows.at(-1)?.join('  ')}\n`);
  }
process.stdout.write(
  `${renderTable(
    [
      'SITES',
      'SHAPE',
      'LINKS',
      'RESULTS/S',
      'PUSHES',
      'PUSH P50 (ms)',
      'PUSH P99 (ms)',
      'TIMEOUTS',
      'STEPS/S',
      'MS PER STEP',
      'STEP P99 (ms)',
      'COLLECTOR CPU',
      'RSS (MB)',
    ],
    rows,
    [
      'right',
      'left',
      'right',
      'right',
      'right',
      'right',
      'right',
      'right',
      'right',
      'right',
      'right',
      'right',
    ],
  )}\n`,
);
