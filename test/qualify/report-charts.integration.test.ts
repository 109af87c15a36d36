// The qualification report's charts as a reader sees them, in headless Chromium: built from real iperf3
// captures (a TCP test on loopback at some 20 Gbps, a UDP test sent at the required rate), the page is
// rendered and its SVG text read back. Every axis label lies inside its chart (none cut: "20287.0" once
// showed as "0287.0"); ticks are round numbers written without needless decimals; the UDP line is drawn
// over the "required" line, not under it; the ends carry the site names given instead of the host name;
// the test parameters are in the page; it stays one file that loads nothing.

import { randomUUID } from 'node:crypto';
import { mkdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseIperf3Report } from '../../probes/iperf3.ts';
import { directRequirement } from '../../qualify/direct.ts';
import { renderHtml } from '../../qualify/report/html.ts';
import { buildReport, linkReport, nameEnds, type QualifyReport } from '../../qualify/report/model.ts';
import { renderMarkdown } from '../../qualify/report/text.ts';
import { judgeLink, type LinkMeasurements } from '../../qualify/verdict.ts';
import type { ThroughputResult } from '../../shared/result.ts';
import { WANWATCH_VERSION } from '../../shared/version.ts';
import { launchChromium } from '../../testbed/chromium.ts';
import { rttResult } from '../../testbed/results.ts';

const capture = (name: string) =>
  readFileSync(new URL(`../fixtures/iperf3/${name}.json`, import.meta.url), 'utf8');

function fromCapture(name: string, time_ms: number): ThroughputResult {
  const parsed = parseIperf3Report(capture(name), '192.0.2.7:5201');
  if (!parsed.ok) throw new Error(`fixture ${name}: ${parsed.message}`);
  return {
    id: randomUUID(),
    kind: 'throughput',
    method: 'iperf3',
    src: 'qa-host-01',
    dst: '192.0.2.7',
    target: '192.0.2.7:5201',
    time_ms,
    duration_ms: parsed.stats.duration_ms,
    error: null,
    throughput: parsed.stats,
    loaded_rtt: null,
  };
}

let browser: Browser;
let html: string;
let report: QualifyReport;
let tcpTopMbps: number;
let tcpStreams: number;
let udpTargetMbps: number;
const shot = join(tmpdir(), 'wanwatch-report-charts');

beforeAll(async () => {
  const t0 = Date.UTC(2026, 10, 30, 9);
  const tcp = fromCapture('tcp-forward', t0 + 20_000);
  const udp = fromCapture('udp-5m', t0 + 40_000);
  tcpStreams = tcp.throughput?.streams ?? 0;
  tcpTopMbps = Math.max(...(tcp.throughput?.intervals_bps ?? []).map((b) => b / 1e6));
  udpTargetMbps = (udp.throughput?.target_bps ?? 0) / 1e6;
  const rounds: LinkMeasurements['rounds'] = Array.from({ length: 30 }, (_, i) => ({
    result: {
      ...rttResult(
        'qa-host-01',
        '192.0.2.7',
        t0 + i * 2000,
        Array.from({ length: 10 }, (_x, k) => 12 + ((i * 7 + k) % 5)),
      ),
    },
    loaded: i >= 10 && i < 14,
  }));
  const m: LinkMeasurements = { rounds, tcp: [tcp], udp: [udp], interrupted: false };
  // The UDP capture was sent at 5 Mbps: the link's requirement, as qualify sends UDP at it.
  const link = directRequirement('qa-host-01', '192.0.2.7', {
    subclusters: 1,
    mbps_per_subcluster: udpTargetMbps,
    extra_mbps: 0,
    max_rtt_ms: 80,
    max_loss_percent: 1,
    rtt_statistic: 'p95',
  });
  const built = buildReport({
    version: WANWATCH_VERSION,
    mode: 'direct',
    started_at_ms: t0,
    finished_at_ms: t0 + 60_000,
    duration_ms: 60_000,
    links: [linkReport(judgeLink(link, m), m)],
  });
  report = nameEnds(built, { from: 'dallas', to: 'london' });
  html = renderHtml(report);
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
});

interface Label {
  chart: string;
  cls: string;
  text: string;
  x: number;
  right: number;
  y: number;
  bottom: number;
  width: number;
  height: number;
}

