// bench/plan: how long `wanwatch plan` takes on a large generated topology
// (200 sites, 1,000 subclusters in 10 clusters, 5 intercluster peerings).
// Run: npx tsx bench/plan.ts
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { execa } from 'execa';
import { renderPlan } from '../cli/commands/plan.ts';
import { loadTopology } from '../shared/config/load.ts';
import { deriveLinks, planJson } from '../shared/topology/requirements.ts';

const SITES = 200;
const CLUSTERS = 10;
const SUBCLUSTERS = 1000;

// A small deterministic generator, so every run measures the same topology.
let seed = 42;
const rand = (n: number) => {
  seed = (seed * 1103515245 + 12345) % 2 ** 31;
  return (seed >>> 8) % n;
};

const lines: string[] = ['sites:'];
for (let s = 0; s < SITES; s++) lines.push(`  site${s}: {address: 10.${s >> 8}.${s & 255}.10}`);
lines.push('clusters:');
for (let c = 0; c < CLUSTERS; c++) {
  lines.push(`  cluster${c}:`, '    subclusters:');
  // Each cluster spans 20 sites; each subcluster has two nodes, at two of its cluster's sites.
  const base = c * 20;
  for (let i = 0; i < SUBCLUSTERS / CLUSTERS; i++) {
    const n = c * (SUBCLUSTERS / CLUSTERS) + i;
    const a = base + rand(20);
    const b = base + rand(20);
    lines.push(`      sc${n}: {nodes: {node${n}a: site${a}, node${n}b: site${b}}}`);
  }
}
lines.push('intercluster:');
for (let c = 0; c < 5; c++) lines.push(`  - [cluster${c}, cluster${c + 5}]`);

const dir = mkdtempSync(join(tmpdir(), 'wanwatch-bench-plan-'));
const file = join(dir, 'topology.yaml');
writeFileSync(file, `${lines.join('\n')}\n`);

const runs = 5;
const times = { load: [] as number[], derive: [] as number[], render: [] as number[] };
let links = 0;
for (let r = 0; r < runs; r++) {
  const t0 = performance.now();
  const topology = loadTopology(file);
  const t1 = performance.now();
  const derived = deriveLinks(topology);
  const t2 = performance.now();
  renderPlan(topology, derived, { brief: false });
  JSON.stringify(planJson(derived));
  const t3 = performance.now();
  times.load.push(t1 - t0);
  times.derive.push(t2 - t1);
  times.render.push(t3 - t2);
  links = derived.length;
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

const cli: number[] = [];
for (let r = 0; r < 3; r++) {
  const t0 = performance.now();
  await execa('node', ['bin/wanwatch.js', 'plan', '-c', file, '--json'], { stdout: 'ignore' });
  cli.push(performance.now() - t0);
}

console.log(`bench/plan: ${SITES} sites, ${SUBCLUSTERS} subclusters, ${CLUSTERS} clusters → ${links} links`);
console.log(`  load + validate   ${median(times.load).toFixed(1)} ms (median of ${runs})`);
console.log(`  derive links      ${median(times.derive).toFixed(1)} ms`);
console.log(`  render table+json ${median(times.render).toFixed(1)} ms`);
console.log(
  `  in-process total  ${(median(times.load) + median(times.derive) + median(times.render)).toFixed(1)} ms`,
);
console.log(`  whole command (node start-up included) ${median(cli).toFixed(0)} ms (median of 3)`);
