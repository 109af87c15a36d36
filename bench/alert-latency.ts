// How long after a link goes bad does a person hear of it, and how long after it is repaired do they
// hear that it is fine again — with wanwatch's DEFAULT settings: the default probes (icmp, a round of
// 5 every 10 s), alert window (5 min, p95), `for` (1 min), `clear_for` (2 min) and evaluation interval
// (5 s). Needs root (the emulated WAN lab): `npx tsx bench/alert-latency.ts [repetitions]` (default 3).
//
// Two lab sites A and B joined by a healthy link (10 ms one way: 20 ms round trip), one real
// `wanwatch agent` process in each, the collector in the root namespace, and a webhook receiver. Each
// repetition waits until the link is steady, makes it slow (45 ms one way: 90 ms round trip), and
// prints the seconds from that change to the `firing` webhook; then repairs it at once and prints the
// seconds from the repair to the `resolved` webhook. A repetition takes about 9 minutes.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ResultPromise } from 'execa';
import { startCollector } from '../collector/collector.ts';
import type { WebhookPayloadV2 } from '../collector/notifiers/webhook.ts';
import { startSiteAgent } from '../lab/compare.ts';
import { labUnavailable, startLab } from '../lab/lab.ts';
import { formatDuration } from '../shared/config/duration.ts';
import { createLogger } from '../shared/log.ts';
import { renderTable } from '../shared/table.ts';

const repetitions = Number(process.argv[2] ?? 3);
if (!Number.isInteger(repetitions) || repetitions < 1) {
  process.stderr.write(
    `bench/alert-latency: "${process.argv[2]}" is not a number of repetitions (1 or more)\n`,
  );
  process.exit(2);
}
const why = labUnavailable();
if (why) {
  process.stderr.write(`bench/alert-latency: cannot run: ${why}\n`);
  process.exit(1);
}

const HEALTHY_MS = 10;
const SLOW_MS = 45;
const started = Date.now();
const progress = (text: string) =>
  process.stderr.write(`[${((Date.now() - started) / 1000).toFixed(0).padStart(4)} s] ${text}\n`);

// The webhook receiver: every body it gets, with the time it arrived.
const received: { at: number; body: WebhookPayloadV2 }[] = [];
const hook = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    received.push({ at: Date.now(), body: JSON.parse(Buffer.concat(chunks).toString('utf8')) });
    res.writeHead(200).end();
  });
});
await new Promise<void>((resolve) => hook.listen(0, '127.0.0.1', resolve));
const hookUrl = `http://127.0.0.1:${(hook.address() as AddressInfo).port}/hook`;

const dir = mkdtempSync(join(tmpdir(), 'wanwatch-alert-latency-'));
const lab = await startLab(
  { sites: ['A', 'B'], links: [{ between: ['A', 'B'], delay_ms: HEALTHY_MS }] },
  { name: `lat${process.pid.toString(36)}` },
);
const agents: ResultPromise[] = [];
let stopping = false;
async function stop(): Promise<void> {
  if (stopping) return;
  stopping = true;
  for (const a of agents) a.kill('SIGTERM');
  await Promise.allSettled(agents);
  await collector?.close();
  hook.close();
  await lab.stop();
  rmSync(dir, { recursive: true, force: true });
}
process.once('SIGINT', () => void stop().then(() => process.exit(130)));

