// How long after a link goes bad does a person hear of it, and how long after it is repaired do they
// hear that it is fine again — with wanwatch's DEFAULT settings (docs/alerts.md, "Defaults, and why"),
// side by side with Prometheus + blackbox_exporter + Alertmanager in their common settings (15 s scrape,
// ICMP module, `for: 1m`, default group_wait 30s: bench/prometheus-stack.ts) watching the same link in
// the same run. Needs root (the emulated WAN lab):
//   npx tsx bench/alert-latency.ts [repetitions (3)] [flapping minutes (10; 0 skips)]
//
// Two lab sites A and B joined by a healthy link (10 ms one way: 20 ms round trip), one real
// `wanwatch agent` process in each, the collector in the root namespace, the Prometheus stack in A's
// namespace pinging B, and one webhook receiver for both. Each repetition makes the link slow (45 ms
// one way: 90 ms round trip) and prints the seconds from that change to each side's `firing` webhook;
// once both fired it repairs the link and prints the seconds to each side's `resolved`. Then the link
// flaps between slow and healthy every 20 s for the given minutes, and the bench counts each side's
// `firing` notifications (wanwatch must page once) and the seconds from the end to `resolved`.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ResultPromise } from 'execa';
import { DEFAULT_EVALUATE_INTERVAL_MS, startCollector } from '../collector/collector.ts';
import type { WebhookPayloadV2 } from '../collector/notifiers/webhook.ts';
import { startSiteAgent } from '../lab/compare.ts';
import { labUnavailable, startLab } from '../lab/lab.ts';
import { formatDuration } from '../shared/config/duration.ts';
import { createLogger } from '../shared/log.ts';
import { renderTable } from '../shared/table.ts';
import { type PrometheusStack, startPrometheusStack } from './prometheus-stack.ts';

const repetitions = Number(process.argv[2] ?? 3);
if (!Number.isInteger(repetitions) || repetitions < 1) {
  process.stderr.write(
    `bench/alert-latency: "${process.argv[2]}" is not a number of repetitions (1 or more)\n`,
  );
  process.exit(2);
}
const flapMinutes = Number(process.argv[3] ?? 10);
if (!Number.isFinite(flapMinutes) || flapMinutes < 0) {
  process.stderr.write(`bench/alert-latency: "${process.argv[3]}" is not a number of minutes (0 or more)\n`);
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

// The webhook receiver, for both sides: every body it gets, with the time it arrived. It listens on
// every address so that Alertmanager, in A's namespace, reaches it over A's management link.
const received: { at: number; body: WebhookPayloadV2 }[] = [];
/** Alertmanager's webhooks: `status` is the group's (firing while any alert of it fires). */
const amReceived: { at: number; status: string }[] = [];
const hook = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    const body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    if (req.url === '/am') amReceived.push({ at: Date.now(), status: String(body.status) });
    else received.push({ at: Date.now(), body });
    res.writeHead(200).end();
  });
});
await new Promise<void>((resolve) => hook.listen(0, '0.0.0.0', resolve));
const hookPort = (hook.address() as AddressInfo).port;
const hookUrl = `http://127.0.0.1:${hookPort}/hook`;

