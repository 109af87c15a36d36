// bench/probe-rate: what ICMP probing costs one agent, and how fast it can probe without losing timing
// precision. Part 1: CPU time per 1,000 ICMP probes (user + system of this process) next to fping's
// for the same probes (200 peers, 1,000/s, 10 s; fping's own CPU and peak memory from getrusage of the
// child), taking turns twice. Part 1b: a real `wanwatch agent` probing 1 and 50 peers with the default
// cadence (bench/agent-cost.ts): resident memory and CPU, through bin/wanwatch.js as a checkout runs it
// (TypeScript compiled by tsx) and through the bundle `npm run build` makes (what an installed package
// runs; built here first, as bench/startup.ts does; --no-agent skips part 1b). Part 2: 200 peers
// (127.0.0.1–127.0.0.200 on loopback), every peer probed in rounds at once, at rising total rates; for
// each rate: the rate achieved, loss, CPU use, the RTT distribution against a quiet baseline, and the
// event-loop delay (how late a reply callback or a scheduled send can be: the bound on timing error).
// Needs root (raw sockets). Run: npx tsx bench/probe-rate.ts

import { existsSync } from 'node:fs';
import { cpus } from 'node:os';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { execa } from 'execa';
import { closeIcmpSessions, icmpProbe } from '../probes/icmp.ts';
import { kernelTimestamps } from '../probes/timestamps.ts';
import { percentileSorted } from '../shared/stats.ts';
import { measureAgent } from './agent-cost.ts';

const PEERS = 200;
const STEP_S = 5;
const RATES = [200, 1000, 2000, 4000, 8000, 12000, 20000];
/** The event-loop monitor wakes every LOOP_TICK_MS; what it records beyond that tick is lateness. */
const LOOP_TICK_MS = 10;
/** "Timing precision holds" at a rate when: no loss, the rate is reached, and RTT p99 stays under 1 ms. */
const HOLDS = { maxLossPercent: 0, minAchieved: 0.98, maxP99Ms: 1 };

const cpuMs = (u: NodeJS.CpuUsage) => (u.user + u.system) / 1000;
const fmt = (n: number, d = 3) => n.toFixed(d);
const peer = (i: number) => `127.0.0.${(i % PEERS) + 1}`;

interface Step {
  sent: number;
  received: number;
  wall_ms: number;
  cpu_ms: number;
  rtts: number[];
  loop: { p50: number; p99: number; max: number };
}

/** Every peer gets one round of `perPeer` probes, all rounds at once; total rate = PEERS / spacing. */
async function step(rate: number, seconds: number): Promise<Step> {
  const spacing_ms = (PEERS / rate) * 1000;
  const perPeer = Math.max(1, Math.round((seconds * 1000) / spacing_ms));
  const loop = monitorEventLoopDelay({ resolution: LOOP_TICK_MS });
  loop.enable();
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  // Stagger the rounds' starts across one spacing so the sends are spread evenly, as an agent would.
  const results = await Promise.all(
    Array.from({ length: PEERS }, async (_, i) => {
      await new Promise((r) => setTimeout(r, (i * spacing_ms) / PEERS));
      return icmpProbe(
        { src: 'bench', dst: peer(i), host: peer(i) },
        { count: perPeer, spacing_ms, timeout_ms: 1000 },
      );
    }),
  );
  const wall_ms = performance.now() - t0;
  const cpu_ms = cpuMs(process.cpuUsage(cpu0));
  loop.disable();
  const rtts: number[] = [];
  let sent = 0;
  let received = 0;
  for (const r of results) {
    if (!r.rtt) throw new Error(`probe failed: ${r.error?.message}`);
    sent += r.rtt.sent;
    received += r.rtt.received;
    for (const s of r.rtt.samples_ms) if (s !== null) rtts.push(s);
  }
  rtts.sort((a, b) => a - b);
  const ms = (ns: number) => Math.max(0, ns / 1e6 - LOOP_TICK_MS);
  return {
    sent,
    received,
    wall_ms,
    cpu_ms,
    rtts,
    loop: { p50: ms(loop.percentile(50)), p99: ms(loop.percentile(99)), max: ms(loop.max) },
  };
}

const dist = (rtts: number[]) =>
  rtts.length === 0
    ? 'no replies'
    : `median ${fmt(percentileSorted(rtts, 50))}  p95 ${fmt(percentileSorted(rtts, 95))}  ` +
      `p99 ${fmt(percentileSorted(rtts, 99))}  max ${fmt(rtts[rtts.length - 1] as number)} ms`;