// Only what must be said: the sites, the cluster and the webhook. Everything else is a default.
const configPath = join(dir, 'topology.yaml');
writeFileSync(
  configPath,
  `sites:
  A: {address: ${lab.siteAddress('A')}, token_env: WW_TOKEN_A}
  B: {address: ${lab.siteAddress('B')}, token_env: WW_TOKEN_B}
clusters:
  east: {subclusters: {sc1: {nodes: {n1: A, n2: B}}}}
notify:
  - {type: webhook, url: "${hookUrl}"}
`,
);
const tokens = { WW_TOKEN_A: 'latency-token-a', WW_TOKEN_B: 'latency-token-b' };
const collector = await startCollector({
  configPath,
  listen: '0.0.0.0:0',
  dataDir: join(dir, 'collector'),
  env: tokens,
  log: createLogger({}, () => {}),
});
const { probes, alerts } = collector.topology();
process.stdout.write(
  [
    `settings (defaults): rtt ${probes.rtt.method}, ${probes.rtt.count} probes every ${formatDuration(probes.rtt.interval)}` +
      ` (${formatDuration(probes.rtt.spacing)} apart); alerts window ${formatDuration(alerts.window)}` +
      ` (${collector.topology().thresholds.rtt_statistic} > ${collector.topology().thresholds.max_rtt_ms} ms),` +
      ` for ${formatDuration(alerts.for)}, clear_for ${formatDuration(alerts.clear_for)};` +
      ` evaluation every ${formatDuration(Number(process.env.WANWATCH_EVALUATE_INTERVAL_MS ?? 5000))};` +
      ` agents' --batch-max-delay 2000 ms; throughput every ${formatDuration(probes.throughput.interval)}`,
    `link A–B: ${HEALTHY_MS} ms one way (${2 * HEALTHY_MS} ms round trip), made ${SLOW_MS} ms one way (${2 * SLOW_MS} ms) to degrade it`,
    `machine: ${cpus().length} cores (${cpus()[0]?.model.trim()}), Node ${process.versions.node}`,
    '',
  ].join('\n'),
);

for (const site of ['A', 'B'] as const) {
  agents.push(
    startSiteAgent(
      lab,
      site,
      {
        collectorPort: collector.port,
        token: tokens[`WW_TOKEN_${site}`],
        dataDir: join(dir, `agent-${site}`),
      },
      { reject: false, stdio: 'ignore' },
    ),
  );
}

// An agent that exits mid-run would leave the bench waiting for a webhook that cannot come: say so.
let agentGone: string | undefined;
agents.forEach((a, i) => {
  void a.then((r) => {
    if (!stopping) agentGone = `the agent of site ${i === 0 ? 'A' : 'B'} exited (${r.exitCode ?? r.signal})`;
  });
});

async function waitFor<T>(what: string, check: () => T | undefined, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (agentGone) throw new Error(`${agentGone} while waiting for ${what}`);
    const v = check();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`gave up after ${timeoutMs / 1000} s waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
const webhook = (status: 'firing' | 'resolved', after: number) => () =>
  received.find((r) => r.at >= after && r.body.rule === 'rtt_high' && r.body.status === status);

const rows: string[][] = [];
try {
  // Steady: both directions have a full window of healthy rounds (and so does every repetition after
  // a resolve, which comes only once the slow rounds have left the window).
  progress(`waiting ${formatDuration(alerts.window)} for a window of healthy rounds`);
  await new Promise((r) => setTimeout(r, alerts.window));
  for (let i = 1; i <= repetitions; i++) {
    const degradedAt = Date.now();
    await lab.set({ between: ['A', 'B'], delay_ms: SLOW_MS });
    progress(`repetition ${i}: A–B made slow; waiting for the firing webhook`);
    const firing = await waitFor('the firing webhook', webhook('firing', degradedAt), 10 * 60_000);
    const repairedAt = Date.now();
    await lab.set({ between: ['A', 'B'], delay_ms: HEALTHY_MS });
    progress(
      `repetition ${i}: firing after ${((firing.at - degradedAt) / 1000).toFixed(1)} s (${firing.body.summary}); repaired, waiting for resolved`,
    );
    const resolved = await waitFor('the resolved webhook', webhook('resolved', repairedAt), 20 * 60_000);
    progress(`repetition ${i}: resolved after ${((resolved.at - repairedAt) / 1000).toFixed(1)} s`);
    rows.push([
      String(i),
      ((firing.at - degradedAt) / 1000).toFixed(1),
      ((Date.parse(firing.body.started_at) - degradedAt) / 1000).toFixed(1),
      ((resolved.at - repairedAt) / 1000).toFixed(1),
    ]);
  }
  process.stdout.write(
    `${renderTable(
      [
        'REPETITION',
        'DEGRADED → FIRING WEBHOOK (s)',
        'OF WHICH: DEGRADED → PENDING (s)',
        'REPAIRED → RESOLVED WEBHOOK (s)',
      ],
      rows,
      ['right', 'right', 'right', 'right'],
    )}\n`,
  );
} finally {
  await stop();
}
