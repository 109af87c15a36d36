// What a Prometheus scrape of the collector's /metrics costs at N sites in a full mesh (every pair of
// sites a link): the time to answer and the size, the first scrape after an evaluation (it renders
// the per-link families) and the next ones (sent as rendered), beside GET /api/v1/links on the same
// collector (the same figures as JSON). Next to it, in the same run, the tool a user would otherwise
// pick for per-link metrics in Prometheus: blackbox_exporter, which Prometheus scrapes once per target
// (/probe?target=…); its cost per probe, measured here against a TCP port on loopback, times one probe
// per link direction. The collector runs as its own process (`wanwatch collector`); this process plays
// the agents: one RTT round per direction and a heartbeat per site, then one evaluation.
//   npx tsx bench/metrics-scrape.ts [sites…=50 200] [scrapes=20]
import { randomUUID } from 'node:crypto';
import { rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { execa } from 'execa';
import { percentileSorted } from '../shared/stats.ts';
import { WANWATCH_VERSION } from '../shared/version.ts';
import { eventually, tempDir } from '../testbed/collector.ts';
import { startCollectorProcess } from '../testbed/collector-process.ts';
import { MESH_VIEWER, writeMesh } from '../testbed/mesh.ts';
import { freePort } from '../testbed/ports.ts';
import { rttResult } from '../testbed/results.ts';

const VIEWER = MESH_VIEWER;
const args = process.argv.slice(2).map(Number);
const SCRAPES = args.length > 1 ? (args.pop() as number) : 20;
const SIZES = args.length > 0 ? args : [50, 200];

interface Timed {
  ms: number;
  bytes: number;
  /** Samples in the body (lines that are not comments), and those of the per-link families. */
  samples: number;
  linkSamples: number;
  /** The collector's mean evaluation step so far (wanwatch_evaluation_duration_seconds), when shown. */
  evaluationMs: number | null;
}

/** The time until the whole body arrived (read as bytes, not decoded: the reader's own cost left out). */
async function timedGet(url: string, headers: Record<string, string> = {}): Promise<Timed> {
  const t0 = performance.now();
  const res = await fetch(url, { headers });
  const body = Buffer.from(await res.arrayBuffer());
  const ms = performance.now() - t0;
  const text = body.toString('utf8');
  const lines = text.split('\n');
  // The collector lets one address read 10 times a second: stay under it, outside the time measured.
  await new Promise((r) => setTimeout(r, 120));
  if (!res.ok) throw new Error(`GET ${url}: HTTP ${res.status}: ${text.slice(0, 200)}`);
  return {
    ms,
    bytes: body.length,
    samples: lines.filter((l) => l !== '' && !l.startsWith('#')).length,
    linkSamples: lines.filter((l) => l.startsWith('wanwatch_link_')).length,
    evaluationMs: evaluationMs(lines),
  };
}

function evaluationMs(lines: string[]): number | null {
  const value = (name: string) => Number(lines.find((l) => l.startsWith(`${name} `))?.split(' ')[1]);
  const sum = value('wanwatch_evaluation_duration_seconds_sum');
  const count = value('wanwatch_evaluation_duration_seconds_count');
  return count > 0 ? (1000 * sum) / count : null;
}

const median = (xs: number[]) =>
  percentileSorted(
    [...xs].sort((a, b) => a - b),
    50,
  );
const kb = (bytes: number) => `${(bytes / 1024).toFixed(0)} KiB`;

async function collectorAt(sites: number) {
  const dir = tempDir('bench-metrics');
  const { names, token, configPath, env } = writeMesh(
    dir,
    sites,
    '{throughput: {enabled: false}, heartbeat: {interval: 1h, timeout: 1h}}',
  );
  // A large topology takes a while to load (its plans are computed at start).
  const { proc, url } = await startCollectorProcess(
    ['-c', configPath, '--listen', '127.0.0.1:0', '--data-dir', join(dir, 'data')],
    { env: { ...env, WANWATCH_EVALUATE_INTERVAL_MS: '600000' }, timeoutMs: 300_000 },
  );
  const post = async (site: string, path: string, body: unknown) => {
    const res = await fetch(`${url}/api/v1/${path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token(site)}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`${path} from ${site}: HTTP ${res.status}: ${text}`);
  };
  // One round per direction, and one heartbeat per site.
  const t = Date.now() - 5000;
  let lastGroup = 0;
  for (let i = 0; i < names.length; i += 10) {
    lastGroup = Date.now();
    await Promise.all(
      names.slice(i, i + 10).map(async (s) => {
        // Dated as it is sent: pushing 200 sites takes minutes, and the rounds must stay in the window.
        const results = names
          .filter((p) => p !== s)
          .map((p) => rttResult(s, p, Date.now() - 1000, [20, 21, 22, 20.5, 21.5]));
        await post(s, 'results', { batch_id: randomUUID(), site: s, results });
        await post(s, 'heartbeat', {
          site: s,
          version: WANWATCH_VERSION,
          time_ms: Date.now(),
          started_at_ms: t,
          plan_version: null,
          spool_queued: 0,
          spool_dropped: 0,
          errors: 0,
        });
      }),
    );
  }
  // The evaluation the last batches asked for starts after they arrived: wait until the links reply is
  // dated after the last group was sent and no evaluation has run for 5 s (none is left to run: the
  // interval is 10 minutes), so that the scrapes measured share the collector with nothing else.
  const viewer = { authorization: `Bearer ${VIEWER}` };
  let seen = { time: 0, since: Date.now() };
  await eventually(
    async () => {
      await new Promise((r) => setTimeout(r, 1000));
      const r = (await (await fetch(`${url}/api/v1/links`, { headers: viewer })).json()) as {
        time_ms?: number;
      };
      const time = r.time_ms ?? 0;
      if (time !== seen.time) seen = { time, since: Date.now() };
      return time >= lastGroup && Date.now() - seen.since >= 5000 ? true : undefined;
    },
    600_000,
    'the evaluations after the pushes',
  );
  return {
    url,
    links: (sites * (sites - 1)) / 2,
    close: async () => {
      proc.kill('SIGTERM');
      await proc;
      rmSync(dir, { recursive: true, force: true });
    },
    viewer,
  };
}

async function blackbox(): Promise<{ ms: number; bytes: number; samples: number }> {
  const dir = tempDir('bench-blackbox');
  const port = await freePort();
  const target = createServer((s) => s.end());
  await new Promise<void>((r) => target.listen(0, '127.0.0.1', () => r()));
  const targetPort = (target.address() as { port: number }).port;
  writeFileSync(join(dir, 'blackbox.yml'), 'modules:\n  tcp: {prober: tcp, timeout: 2s}\n');
  const proc = execa(
    'prometheus-blackbox-exporter',
    [`--config.file=${join(dir, 'blackbox.yml')}`, `--web.listen-address=127.0.0.1:${port}`],
    { reject: false },
  );
  const base = `http://127.0.0.1:${port}`;
  await eventually(
    async () => ((await fetch(`${base}/-/healthy`).catch(() => null))?.ok ? true : undefined),
    20_000,
    'blackbox_exporter',
  );
  const probe = `${base}/probe?module=tcp&target=127.0.0.1:${targetPort}`;
  await timedGet(probe);
  const runs: Timed[] = [];
  for (let i = 0; i < SCRAPES; i++) runs.push(await timedGet(probe));
  proc.kill('SIGTERM');
  await proc;
  target.close();
  rmSync(dir, { recursive: true, force: true });
  const last = runs.at(-1) as Timed;
  return { ms: median(runs.map((r) => r.ms)), bytes: last.bytes, samples: last.samples };
}

const box = await blackbox();
console.log(
  `blackbox_exporter 0.23, one /probe (tcp to loopback): median ${box.ms.toFixed(1)} ms, ${box.bytes} bytes, ${box.samples} samples per target`,
);
for (const sites of SIZES) {
  const c = await collectorAt(sites);
  try {
    const metrics = `${c.url}/metrics`;
    const first = await timedGet(metrics, c.viewer);
    const warm: Timed[] = [];
    for (let i = 0; i < SCRAPES; i++) warm.push(await timedGet(metrics, c.viewer));
    const omHeaders = { ...c.viewer, accept: 'application/openmetrics-text; version=1.0.0' };
    const omFirst = await timedGet(metrics, omHeaders);
    const om: Timed[] = [];
    for (let i = 0; i < SCRAPES; i++)
      om.push(
        await timedGet(metrics, { ...c.viewer, accept: 'application/openmetrics-text; version=1.0.0' }),
      );
    const json: Timed[] = [];
    for (let i = 0; i < SCRAPES; i++) json.push(await timedGet(`${c.url}/api/v1/links`, c.viewer));
    const directions = 2 * c.links;
    const text = warm.at(-1) as Timed;
    const { linkSamples } = text;
    console.log(`\n${sites} sites, ${c.links} links (${directions} directions), ${SCRAPES} scrapes each:`);
    console.log(
      `  /metrics        first after an evaluation ${first.ms.toFixed(0)} ms; then median ${median(warm.map((r) => r.ms)).toFixed(1)} ms; ${kb(text.bytes)}, ${text.samples} samples (${linkSamples} per-link, ${(linkSamples / c.links).toFixed(1)} per link)`,
    );
    console.log(
      `  one evaluation (all ${directions} directions, for comparison): ${text.evaluationMs?.toFixed(0)} ms on average`,
    );
    console.log(
      `  OpenMetrics     first ${omFirst.ms.toFixed(0)} ms; then median ${median(om.map((r) => r.ms)).toFixed(1)} ms; ${kb((om.at(-1) as Timed).bytes)}`,
    );
    console.log(
      `  /api/v1/links   median ${median(json.map((r) => r.ms)).toFixed(1)} ms; ${kb((json.at(-1) as Timed).bytes)} (the same figures as JSON)`,
    );
    console.log(
      `  blackbox_exporter instead: ${directions} probes (one per direction) × ${box.ms.toFixed(1)} ms = ${((directions * box.ms) / 1000).toFixed(1)} s of probe requests and ${kb(directions * box.bytes)} per scrape interval, at one probe per direction and only the RTT of a TCP connect`,
    );
  } finally {
    await c.close();
  }
}