if (process.getuid?.() !== 0) {
  process.stderr.write('bench/probe-rate needs root (raw ICMP sockets)\n');
  process.exit(1);
}

console.log(
  `bench/probe-rate — Node ${process.version}, ${cpus().length} cores (${cpus()[0]?.model ?? '?'})`,
);

// Reference: the kernel-near RTT that iputils ping measures on the same loopback.
const ping = await execa('ping', ['-n', '-q', '-c', '200', '-i', '0.005', '127.0.0.1'], { reject: false });
const pingLine = /= ([\d.]+)\/([\d.]+)\/([\d.]+)\/([\d.]+) ms/.exec(ping.stdout);
console.log(
  `\nreference: iputils ping, 200 echoes to 127.0.0.1: ` +
    (pingLine
      ? `min/avg/max/mdev ${pingLine[1]}/${pingLine[2]}/${pingLine[3]}/${pingLine[4]} ms`
      : ping.stdout),
);

// Warm-up (JIT, sockets), not reported.
await step(1000, 1);

// Part 1: CPU per 1,000 probes, next to fping. The process also spends CPU on timers and the event
// loop whatever it sends, so the cost is given two ways: total CPU / probes at 1,000/s, and the marginal
// cost per 1,000 from a straight-line fit of CPU time against probes over all the rates of part 2.
const idleCpu0 = process.cpuUsage();
await new Promise((r) => setTimeout(r, 2000));
const idlePerS = cpuMs(process.cpuUsage(idleCpu0)) / 2;

/** fping over the same 200 peers at the same rate: CPU (user + system, µs resolution) and peak RSS. */
async function fpingCost(rate: number, seconds: number) {
  const period = Math.round((PEERS / rate) * 1000);
  const count = Math.round((seconds * 1000) / period);
  const args = ['-q', '-c', String(count), '-p', String(period), '-i', '1', '-t', '1000'];
  for (let i = 0; i < PEERS; i++) args.push(peer(i));
  // getrusage(RUSAGE_CHILDREN) after the child exits: its CPU in microseconds and its peak RSS.
  const py = [
    'import resource, subprocess, sys',
    'p = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)',
    'r = resource.getrusage(resource.RUSAGE_CHILDREN)',
    "sent = sum(int(l.split('xmt/rcv/%loss = ')[1].split('/')[0]) for l in p.stderr.splitlines() if 'xmt/rcv' in l)",
    "recv = sum(int(l.split('xmt/rcv/%loss = ')[1].split('/')[1]) for l in p.stderr.splitlines() if 'xmt/rcv' in l)",
    'print(r.ru_utime + r.ru_stime, r.ru_maxrss, sent, recv)',
  ].join('\n');
  const r = await execa('python3', ['-c', py, 'fping', ...args]);
  const [cpu_s, maxrss_kb, sent, received] = r.stdout.trim().split(' ').map(Number) as [
    number,
    number,
    number,
    number,
  ];
  return { cpu_ms: cpu_s * 1000, rss_mb: maxrss_kb / 1024, sent, received };
}

const side: string[] = [];
const ratios: number[] = [];
let fpingRss = 0;
for (let turn = 1; turn <= 2; turn++) {
  const f = await fpingCost(1000, 10);
  const w = await step(1000, 10);
  fpingRss = Math.max(fpingRss, f.rss_mb);
  const fPer = (f.cpu_ms / f.sent) * 1000;
  const wPer = (w.cpu_ms / w.sent) * 1000;
  ratios.push(wPer / fPer);
  side.push(
    `  turn ${turn}: fping ${fmt(fPer, 1)} ms (${f.sent} probes, ${f.received} replies, peak RSS ${fmt(f.rss_mb, 1)} MB)   ` +
      `wanwatch icmp ${fmt(wPer, 1)} ms (${w.sent} probes, ${w.received} replies)   wanwatch / fping ${fmt(wPer / fPer, 2)}×`,
  );
}
console.log(
  `\nCPU time per 1,000 ICMP probes at 1,000/s to ${PEERS} peers (10 s each, taking turns; user + system; ` +
    `wanwatch ${kernelTimestamps().native ? 'with kernel timestamps' : `timed in JavaScript: ${kernelTimestamps().why}`}, ` +
    `its idle process ${fmt(idlePerS, 1)} ms/s; on loopback the kernel's echo reply is partly counted in each sender):`,
);
console.log(side.join('\n'));
console.log(`  wanwatch / fping, the higher turn: ${fmt(Math.max(...ratios), 2)}× (target: at most 1.5×)`);

