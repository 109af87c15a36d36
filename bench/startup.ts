// Start-up time and memory of the `wanwatch` command, before and after the build step, side by side
// in the same run:
//   before  a checkout's bin/wanwatch.js, which compiles the TypeScript with tsx at every start (what
//           every start cost until the package carried dist/);
//   after   the same bin/wanwatch.js laid out as npm installs the package (bin/, dist/, package.json,
//           examples/, the dependencies), which runs the esbuild bundle dist/wanwatch.js.
// Each command runs --runs times per way, the two ways alternating so both see the same machine;
// wall time from spawn to exit, and the peak resident memory (GNU time's %M) of each run; and Node
// alone starting an empty script, the part of any start that is not wanwatch's.
// Run: npx tsx bench/startup.ts [--runs 15] [--node /path/to/node]…   (several --node: one table each)

import { cp, mkdtemp, rm, symlink } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { execa } from 'execa';

const ROOT = new URL('..', import.meta.url).pathname;
const { values } = parseArgs({
  options: { runs: { type: 'string', default: '15' }, node: { type: 'string', multiple: true } },
});
const runs = Number(values.runs);
const nodes = values.node?.length ? values.node : [process.execPath];

await execa('npx', ['tsx', 'scripts/build.ts'], { cwd: ROOT, stdio: 'inherit' });
const installed = await mkdtemp(join(tmpdir(), 'wanwatch-startup-'));
for (const part of ['bin', 'dist', 'examples', 'package.json'])
  await cp(join(ROOT, part), join(installed, part), { recursive: true });
await symlink(join(ROOT, 'node_modules'), join(installed, 'node_modules'));

const example = 'examples/remote-failover.yaml';
const commands: { name: string; args: string[] }[] = [
  { name: 'wanwatch --version', args: ['--version'] },
  { name: `wanwatch plan -c ${example}`, args: ['plan', '-c', example] },
];
const ways = [
  { name: 'before (tsx)', dir: ROOT },
  { name: 'after (dist)', dir: installed },
];

interface Sample {
  ms: number;
  rssMb: number;
}

async function once(node: string, dir: string, args: string[]): Promise<Sample> {
  const script = dir === '' ? ['-e', ''] : [join(dir, 'bin', 'wanwatch.js'), ...args];
  const start = process.hrtime.bigint();
  const r = await execa('/usr/bin/time', ['-f', '%M', node, ...script], {
    cwd: dir || ROOT,
    reject: false,
  });
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  if (r.exitCode !== 0) throw new Error(`${args.join(' ')} in ${dir} exited ${r.exitCode}: ${r.stderr}`);
  const rssKb = Number(r.stderr.trim().split('\n').at(-1));
  return { ms, rssMb: rssKb / 1024 };
}

const pick = (xs: number[], q: number) => [...xs].sort((a, b) => a - b)[Math.round(q * (xs.length - 1))]!;
const cpu = cpus();
console.log(`machine: ${cpu[0]?.model ?? 'unknown CPU'}, ${cpu.length} cores; ${runs} runs per way`);

try {
  for (const node of nodes) {
    const version = (await execa(node, ['--version'])).stdout.trim();
    console.log(`\nNode ${version} (${node})`);
    console.log(
      `${'command'.padEnd(48)}${'way'.padEnd(14)}${'min ms'.padStart(8)}${'median'.padStart(8)}${'max'.padStart(8)}${'RSS MB'.padStart(8)}`,
    );
    // Node alone, starting an empty script: the part of every start that is not wanwatch's.
    const bare: number[] = [];
    for (let i = 0; i < runs; i++) bare.push((await once(node, '', [])).ms);
    console.log(
      `${'node -e "" (Node alone)'.padEnd(48)}${''.padEnd(14)}${pick(bare, 0).toFixed(0).padStart(8)}${pick(bare, 0.5).toFixed(0).padStart(8)}${pick(bare, 1).toFixed(0).padStart(8)}`,
    );
    for (const cmd of commands) {
      const samples = new Map<string, Sample[]>(ways.map((w) => [w.name, []]));
      // One unmeasured start of each way first: the operating system's file cache, not wanwatch.
      for (const w of ways) await once(node, w.dir, cmd.args);
      for (let i = 0; i < runs; i++)
        for (const w of ways) samples.get(w.name)!.push(await once(node, w.dir, cmd.args));
      const medians: number[] = [];
      for (const w of ways) {
        const ms = samples.get(w.name)!.map((s) => s.ms);
        const rss = samples.get(w.name)!.map((s) => s.rssMb);
        medians.push(pick(ms, 0.5));
        console.log(
          `${cmd.name.padEnd(48)}${w.name.padEnd(14)}${pick(ms, 0).toFixed(0).padStart(8)}${pick(ms, 0.5).toFixed(0).padStart(8)}${pick(ms, 1).toFixed(0).padStart(8)}${pick(rss, 0.5).toFixed(0).padStart(8)}`,
        );
      }
      console.log(`${''.padEnd(48)}after / before, median: ${(medians[1]! / medians[0]!).toFixed(2)}x`);
    }
  }
} finally {
  await rm(installed, { recursive: true, force: true });
}
