// Soak: a real collector and three real agents on loopback (127.0.0.1–3, UDP echo every second) for
// two minutes, with the collector stopped for 10 s in every 30 s, and agents restarted now and then
// (during an outage, so their spool must survive the restart, and while the collector is up). At the
// end the agents drain their spools and the collector's store is compared with what the agents
// produced: each result exactly once.
//
//   npx tsx bench/soak.ts [seconds]      (default 120)
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type RunningCollector, startCollector } from '../collector/collector.ts';
import { freeSitePorts, quietLog, startFleet } from '../testbed/agents.ts';

const seconds = Number(process.argv[2] ?? 120);
const SITES = [
  { site: 's1', address: '127.0.0.1' },
  { site: 's2', address: '127.0.0.2' },
  { site: 's3', address: '127.0.0.3' },
];
const env: Record<string, string> = {};
for (const s of SITES) env[`WW_TOKEN_${s.site.toUpperCase()}`] = `soak-token-${s.site}`;

const dir = mkdtempSync(join(tmpdir(), 'wanwatch-soak-'));
const configPath = join(dir, 'topology.yaml');
const lines = ['sites:'];
for (const s of SITES) {
  const p = await freeSitePorts(s.address);
  lines.push(
    `  ${s.site}: {address: ${s.address}, token_env: WW_TOKEN_${s.site.toUpperCase()}, reflector_port: ${p.reflector_port}, iperf3_port: ${p.iperf3_port}}`,
  );
}
lines.push(
  'clusters:',
  '  c:',
  '    subclusters:',
  '      sc1: {nodes: {n1: s1, n2: s2, n3: s3}}',
  'probes:',
  '  rtt: {method: udp, interval: 1s, count: 5, spacing: 20ms, timeout: 300ms}',
  '  throughput: {enabled: false}',
  '  heartbeat: {interval: 5s, timeout: 5s}',
);
writeFileSync(configPath, `${lines.join('\n')}\n`);

let port = 0;
const start = async () => {
  const c = await startCollector({
    configPath,
    listen: `127.0.0.1:${port}`,
    dataDir: join(dir, 'collector'),
    env,
    watch: false,
    log: quietLog,
  });
  port = c.port;
  return c;
};
let collector: RunningCollector = await start();
const fleet = await startFleet(
  SITES.map((s) => ({ site: s.site, token: env[`WW_TOKEN_${s.site.toUpperCase()}`]! })),
  { collector: collector.url, dir },
);

const t0 = Date.now();
let outages = 0;
let down = false;
let maxQueued = 0;
let restarts = 0;
const restarted = new Set<number>();
const queued = () => [...fleet.agents.values()].reduce((n, a) => n + a.stats().spool.queued_results, 0);
process.stdout.write(`soak: ${SITES.length} agents, ${seconds} s, collector down 10 s in every 30 s\n`);
while (Date.now() - t0 < seconds * 1000) {
  await new Promise((r) => setTimeout(r, 250));
  const elapsed = Math.floor((Date.now() - t0) / 1000);
  const phase = elapsed % 30;
  maxQueued = Math.max(maxQueued, queued());
  // Restart an agent 5 s into each outage (spool on disk) and 5 s after each return.
  if ((phase === 20 || phase === 0) && elapsed > 0 && !restarted.has(elapsed)) {
    restarted.add(elapsed);
    const site = SITES[restarts % SITES.length]!.site;
    await fleet.restart(site);
    restarts++;
    process.stdout.write(`  ${elapsed} s: agent ${site} restarted${down ? ' (collector away)' : ''}\n`);
  }
  if (phase >= 15 && phase < 25 && !down) {
    await collector.close();
    down = true;
    outages++;
    process.stdout.write(`  ${((Date.now() - t0) / 1000).toFixed(0)} s: collector stopped\n`);
  } else if ((phase < 15 || phase >= 25) && down) {
    collector = await start();
    down = false;
    process.stdout.write(
      `  ${((Date.now() - t0) / 1000).toFixed(0)} s: collector back (spooled ${queued()})\n`,
    );
  }
}
if (down) collector = await start();
const drainStart = Date.now();
const drained = (await Promise.all([...fleet.agents.values()].map((a) => a.drain(60_000)))).every(Boolean);
const drainMs = Date.now() - drainStart;

const produced = new Set(fleet.produced.map((r) => r.id));
const stored = new Set<string>();
let storedRows = 0;
for (const a of SITES)
  for (const b of SITES) {
    if (a === b) continue;
    for (const r of collector.store.rttResults(a.site, b.site, 0)) {
      storedRows++;
      stored.add(r.id);
    }
  }
const missing = [...produced].filter((id) => !stored.has(id)).length;
const extra = [...stored].filter((id) => !produced.has(id)).length;
const dropped = [...fleet.agents.values()].reduce((n, a) => n + a.stats().spool.dropped, 0);
await fleet.stop();
await collector.close();
rmSync(dir, { recursive: true, force: true });

process.stdout.write(
  [
    `produced            ${produced.size} results`,
    `stored              ${stored.size} distinct (${storedRows} rows)`,
    `missing             ${missing}`,
    `stored twice        ${storedRows - stored.size}`,
    `not produced        ${extra}`,
    `dropped by spool    ${dropped}`,
    `outages             ${outages}`,
    `agent restarts      ${restarts}`,
    `most spooled        ${maxQueued} results`,
    `drain at the end    ${drained ? 'complete' : 'INCOMPLETE'} in ${drainMs} ms`,
    '',
  ].join('\n'),
);
process.exitCode = missing === 0 && extra === 0 && storedRows === stored.size && drained ? 0 : 1;
