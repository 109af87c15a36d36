// The web console's two costs, each next to what a user would run instead, in the same run:
//   1. the overview of 50 sites (1,225 links, 2,450 directions) in headless Chromium: from opening the
//      page to every cell drawn, and one redraw from a poll's reply; beside it `wanwatch status`
//      printing the same links on a terminal;
//   2. a 30-day series of one link direction (10-second rounds: 259,200 of them) from
//      GET /api/v1/series: the first request (nothing cached: read from the 5-minute rollup kept at
//      ingest), the same computed from the rounds' JSON as before the rollup, the next poll's, and the
//      bytes; beside it the same month in Debian's InfluxDB 1.6.7 asked what the Grafana dashboards would ask
//      (min, max, p5, median and p95 per hour, InfluxQL).
//   npx tsx bench/console.ts [sites=50]
import { performance } from 'node:perf_hooks';
import { execa } from 'execa';
import { SeriesCache } from '../collector/store/series.ts';
import { deriveLinks } from '../shared/topology/requirements.ts';
import { launchChromium } from '../testbed/chromium.ts';
import { startTestCollector } from '../testbed/collector.ts';
import { seedHistory } from '../testbed/history.ts';
import { startInfluxd } from '../testbed/influxd.ts';

const SITES = Number(process.argv[2] ?? 50);
const DAY = 86_400_000;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

function meshTopology(n: number): string {
  const sites = Array.from({ length: n }, (_, i) => `s${String(i).padStart(2, '0')}`);
  // One cluster with nodes at every site: every pair of sites is a link.
  return `sites:
${sites.map((s, i) => `  ${s}: {address: 127.0.${Math.floor(i / 250)}.${(i % 250) + 1}}`).join('\n')}
clusters:
  east:
    subclusters:
${sites.map((s, i) => `      sc${i}: {nodes: {n${i}a: ${s}, n${i}b: ${sites[(i + 1) % n]}}}`).join('\n')}
alerts: {for: 1m, clear_for: 1m, window: 5m}
collector:
  public_read: true
`;
}

async function overview(): Promise<void> {
  const c = await startTestCollector(meshTopology(SITES));
  try {
    const links = deriveLinks(c.topology());
    seedHistory(c.store, { links, nowMs: Date.now(), spanMs: 10 * 60_000, rttIntervalMs: 60_000 });
    await c.evaluateNow();
    const cells = links.length * 2;
    const browser = await launchChromium();
    const loads: number[] = [];
    const renders: number[] = [];
    try {
      for (let run = 0; run < 5; run++) {
        const page = await browser.newPage({ viewport: { width: 1600, height: 1000 } });
        const t0 = performance.now();
        await page.goto(`${c.url}/`);
        await page.waitForFunction(`document.querySelectorAll('td.cell').length === ${cells}`, undefined, {
          timeout: 30_000,
          polling: 20,
        });
        loads.push(performance.now() - t0);
        renders.push(Number(await page.getAttribute('#page', 'data-render-ms')));
        await page.close();
      }
    } finally {
      await browser.close();
    }
    const status: number[] = [];
    for (let run = 0; run < 3; run++) {
      const t0 = performance.now();
      await execa('node', ['bin/wanwatch.js', 'status', '--collector', c.url], { reject: false });
      status.push(performance.now() - t0);
    }
    const bytes = (await (await fetch(`${c.url}/api/v1/links`)).text()).length;
    console.log(
      `overview, ${SITES} sites, ${links.length} links, ${cells} cells (links reply ${Math.round(bytes / 1024)} KB):`,
    );
    console.log(
      `  console: page opened to every cell drawn  median ${Math.round(median(loads))} ms  (runs: ${loads.map(Math.round).join(', ')})`,
    );
    console.log(`  console: one redraw of the matrix         median ${Math.round(median(renders))} ms`);
    console.log(`  wanwatch status (a new process each time)  median ${Math.round(median(status))} ms`);
  } finally {
    await c.dispose();
  }
}

