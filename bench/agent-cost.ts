// What a running `wanwatch agent` costs, by the number of peers it probes: a real collector in this
// process and one real agent process (site A at 127.0.0.1) whose peers are loopback addresses
// 127.0.1.1 … (the kernel answers their echoes; nothing else runs there). The topology uses the
// defaults for everything but the method (icmp, the default) — whatever cadence the checkout defines.
// Per agent process: resident memory after WINDOW seconds (VmRSS) and its peak (VmHWM), and the CPU
// time it used during the window. Used by bench/probe-rate.ts; also runnable alone:
//   npx tsx bench/agent-cost.ts [peers…]    (default 1 50; root: ICMP needs raw sockets)
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { startCollector } from '../collector/collector.ts';
import { freeSitePorts, quietLog } from '../testbed/agents.ts';
import { testAccess } from '../testbed/topologies.ts';

const ROOT = new URL('..', import.meta.url).pathname;
const TICK_MS = 10; // USER_HZ 100: /proc/PID/stat counts CPU in 10 ms ticks

export interface AgentCost {
  peers: number;
  /** How the agent ran: `bin/wanwatch.js` (TypeScript compiled by tsx) or `dist/wanwatch.js` (bundle). */
  way: string;
  /** Resident memory sampled every second of the window: median and highest. */
  rss_mb: number;
  rss_max_mb: number;
  /** VmHWM: the highest resident memory since start (start-up included). */
  peak_mb: number;
  cpu_ms_per_s: number;
  /** Probes per second the defaults schedule for this many peers (from the collector's plan). */
  window_s: number;
}

function procStatus(pid: number): { rss_mb: number; peak_mb: number } {
  const text = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (key: string) => Number(new RegExp(`${key}:\\s+(\\d+)`).exec(text)?.[1] ?? Number.NaN);
  return { rss_mb: kb('VmRSS') / 1024, peak_mb: kb('VmHWM') / 1024 };
}

function cpuTicks(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
  return Number(fields[11]) + Number(fields[12]);
}

/** Runs one agent with `peers` peers for `window_s` seconds after a warm-up; `entry` is the script node runs. */
export async function measureAgent(
  peers: number,
  entry: string,
  window_s = 30,
  extraEnv: Record<string, string> = {},
): Promise<AgentCost> {
  const dir = mkdtempSync(join(tmpdir(), 'wanwatch-agent-cost-'));
  const a = await freeSitePorts('127.0.0.1');
  const lines = [
    'sites:',
    `  A: {address: 127.0.0.1, token_env: WW_TOKEN_A, reflector_port: ${a.reflector_port}, iperf3_port: ${a.iperf3_port}}`,
  ];
  for (let i = 1; i <= peers; i++) lines.push(`  P${i}: {address: 127.0.1.${i}, token_env: WW_TOKEN_A}`);
  lines.push('clusters:', '  c:', '    subclusters:', '      sc1:', '        nodes:', '          n0: A');
  for (let i = 1; i <= peers; i++) lines.push(`          n${i}: P${i}`);
  lines.push('probes:', '  rtt: {method: icmp}', '  throughput: {enabled: false}', testAccess());
  const configPath = join(dir, 'topology.yaml');
  writeFileSync(configPath, `${lines.join('\n')}\n`);
  const env = { WW_TOKEN_A: 'agent-cost-token' };
  const collector = await startCollector({
    configPath,
    listen: '127.0.0.1:0',
    dataDir: join(dir, 'collector'),
    env,
    watch: false,
    log: quietLog,
  });
  const child = execa(
    process.execPath,
    [entry, 'agent', '--site', 'A', '--collector', collector.url, '--data-dir', join(dir, 'agent')],
    {
      reject: false,
      env: {
        WANWATCH_TOKEN: env.WW_TOKEN_A,
        WANWATCH_LOG: process.env.AGENT_COST_DEBUG ? 'info' : 'warn',
        ...extraEnv,
      },
      cwd: ROOT,
    },
  );
  let log = '';
  child.stderr?.on('data', (d: Buffer) => {
    log = (log + d.toString()).slice(-10_000);
  });
  try {
    const pid = child.pid ?? -1;
    // Warm-up: start, plan, first rounds.
    await new Promise((r) => setTimeout(r, 10_000));
    const t0 = cpuTicks(pid);
    const rss: number[] = [];
    for (let i = 0; i < window_s; i++) {
      await new Promise((r) => setTimeout(r, 1000));
      rss.push(procStatus(pid).rss_mb);
    }
    const cpu_ms = (cpuTicks(pid) - t0) * TICK_MS;
    if (process.env.AGENT_COST_DEBUG) process.stderr.write(`${log.slice(-3000)}\n`);
    rss.sort((x, y) => x - y);
    // It measured: rounds of its last peer reached the collector (else the figures would be an idle agent's).
    const rounds = collector.store.rttResults('A', `P${peers}`, 0).filter((r) => r.rtt && r.rtt.received > 0);
    if (rounds.length === 0)
      throw new Error(`the agent (${entry}) stored no answered round towards P${peers}: ${log.slice(-1500)}`);
    return {
      peers,
      way: entry.includes('dist') ? 'dist/wanwatch.js (bundle)' : 'bin/wanwatch.js (tsx)',
      rss_mb: rss[Math.floor(rss.length / 2)] ?? Number.NaN,
      rss_max_mb: rss[rss.length - 1] ?? Number.NaN,
      peak_mb: procStatus(pid).peak_mb,
      cpu_ms_per_s: cpu_ms / window_s,
      window_s,
    };
  } finally {
    child.kill('SIGTERM');
    await child;
    await collector.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const counts = process.argv.slice(2).map(Number);
  for (const peers of counts.length ? counts : [1, 50]) {
    const c = await measureAgent(peers, join(ROOT, 'bin', 'wanwatch.js'));
    console.log(
      `${c.way}: ${peers} peers: RSS ${c.rss_mb.toFixed(1)} MB (max ${c.rss_max_mb.toFixed(1)}, peak since start ${c.peak_mb.toFixed(1)}), CPU ${c.cpu_ms_per_s.toFixed(1)} ms/s`,
    );
  }
}