describe('the qualification report’s charts', () => {
  it('draws every axis label whole, inside its chart, with round ticks', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
    const requests: string[] = [];
    page.on('request', (r) => requests.push(r.url()));
    await page.setContent(html);
    mkdirSync(shot, { recursive: true });
    await page.locator('svg[aria-label="Goodput over time"]').screenshot({ path: join(shot, 'goodput.png') });
    const labels = (await page.$$eval('svg.chart', (svgs) =>
      svgs.flatMap((svg) => {
        // As drawn, rotation included, relative to the chart's own box.
        const box = svg.getBoundingClientRect();
        return [...svg.querySelectorAll('text')].map((t) => {
          const b = t.getBoundingClientRect();
          return {
            chart: svg.getAttribute('aria-label') ?? '',
            cls: t.getAttribute('class') ?? '',
            text: t.textContent ?? '',
            x: b.left - box.left,
            right: b.right - box.left,
            y: b.top - box.top,
            bottom: b.bottom - box.top,
            width: box.width,
            height: box.height,
          };
        });
      }),
    )) as Label[];
    expect(labels.length).toBeGreaterThan(10);
    for (const l of labels) {
      expect(l.x, `"${l.text}" starts left of its chart`).toBeGreaterThanOrEqual(0);
      expect(l.right, `"${l.text}" ends right of its chart`).toBeLessThanOrEqual(l.width);
      expect(l.y, `"${l.text}" above its chart`).toBeGreaterThanOrEqual(0);
      expect(l.bottom, `"${l.text}" below its chart`).toBeLessThanOrEqual(l.height);
    }
    const ticks = (chart: string, cls: string) =>
      labels.filter((l) => l.chart === chart && l.cls === cls).map((l) => l.text);
    // Linear axes: round steps (1, 2, 2.5 or 5 × a power of ten), no needless decimals.
    for (const [chart, cls] of [
      ['RTT distribution', 'tick x'],
      ['RTT distribution', 'tick y'],
    ] as const) {
      const values = ticks(chart, cls).map(Number);
      const step = (values[1] as number) - (values[0] as number);
      const mantissa = step / 10 ** Math.floor(Math.log10(step) + 1e-9);
      expect(
        [1, 2, 2.5, 5].some((k) => Math.abs(mantissa - k) < 1e-6),
        `${chart} ${cls} step ${step}`,
      ).toBe(true);
      for (const [i, v] of values.entries()) expect(v).toBeCloseTo((values[0] as number) + i * step, 6);
      for (const t of ticks(chart, cls)) if (Number.isInteger(step)) expect(t).toMatch(/^\d+$/);
    }
    // Goodput: the TCP capture ran at over 10 Gbps against a 5 Mbps requirement, so the axis is
    // logarithmic, one tick per power of ten, the top one above the fastest second, each whole.
    expect(tcpTopMbps).toBeGreaterThan(10_000);
    const good = ticks('Goodput over time', 'tick y');
    expect(
      good.every((t) => /^(1|10+|0\.0*1)$/.test(t)),
      good.join(' '),
    ).toBe(true);
    expect(Math.max(...good.map(Number))).toBeGreaterThanOrEqual(tcpTopMbps);
    expect(labels.some((l) => l.text === 'goodput (Mbps, log scale)')).toBe(true);
    expect(ticks('Goodput over time', 'tick x')).toEqual(['1', '2']);
    expect(requests.filter((u) => u !== 'about:blank')).toEqual([]);
    await page.close();
  });

  it('draws the UDP test over the required line, where both lie at the required rate', async () => {
    const page = await browser.newPage();
    await page.setContent(html);
    const order = await page.$$eval('svg[aria-label="Goodput over time"] > *', (els) =>
      els.map((e) => e.getAttribute('class') ?? e.tagName),
    );
    const required = order.indexOf('required');
    const udp = order.indexOf('series udp');
    expect(required).toBeGreaterThanOrEqual(0);
    expect(udp).toBeGreaterThan(required);
    expect(
      await page.locator('svg[aria-label="Goodput over time"] g.series.udp circle').count(),
    ).toBeGreaterThan(1);
    const legend = await page.locator('svg[aria-label="Goodput over time"] + p.legend').textContent();
    expect(legend).toContain(`UDP dallas → london (sent at ${udpTargetMbps.toFixed(1)} Mbps)`);
    await page.close();
  });

  it('names the ends as asked and states the test parameters', async () => {
    const page = await browser.newPage();
    await page.setContent(html);
    const text = (await page.locator('body').textContent()) ?? '';
    expect(text).toContain('dallas ↔ london');
    expect(
      text.split('qa-host-01').length - 1,
      text.slice(Math.max(0, text.indexOf('qa-host-01') - 200), text.indexOf('qa-host-01') + 100),
    ).toBe(0);
    const params = (await page.locator('table.params').textContent()) ?? '';
    expect(params).toContain('UDP rounds of 10 probes, one every 2 s: 30 rounds');
    const cells = await page.$$eval('table.params tr', (rows) =>
      rows.map((r) => [...r.children].map((c) => c.textContent)),
    );
    expect(cells).toContainEqual([
      'TCP dallas → london',
      'TCP',
      String(tcpStreams),
      expect.stringMatching(/^\d+(\.\d)? s$/),
      'as fast as it goes',
    ]);
    expect(params).toContain(`${udpTargetMbps.toFixed(1)} Mbps`);
    // The Markdown report says the same in a sentence.
    expect(renderMarkdown(report)).toMatch(
      /Measured with: UDP RTT rounds of 10 probes, one every 2 s \(30 rounds\); iperf3: TCP dallas → london, \d+ streams?, [\d.]+ s; UDP dallas → london, 1 stream, [\d.]+ s at 5\.0 Mbps\./,
    );
    await page.close();
  });
});