async function series(): Promise<void> {
  const topo = `sites:
  a: {address: 127.0.0.1}
  b: {address: 127.0.0.2}
clusters:
  east: {subclusters: {sc1: {nodes: {n1: a, n2: b}}}}
collector:
  public_read: true
`;
  const c = await startTestCollector(topo);
  const influx = await startInfluxd();
  try {
    const now = Date.now();
    const from = now - 30 * DAY;
    const t0 = performance.now();
    const n = seedHistory(c.store, {
      links: deriveLinks(c.topology()),
      nowMs: now,
      spanMs: 30 * DAY,
      rttIntervalMs: 10_000,
    });
    console.log(`series: ${n} results seeded in ${Math.round((performance.now() - t0) / 1000)} s`);
    const url = (to: number) =>
      `${c.url}/api/v1/series?src=a&dst=b&from=${to - 30 * DAY}&to=${to}&points=1000`;
    const timed = async (u: string) => {
      const s = performance.now();
      const res = await fetch(u);
      const body = await res.text();
      return {
        ms: performance.now() - s,
        bytes: body.length,
        points: (JSON.parse(body) as { rtt: { time_ms: number[] } }).rtt.time_ms.length,
      };
    };
    const cold = await timed(url(now));
    const polls: number[] = [];
    for (let i = 1; i <= 5; i++) polls.push((await timed(url(now + i * 10_000))).ms);
    // The first request again in-process (a new cache each time, no HTTP): from the rollup, and from
    // the rounds' JSON as before the rollup, turn about.
    const inProcess = { rollup: [] as number[], rounds: [] as number[] };
    for (let i = 0; i < 3; i++) {
      for (const rollup of [true, false]) {
        const s = performance.now();
        await new SeriesCache(c.store.db, { rollup }).series({
          src: 'a',
          dst: 'b',
          fromMs: now - 30 * DAY,
          toMs: now,
          points: 1000,
        });
        inProcess[rollup ? 'rollup' : 'rounds'].push(performance.now() - s);
      }
    }

    // The same month of a → b rounds in InfluxDB, as the collector's output would have written it.
    await influx.createDatabase('wanwatch');
    const rounds = c.store.rttResults('a', 'b', from, now);
    for (let i = 0; i < rounds.length; i += 10_000) {
      const lines = rounds
        .slice(i, i + 10_000)
        .filter((r) => r.rtt?.rtt_median_ms !== null && r.rtt !== null)
        .map(
          (r) =>
            `rtt,src=a,dst=b rtt_min_ms=${r.rtt?.rtt_min_ms},rtt_max_ms=${r.rtt?.rtt_max_ms},rtt_median_ms=${r.rtt?.rtt_median_ms} ${r.time_ms}`,
        )
        .join('\n');
      const res = await fetch(`${influx.url}/write?db=wanwatch&precision=ms`, {
        method: 'POST',
        body: lines,
      });
      if (res.status !== 204) throw new Error(`influx write: ${res.status} ${await res.text()}`);
    }
    const q = `SELECT min(rtt_min_ms), max(rtt_max_ms), percentile(rtt_median_ms, 5), median(rtt_median_ms), percentile(rtt_median_ms, 95) FROM rtt WHERE src = 'a' AND dst = 'b' AND time >= ${from}ms AND time < ${now}ms GROUP BY time(1h)`;
    const influxRuns: { ms: number; bytes: number }[] = [];
    for (let i = 0; i < 3; i++) {
      const s = performance.now();
      const res = await fetch(`${influx.url}/query?db=wanwatch&epoch=ms&q=${encodeURIComponent(q)}`);
      const body = await res.text();
      influxRuns.push({ ms: performance.now() - s, bytes: body.length });
    }
    console.log(`series, 30 days of one direction (${rounds.length} rounds of 10 s):`);
    console.log(
      `  GET /api/v1/series, first request        ${Math.round(cold.ms)} ms, ${Math.round(cold.bytes / 1024)} KB, ${cold.points} points`,
    );
    const runs = (xs: number[]) =>
      `median ${Math.round(median(xs))} ms  (runs: ${xs.map(Math.round).join(', ')})`;
    console.log(`  first request in-process, from the rollup   ${runs(inProcess.rollup)}`);
    console.log(
      `  first request in-process, from the rounds   ${runs(inProcess.rounds)}  (before the rollup)`,
    );
    console.log(
      `  GET /api/v1/series, each next poll       median ${Math.round(median(polls))} ms  (runs: ${polls.map(Math.round).join(', ')})`,
    );
    console.log(
      `  InfluxDB 1.6.7, same buckets (InfluxQL)  median ${Math.round(median(influxRuns.map((r) => r.ms)))} ms, ${Math.round((influxRuns[0]?.bytes ?? 0) / 1024)} KB  (runs: ${influxRuns.map((r) => Math.round(r.ms)).join(', ')})`,
    );
  } finally {
    await influx.close();
    await c.dispose();
  }
}

// The console as `npm run build:console` builds it (bench/ may not import scripts/).
await execa('npx', ['tsx', 'scripts/build-console.ts'], { stdio: 'inherit' });
await overview();
await series();