// Part 1b: what a running agent costs, by peers.
if (!process.argv.includes('--no-agent')) {
  const ways = [new URL('../bin/wanwatch.js', import.meta.url).pathname];
  const built = await execa('npx', ['tsx', 'scripts/build.ts'], {
    cwd: new URL('..', import.meta.url).pathname,
    reject: false,
  });
  const bundle = new URL('../dist/wanwatch.js', import.meta.url).pathname;
  if (built.exitCode === 0 && existsSync(bundle)) ways.push(bundle);
  else console.log(`\n(no bundle: npm run build failed: ${built.stderr.split('\n').slice(-3).join(' ')})`);
  console.log(
    '\nA running `wanwatch agent` (site A, peers on loopback, default cadence, method icmp; 10 s warm-up, then 30 s):',
  );
  console.log('  way                          peers  RSS median / max MB  peak since start MB  CPU ms/s');
  for (const way of ways) {
    const costs = [];
    for (const peers of [1, 50]) {
      const c = await measureAgent(peers, way, 30);
      costs.push(c);
      console.log(
        `  ${c.way.padEnd(28)} ${String(peers).padStart(5)}  ${`${fmt(c.rss_mb, 1)} / ${fmt(c.rss_max_mb, 1)}`.padStart(19)}  ` +
          `${fmt(c.peak_mb, 1).padStart(19)}  ${fmt(c.cpu_ms_per_s, 1).padStart(8)}`,
      );
    }
    const [one, fifty] = costs as [(typeof costs)[0], (typeof costs)[0]];
    console.log(
      `  per peer (50 vs 1): ${fmt((fifty.rss_mb - one.rss_mb) / 49, 2)} MB, ${fmt((fifty.cpu_ms_per_s - one.cpu_ms_per_s) / 49, 2)} ms CPU/s; ` +
        `50 peers ${fifty.rss_mb < 80 ? 'under' : 'OVER'} 80 MB (median)`,
    );
  }
  console.log(`  next to fping probing ${PEERS} peers above: peak RSS ${fmt(fpingRss, 1)} MB`);
}

// Part 2: rising rates across 200 peers.
console.log(`\n${PEERS} peers (127.0.0.1–127.0.0.${PEERS}), ${STEP_S} s per rate, timeout 1 s:`);
console.log(
  'target/s  achieved/s  loss %  CPU % of one core  RTT (ms)                                               event-loop lateness p50/p99/max ms',
);
const steps: { rate: number; s: Step; achieved: number; holds: boolean }[] = [];
for (const rate of RATES) {
  const s = await step(rate, STEP_S);
  const achieved = s.sent / (s.wall_ms / 1000);
  const lossPct = ((s.sent - s.received) / s.sent) * 100;
  const p99 = s.rtts.length ? percentileSorted(s.rtts, 99) : Number.POSITIVE_INFINITY;
  const holds =
    lossPct <= HOLDS.maxLossPercent && achieved >= rate * HOLDS.minAchieved && p99 <= HOLDS.maxP99Ms;
  steps.push({ rate, s, achieved, holds });
  console.log(
    `${String(rate).padStart(8)}  ${fmt(achieved, 0).padStart(10)}  ${fmt(lossPct, 2).padStart(6)}  ` +
      `${fmt((s.cpu_ms / s.wall_ms) * 100, 0).padStart(17)}  ${dist(s.rtts).padEnd(55)}  ` +
      `${fmt(s.loop.p50, 2)}/${fmt(s.loop.p99, 2)}/${fmt(s.loop.max, 2)}${holds ? '' : '  (precision lost)'}`,
  );
}
closeIcmpSessions();

// Least-squares fit cpu_ms = a + b × probes over the steps.
const xs = steps.map((x) => x.s.sent);
const ys = steps.map((x) => x.s.cpu_ms);
const mx = xs.reduce((a, b) => a + b, 0) / xs.length;
const my = ys.reduce((a, b) => a + b, 0) / ys.length;
let num = 0;
let den = 0;
for (let i = 0; i < xs.length; i++) {
  num += ((xs[i] as number) - mx) * ((ys[i] as number) - my);
  den += ((xs[i] as number) - mx) ** 2;
}
console.log(`\nmarginal CPU per 1,000 probes (fit over the rates above): ${fmt((num / den) * 1000, 1)} ms`);
let sustained = 0;
for (const x of steps) {
  if (!x.holds) break;
  sustained = x.rate;
}
console.log(
  `highest rate tried with timing precision intact (no loss, rate reached, RTT p99 <= ${HOLDS.maxP99Ms} ms): ` +
    (sustained ? `${sustained} probes/s to ${PEERS} peers on one Node thread` : 'none'),
);
