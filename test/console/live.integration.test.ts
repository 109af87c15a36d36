// The web console against a real collector fed by two real agents on loopback (UDP echo rounds; no
// monitoring iperf3 tests, which would hold the mesh qualification for up to a cycle), in headless
// Chromium: reads closed, so the page asks for a viewer credential; the matrix then shows every
// direction in the state /api/v1/links gives; a link made to breach appears firing in the page within
// 10 s of the collector saying so, without a reload; a mesh qualification is followed from running to
// done, and its report shown in the page (the collector's report page in a sandboxed frame); nothing is loaded from elsewhere and nothing is logged as an error.
import { readFileSync, writeFileSync } from 'node:fs';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CONSOLE_CSP } from '../../collector/console/static.ts';
import type { LinksReply } from '../../shared/wire.ts';
import { type Fleet, startFleet, twoLoopbackAgentSites } from '../../testbed/agents.ts';
import { launchChromium } from '../../testbed/chromium.ts';
import { eventually, startTestCollector, type TestCollector } from '../../testbed/collector.ts';
import {
  CREDENTIAL_ENV,
  OPERATOR_TOKEN,
  TOKEN_A,
  TOKEN_B,
  TOKEN_ENV,
  VIEWER_TOKEN,
} from '../../testbed/topologies.ts';
import { ensureConsoleBuilt, openConsole, type Watched } from './console.ts';

let collector: TestCollector;
let fleet: Fleet;
let browser: Browser;
let w: Watched;
let topology: (maxRttMs: number) => string;

beforeAll(async () => {
  await ensureConsoleBuilt();
  // Reads closed: the page must ask for a credential.
  const sites = (await twoLoopbackAgentSites()).replace('public_read: true', 'public_read: false');
  topology = (maxRttMs) => `thresholds: {max_rtt_ms: ${maxRttMs}, max_loss_percent: 50}
${sites}probes:
  rtt: {method: udp, interval: 500ms, count: 3, spacing: 20ms, timeout: 300ms}
  throughput: {enabled: false}
  heartbeat: {interval: 1s, timeout: 5s}
alerts: {for: 1s, clear_for: 1s, window: 3s}
`;
  collector = await startTestCollector(topology(80), {
    env: { ...TOKEN_ENV, ...CREDENTIAL_ENV },
    planRefreshMs: 500,
  });
  fleet = await startFleet(
    [
      { site: 'a', token: TOKEN_A },
      { site: 'b', token: TOKEN_B },
    ],
    { collector: collector.url, dir: collector.dir },
  );
  browser = await launchChromium();
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await fleet?.stop();
  await collector?.dispose();
});

async function links(): Promise<LinksReply> {
  const res = await fetch(`${collector.url}/api/v1/links`, {
    headers: { authorization: `Bearer ${VIEWER_TOKEN}` },
  });
  return (await res.json()) as LinksReply;
}

/** Each direction's state in the page's matrix, "src>dst" → state. */
async function pageStates(): Promise<Record<string, string>> {
  return w.page.$$eval('td.cell[data-src]', (cells) =>
    Object.fromEntries(
      cells.map((c) => [
        `${c.getAttribute('data-src')}>${c.getAttribute('data-dst')}`,
        c.getAttribute('data-state') ?? '',
      ]),
    ),
  );
}

const apiStates = (r: LinksReply) =>
  Object.fromEntries(r.links.flatMap((l) => l.directions.map((d) => [`${d.src}>${d.dst}`, d.state])));

