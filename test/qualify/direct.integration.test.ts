// `wanwatch qualify` in direct mode against a real responder (UDP echo reflector and iperf3 server) on
// loopback, the HTML report looked at in headless Chromium, Ctrl-C, and bad arguments.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { QualifyReport } from '../../qualify/report/model.ts';
import { type Responder, startResponder } from '../../responder/index.ts';
import { launchChromium } from '../../testbed/chromium.ts';
import { WANWATCH, wanwatch } from '../support/cli.ts';

describe('wanwatch qualify, direct mode, on loopback', () => {
  let responder: Responder;
  let ports: string[];
  const dir = mkdtempSync(join(tmpdir(), 'wanwatch-qualify-'));
  const html = join(dir, 'report.html');
  const markdown = join(dir, 'report.md');

  beforeAll(async () => {
    responder = await startResponder({ address: '127.0.0.1', reflector_port: 0, iperf3_port: 0 });
    ports = ['--port', String(responder.reflector.port), '--iperf3-port', String(responder.iperf3?.port)];
  });
  afterAll(async () => {
    await responder?.close();
  });

  it('passes a link that carries one subcluster easily (exit 0) and writes every report', async () => {
    const r = await wanwatch(
      [
        'qualify',
        '--to',
        '127.0.0.1',
        '--subclusters',
        '1',
        '--duration',
        '10s',
        ...ports,
        '--json',
        '--html',
        html,
        '--markdown',
        markdown,
      ],
      { timeout: 60_000 },
    );
    expect(r.stderr).toContain('TCP forward');
    expect(r.exitCode, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout) as QualifyReport;
    expect(report.verdict).toBe('PASS');
    const [link] = report.links;
    expect(link?.link.required_mbps).toBe(5);
    expect(link?.checks.map((c) => c.name)).toEqual([
      'rtt',
      'loss',
      expect.stringMatching(/^tcp .* → 127\.0\.0\.1$/),
      expect.stringMatching(/^tcp 127\.0\.0\.1 → /),
      expect.stringMatching(/^udp loss .* → 127\.0\.0\.1$/),
      expect.stringMatching(/^udp loss 127\.0\.0\.1 → /),
      'rtt under load',
    ]);
    // RTT rounds ran for the whole ten seconds, idle and while the link was loaded.
    expect(link?.rtt_idle.sent).toBeGreaterThanOrEqual(20);
    expect(link?.rtt_loaded.sent).toBeGreaterThanOrEqual(10);
    expect(link?.rtt_idle.received).toBe(link?.rtt_idle.sent);
    for (const t of link?.throughput ?? []) expect(t.goodput_bps).toBeGreaterThan(4e6);
    expect(readFileSync(markdown, 'utf8')).toMatch(/^# WAN link qualification: PASS/);
  });

  it('renders the HTML report in Chromium with its verdicts and charts, and the page requests nothing', async () => {
    const browser = await launchChromium();
    try {
      const page = await browser.newPage({ viewport: { width: 1250, height: 900 } });
      const requests: string[] = [];
      page.on('request', (req) => requests.push(req.url()));
      await page.goto(`file://${html}`);
      // biome-ignore lint/performance/useDomNodeTextContent: rendered text is what a person sees
      const text = await page.innerText('body');
      expect(text).toContain('WAN link qualification');
      expect(text).toMatch(/PASS/);
      expect(text).toContain('RTT distribution');
      expect(text).toContain('Goodput over time');
      // Two charts with bars and lines drawn from the data, not empty frames.
      expect(await page.locator('svg.chart').count()).toBe(2);
      // Bars for the idle and the loaded samples (loopback RTTs may fall into very few bins).
      expect(await page.locator('svg.chart rect').count()).toBeGreaterThanOrEqual(2);
      expect(await page.locator('svg.chart polyline, svg.chart circle').count()).toBeGreaterThanOrEqual(4);
      const shot = await page.screenshot({ path: join(dir, 'report.png'), fullPage: true });
      expect(shot.length).toBeGreaterThan(20_000);
      expect(requests).toEqual([`file://${html}`]);
    } finally {
      await browser.close();
    }
  });

  it('fails a link that cannot carry the requirement (exit 1) and says why', async () => {
    const r = await wanwatch(
      [
        'qualify',
        '--to',
        '127.0.0.1',
        '--subclusters',
        '100000',
        '--duration',
        '5s',
        '--test-duration',
        '1s',
        ...ports,
      ],
      {
        timeout: 60_000,
      },
    );
    expect(r.exitCode, r.stderr).toBe(1);
    expect(r.stdout).toMatch(/FAIL +TCP goodput .* Mbps < 500000 Mbps required \(100000 subclusters\)/);
    expect(r.stdout).toContain('Verdict: FAIL');
  });

  it('stops cleanly on Ctrl-C and reports what it measured (exit 2: incomplete)', async () => {
    const child = execa(
      'node',
      [
        WANWATCH,
        'qualify',
        '--to',
        '127.0.0.1',
        '--subclusters',
        '1',
        '--duration',
        '60s',
        ...ports,
        '--json',
      ],
      {
        reject: false,
      },
    );
    await new Promise((r) => setTimeout(r, 4000));
    child.kill('SIGINT');
    const r = await child;
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain('stopping; reporting what was measured');
    const report = JSON.parse(r.stdout) as QualifyReport;
    expect(report.verdict).toBe('ERROR');
    expect(report.links[0]?.interrupted).toBe(true);
    expect(report.links[0]?.rtt_idle.sent).toBeGreaterThan(0);
  });

  it('refuses incomplete or contradictory arguments with exit 2', async () => {
    const none = await wanwatch(['qualify']);
    expect(none.exitCode).toBe(2);
    expect(none.stderr).toContain(
      'say what to qualify: --to HOST --subclusters N, or -c FILE --collector URL',
    );
    const noNeed = await wanwatch(['qualify', '--to', '127.0.0.1']);
    expect(noNeed.exitCode).toBe(2);
    expect(noNeed.stderr).toContain('direct mode needs --subclusters N');
    const both = await wanwatch(['qualify', '--to', '127.0.0.1', '-c', 'examples/full.yaml']);
    expect(both.exitCode).toBe(2);
    expect(both.stderr).toContain('not both');
    const badDuration = await wanwatch([
      'qualify',
      '--to',
      '127.0.0.1',
      '--subclusters',
      '1',
      '--duration',
      'soon',
    ]);
    expect(badDuration.exitCode).toBe(2);
    expect(badDuration.stderr).toContain('--duration must be seconds');
  });

  it('reports a far end with no reflector as an error (exit 2), not a crash or a FAIL', async () => {
    const r = await wanwatch(
      [
        'qualify',
        '--to',
        '127.0.0.1',
        '--subclusters',
        '1',
        '--duration',
        '3s',
        '--port',
        '9',
        '--iperf3-port',
        '9',
        '--test-duration',
        '1s',
      ],
      {
        timeout: 60_000,
      },
    );
    // Nothing listens on port 9: every probe is refused, which says the far end runs no reflector, not
    // that the link loses packets; the run is incomplete (ERROR, exit 2), not a FAIL.
    expect(r.exitCode).toBe(2);
    expect(r.stdout).toContain('ERROR RTT not measured: round not measured: all');
    expect(r.stdout).toContain('no reflector listens there');
    expect(r.stdout).toMatch(/TCP goodput .* not measured: .*refused/);
  });
});