const dir = mkdtempSync(join(tmpdir(), 'wanwatch-alert-latency-'));
const lab = await startLab(
  { sites: ['A', 'B'], links: [{ between: ['A', 'B'], delay_ms: HEALTHY_MS }] },
  { name: `lat${process.pid.toString(36)}` },
);
const agents: ResultPromise[] = [];
let prometheus: PrometheusStack | undefined;
let stopping = false;
async function stop(): Promise<void> {
  if (stopping) return;
  stopping = true;
  for (const a of agents) a.kill('SIGTERM');
  await Promise.allSettled(agents);
  await prometheus?.stop();
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
const { probes, alerts, thresholds } = collector.topology();
prometheus = await startPrometheusStack(lab, 'A', {
  dir: join(dir, 'prometheus'),
  target: lab.siteAddress('B'),
  maxRttMs: thresholds.max_rtt_ms,
  alertname: 'RttHigh',
  webhookUrl: `http://${lab.collectorAddress('A')}:${hookPort}/am`,
});
process.stdout.write(
  [
    `wanwatch (defaults): rtt ${probes.rtt.method}, ${probes.rtt.count} probes every ${formatDuration(probes.rtt.interval)}` +
      ` (${formatDuration(probes.rtt.spacing)} apart); alerts window ${formatDuration(alerts.window)}` +
      ` (${thresholds.rtt_statistic} > ${thresholds.max_rtt_ms} ms),` +
      ` for ${formatDuration(alerts.for)}, clear_for ${formatDuration(alerts.clear_for)};` +
      ` evaluation on arrival and every ${formatDuration(DEFAULT_EVALUATE_INTERVAL_MS)};` +
      ` agents' --batch-max-delay 2000 ms; throughput every ${formatDuration(probes.throughput.interval)}`,
    `prometheus side: ${prometheus.describe}`,
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
const amWebhook = (status: 'firing' | 'resolved', after: number) => () =>
  amReceived.find((r) => r.at >= after && r.status === status);
const seconds = (from: number, to: number | undefined) =>
  to === undefined ? 'none' : ((to - from) / 1000).toFixed(1);
/** Waits for a webhook, or gives up quietly after `timeoutMs` (the other side may still answer). */
const within = <T>(what: string, check: () => T | undefined, timeoutMs: number) =>
  waitFor(what, check, timeoutMs).catch((err: Error) => {
    if (agentGone) throw err;
    progress(err.message);
    return undefined;
  });

const rows: string[][] = [];
try {
  // Steady: both sides have seen the healthy link for a while (wanwatch's window, Prometheus's scrapes).
  const settle = Math.max(alerts.window, 60_000);
  progress(`waiting ${formatDuration(settle)} for both sides to see the healthy link`);
  await new Promise((r) => setTimeout(r, settle));
  for (let i = 1; i <= repetitions; i++) {
    const degradedAt = Date.now();
    await lab.set({ between: ['A', 'B'], delay_ms: SLOW_MS });
    progress(`repetition ${i}: A–B made slow; waiting for both firing webhooks`);
    const [firing, amFiring] = await Promise.all([
      within('the wanwatch firing webhook', webhook('firing', degradedAt), 5 * 60_000),
      within('the Alertmanager firing webhook', amWebhook('firing', degradedAt), 10 * 60_000),
    ]);
    const repairedAt = Date.now();
    await lab.set({ between: ['A', 'B'], delay_ms: HEALTHY_MS });
    progress(
      `repetition ${i}: firing after ${seconds(degradedAt, firing?.at)} s (wanwatch), ${seconds(degradedAt, amFiring?.at)} s (prometheus); repaired, waiting for resolved`,
    );
    const [resolved, amResolved] = await Promise.all([
      within('the wanwatch resolved webhook', webhook('resolved', repairedAt), 10 * 60_000),
      within('the Alertmanager resolved webhook', amWebhook('resolved', repairedAt), 15 * 60_000),
    ]);
    progress(
      `repetition ${i}: resolved after ${seconds(repairedAt, resolved?.at)} s (wanwatch), ${seconds(repairedAt, amResolved?.at)} s (prometheus)`,
    );
    rows.push([
      String(i),
      seconds(degradedAt, firing?.at),
      seconds(repairedAt, resolved?.at),
      seconds(degradedAt, amFiring?.at),
      seconds(repairedAt, amResolved?.at),
    ]);
  }
  process.stdout.write(
    `${renderTable(
      [
        'REPETITION',
        'WANWATCH DEGRADED → FIRING (s)',
        'WANWATCH REPAIRED → RESOLVED (s)',
        'PROMETHEUS DEGRADED → FIRING (s)',
        'PROMETHEUS REPAIRED → RESOLVED (s)',
      ],
      rows,
      ['right', 'right', 'right', 'right', 'right'],
    )}\n`,
  );

  if (flapMinutes > 0) {
    const flapStart = Date.now();
    const flapEnd = flapStart + flapMinutes * 60_000;
    progress(`flapping A–B slow/healthy every 20 s for ${flapMinutes} min`);
    let slow = false;
    while (Date.now() < flapEnd) {
      slow = !slow;
      await lab.set({ between: ['A', 'B'], delay_ms: slow ? SLOW_MS : HEALTHY_MS });
      await new Promise((r) => setTimeout(r, Math.min(20_000, Math.max(0, flapEnd - Date.now()))));
    }
    await lab.set({ between: ['A', 'B'], delay_ms: HEALTHY_MS });
    const endedAt = Date.now();
    progress('flapping over, link healthy; waiting for both resolved webhooks');
    const [resolved, amResolved] = await Promise.all([
      within('the wanwatch resolved webhook', webhook('resolved', endedAt), 10 * 60_000),
      within('the Alertmanager resolved webhook', amWebhook('resolved', endedAt), 15 * 60_000),
    ]);
    const count = (list: { at: number; firing: boolean }[]) =>
      list.filter((r) => r.at >= flapStart && r.at <= endedAt && r.firing).length;
    const ours = count(
      received
        .filter((r) => r.body.rule === 'rtt_high')
        .map((r) => ({ at: r.at, firing: r.body.status === 'firing' })),
    );
    const theirs = count(amReceived.map((r) => ({ at: r.at, firing: r.status === 'firing' })));
    const resolvedDuring = (list: { at: number; resolved: boolean }[]) =>
      list.filter((r) => r.at >= flapStart && r.at < endedAt && r.resolved).length;
    process.stdout.write(
      `\n${renderTable(
        [
          'FLAPPING 20 s SLOW / 20 s HEALTHY',
          'FIRING NOTIFICATIONS',
          'RESOLVED DURING',
          'END → RESOLVED (s)',
        ],
        [
          [
            `wanwatch, ${flapMinutes} min`,
            String(ours),
            String(
              resolvedDuring(
                received
                  .filter((r) => r.body.rule === 'rtt_high')
                  .map((r) => ({ at: r.at, resolved: r.body.status === 'resolved' })),
              ),
            ),
            seconds(endedAt, resolved?.at),
          ],
          [
            `prometheus, ${flapMinutes} min`,
            String(theirs),
            String(resolvedDuring(amReceived.map((r) => ({ at: r.at, resolved: r.status === 'resolved' })))),
            seconds(endedAt, amResolved?.at),
          ],
        ],
        ['left', 'right', 'right', 'right'],
      )}\n`,
    );
  }
} finally {
  await stop();
}