describe('the console on a live collector', () => {
  it('is served at / with its own files only, under a strict Content-Security-Policy', async () => {
    const res = await fetch(`${collector.url}/`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(res.headers.get('content-security-policy')).toBe(CONSOLE_CSP);
    expect(CONSOLE_CSP).toContain("default-src 'self'");
    expect(CONSOLE_CSP).not.toContain('unsafe-inline');
    const html = await res.text();
    expect(html).not.toMatch(/<script(?![^>]*\ssrc=)/); // no inline script
    const js = /src="(\/console\/[^"]+\.js)"/.exec(html)?.[1];
    const asset = await fetch(`${collector.url}${js}`);
    expect(asset.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(asset.headers.get('cache-control')).toContain('immutable');
    expect((await fetch(`${collector.url}/console/../../package.json`)).status).toBe(404);
  });

  it('asks for a credential when reads are closed, then shows every direction in the state /api/v1/links gives', async () => {
    w = await openConsole(browser, collector.url);
    await w.page.waitForSelector('form.login:not([hidden])');
    await w.page.fill('form.login input', VIEWER_TOKEN);
    await w.page.click('form.login button');
    await w.page.waitForSelector('td.cell[data-src="a"][data-dst="b"]');
    // Once both directions are measured, page and API agree on each (the page polls every 3 s).
    await eventually(
      async () => {
        const api = apiStates(await links());
        if (Object.values(api).some((s) => s === 'unknown') || Object.keys(api).length !== 2)
          return undefined;
        const shown = await pageStates();
        return JSON.stringify(shown) === JSON.stringify(api) ? true : undefined;
      },
      20_000,
      'the matrix to show what /api/v1/links says, both directions measured',
    );
    expect(Object.values(await pageStates())).toEqual(['ok', 'ok']);
  });

  it('shows a firing alert within 10 s of the collector raising it, without a reload', async () => {
    let navigations = 0;
    w.page.on('framenavigated', () => navigations++);
    writeFileSync(collector.configPath, topology(0.001));
    await eventually(
      async () => ((await links()).links[0]?.alerts.rtt_high === 'firing' ? true : undefined),
      20_000,
      'rtt_high firing in the API',
    );
    const firedAt = Date.now();
    await w.page.waitForSelector('td.cell[data-state="firing"]', { timeout: 10_000 });
    await w.page.waitForSelector('[data-count="firing"].firing', { timeout: 10_000 });
    expect(Date.now() - firedAt).toBeLessThan(10_000);
    expect(navigations).toBe(0);
  });

  it('follows a mesh qualification live, from running to every link measured', async () => {
    const res = await fetch(`${collector.url}/api/v1/qualifications`, {
      method: 'POST',
      headers: { authorization: `Bearer ${OPERATOR_TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        links: null,
        duration_ms: 4000,
        test_duration_ms: 1000,
        rtt: { method: 'udp', count: 3, spacing_ms: 20, timeout_ms: 300 },
        skip_throughput: true,
      }),
    });
    expect(res.status).toBe(201);
    const { id } = (await res.json()) as { id: string };
    await w.page.click('nav a[href="#/qualifications"]');
    await w.page.waitForSelector(`section.qualification[data-id="${id}"][data-state="running"]`, {
      timeout: 10_000,
    });
    await w.page.waitForSelector(`section.qualification[data-id="${id}"][data-state="done"]`, {
      timeout: 30_000,
    });
    const row = w.page.locator(`section.qualification[data-id="${id}"] tr[data-state="done"]`);
    expect(await row.count()).toBe(1);
    expect(await row.locator('td').nth(4).textContent()).toMatch(/ms \/ .* ms \/ .* ms/);
    // Judged in the page as `wanwatch qualify` judges it; the report downloads as its HTML page.
    const section = w.page.locator(`section.qualification[data-id="${id}"]`);
    const verdict = await section.locator('.toolbar [data-verdict]').getAttribute('data-verdict');
    expect(['PASS', 'WARN', 'FAIL', 'ERROR']).toContain(verdict);
    expect(await row.locator('td.checks li').count()).toBeGreaterThan(0);
    const [file] = await Promise.all([
      w.page.waitForEvent('download'),
      section.locator('[data-download="html"]').click(),
    ]);
    const html = readFileSync((await file.path()) as string, 'utf8');
    expect(html).toMatch(/^<!doctype html>/);
    expect(html).toContain(`WAN link qualification <span class="badge" style="background:`);
    expect(html).toContain('a ↔ b');
    // Viewable in the page: the collector's report page in a sandboxed frame, showing the same verdict.
    await section.locator('[data-view="report"]').click();
    const frame = w.page.locator(`section.report-view[data-id="${id}"] iframe.report`);
    await frame.waitFor({ timeout: 5000 });
    expect(await frame.getAttribute('sandbox')).toBe('');
    const inside = w.page.frameLocator(`section.report-view[data-id="${id}"] iframe.report`);
    await expect
      .poll(async () => inside.locator('body').textContent({ timeout: 5000 }), { timeout: 10_000 })
      .toContain(`WAN link qualification ${verdict}`);
    expect(await inside.locator('body').textContent()).toContain('a ↔ b');
    // Its badge is styled (the report's inline styles apply under its own policy, not the console's).
    const badge = inside.locator('.badge').first();
    const background = (await badge.evaluate('(e) => getComputedStyle(e).backgroundColor')) as string;
    expect(background).not.toBe('rgba(0, 0, 0, 0)');
  });

  it('logged no error beyond the one refused read that asked for the credential, and requested nothing elsewhere', () => {
    expect(w.foreign).toEqual([]);
    expect(w.errors.filter((e) => !/status of 401/.test(e))).toEqual([]);
    expect(w.errors.filter((e) => /status of 401/.test(e)).length).toBeLessThanOrEqual(3);
  });
});
