// The console against a collector whose store holds 30 days of results for three sites (testbed/
// history.ts), in headless Chromium: the matrix agrees with /api/v1/links; clicking a cell opens that
// link's page, whose latency chart holds the series the series endpoint gives, with the limit line; the
// range buttons change the range fetched; the other pages render what the API says; a cell red for loss
// says so; no console error, no request outside the collector's origin.
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { percent } from '../../console/format.ts';
import type { SeriesReply } from '../../shared/series-wire.ts';
import { deriveLinks } from '../../shared/topology/requirements.ts';
import { VERSION_HEADER } from '../../shared/version.ts';
import type { AgentsReply, LinksReply } from '../../shared/wire.ts';
import { launchChromium } from '../../testbed/chromium.ts';
import { eventually, startTestCollector, type TestCollector } from '../../testbed/collector.ts';
import { seedHistory } from '../../testbed/history.ts';
import { batch, rttResult } from '../../testbed/results.ts';
import { TOKEN_A, TOKEN_ENV, threeSites } from '../../testbed/topologies.ts';
import { ensureConsoleBuilt, openConsole, type Watched } from './console.ts';

const DAY = 86_400_000;
let c: TestCollector;
let browser: Browser;
let w: Watched;

beforeAll(async () => {
  await ensureConsoleBuilt();
  c = await startTestCollector(threeSites({ alerts: '{for: 1m, clear_for: 1m, window: 5m}' }), {
    env: TOKEN_ENV,
  });
  seedHistory(c.store, {
    links: deriveLinks(c.topology()),
    nowMs: Date.now(),
    spanMs: 30 * DAY,
    rttIntervalMs: 180_000,
  });
  await c.evaluateNow();
  browser = await launchChromium();
  w = await openConsole(browser, c.url);
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await c?.dispose();
});

const read = async <T>(path: string): Promise<T> => (await (await fetch(`${c.url}${path}`)).json()) as T;

describe('the console on 30 days of history', () => {
  it('shows each direction in the matrix in the state /api/v1/links gives', async () => {
    await w.page.waitForSelector('td.cell[data-src]');
    const links = await read<LinksReply>('/api/v1/links');
    const api = Object.fromEntries(
      links.links.flatMap((l) => l.directions.map((d) => [`${d.src}>${d.dst}`, d.state])),
    );
    expect(Object.keys(api)).toHaveLength(6);
    const shown = await w.page.$$eval('td.cell[data-src]', (cells) =>
      Object.fromEntries(
        cells.map((x) => [
          `${x.getAttribute('data-src')}>${x.getAttribute('data-dst')}`,
          x.getAttribute('data-state'),
        ]),
      ),
    );
    expect(shown).toEqual(api);
    // No agent sent a heartbeat to this store: every site's row says its agent is down.
    const agents = await read<AgentsReply>('/api/v1/agents');
    expect(agents.agents.every((a) => !a.up)).toBe(true);
    expect(await w.page.locator('th.row.down').count()).toBe(agents.agents.length);
  });

  it('opens the link page from a cell, its latency chart holding the series endpoint’s points and the limit line', async () => {
    await w.page.click('td.cell[data-src="a"][data-dst="c"] a');
    await w.page.waitForSelector('[data-chart="latency"][data-src="a"][data-dst="c"] canvas');
    expect(w.page.url()).toMatch(/#\/link\/a\/c$/);
    const asked = w.series.at(-1) as URLSearchParams;
    const reply = await read<SeriesReply>(
      `/api/v1/series?${new URLSearchParams({ src: 'a', dst: 'c', from: asked.get('from') ?? '', to: asked.get('to') ?? '', points: asked.get('points') ?? '' })}`,
    );
    const chart = w.page.locator('[data-chart="latency"][data-src="a"][data-dst="c"]');
    expect(Number(await chart.getAttribute('data-points'))).toBe(reply.rtt.time_ms.length);
    expect(reply.rtt.time_ms.length).toBeGreaterThan(100);
    const labels = await chart.locator('.u-legend .u-series .u-label').allTextContents();
    expect(labels).toEqual(['time', 'max', 'p95', 'median', 'p5', 'min', 'under load', 'limit 80.0 ms']);
    await expect.poll(() => w.page.locator('.requirement').textContent()).toContain('10 Mbps');
  });

  it('fetches the range of each button it is given', async () => {
    for (const [label, span] of [
      ['30d', 30 * DAY],
      ['1h', 3_600_000],
      ['7d', 7 * DAY],
    ] as const) {
      const before = w.series.length;
      await w.page.click(`button[data-range="${label}"]`);
      await eventually(
        () => (w.series.length >= before + 2 ? true : undefined),
        10_000,
        `the ${label} requests`,
      );
      for (const q of w.series.slice(before)) expect(Number(q.get('to')) - Number(q.get('from'))).toBe(span);
      await w.page.waitForSelector(`button[data-range="${label}"].on`);
      // Drawn from the new range (a drag must not land on the chart it replaces).
      await w.page.waitForSelector(
        `[data-chart="latency"][data-src="a"][data-dst="c"][data-span-ms="${span}"] canvas`,
      );
    }
    // Dragging across a chart fetches the span dragged, a fraction of the 7 days shown.
    const canvas = w.page.locator('[data-chart="latency"][data-src="a"][data-dst="c"] .u-over');
    const box = await canvas.boundingBox();
    if (!box) throw new Error('no chart to drag across');
    const before = w.series.length;
    await w.page.mouse.move(box.x + box.width * 0.4, box.y + box.height / 2);
    await w.page.mouse.down();
    await w.page.mouse.move(box.x + box.width * 0.6, box.y + box.height / 2, { steps: 5 });
    await w.page.mouse.up();
    await eventually(() => (w.series.length >= before + 2 ? true : undefined), 10_000, 'the zoomed requests');
    const zoomed = w.series.at(-1) as URLSearchParams;
    const span = Number(zoomed.get('to')) - Number(zoomed.get('from'));
    expect(span).toBeGreaterThan(0.15 * 7 * DAY);
    expect(span).toBeLessThan(0.25 * 7 * DAY);
    await w.page.waitForSelector('button:has-text("reset zoom")');
    // A month of one direction, as the chart got it: at most 1,000 points.
    const month = await read<SeriesReply>(
      `/api/v1/series?src=a&dst=c&from=${Date.now() - 30 * DAY}&to=${Date.now()}&points=1000`,
    );
    expect(month.rtt.time_ms.length).toBeLessThanOrEqual(1000);
    expect(month.alerts.length).toBeGreaterThan(0);
  });

  it('lists the agents, the plan and the alerts as the API gives them', async () => {
    // Site a's agent claims a release line after the collector's: refused, and the page says so.
    const refused = await fetch(`${c.url}/api/v1/plan?site=a`, {
      headers: { authorization: `Bearer ${TOKEN_A}`, [VERSION_HEADER]: '99.0.0' },
    });
    expect(refused.status).toBe(403);
    await w.page.goto(`${c.url}/#/agents`);
    await w.page.waitForSelector('#agents tbody tr');
    const agents = await read<AgentsReply>('/api/v1/agents');
    expect(await w.page.locator('#agents tbody tr').count()).toBe(agents.agents.length);
    await w.page.waitForSelector(
      '#agents tr[data-site="a"] .problems :text("refused: wanwatch 99.0.0 is too new")',
    );
    await w.page.goto(`${c.url}/#/plan`);
    await w.page.waitForSelector('#plan tbody tr');
    expect(await w.page.locator('#plan tbody tr').allTextContents()).toEqual(
      expect.arrayContaining([expect.stringContaining('2 × 5 Mbps')]),
    );
    await w.page.goto(`${c.url}/#/alerts`);
    await w.page.waitForSelector('table.list tbody tr');
  });

  it('says which measure fails in a cell red for loss while its RTT is within the limit', async () => {
    await w.page.goto(`${c.url}/#/`);
    await w.page.waitForSelector('td.cell[data-src="b"][data-dst="c"]');
    expect(await w.page.locator('td.cell[data-src="b"][data-dst="c"] .loss').count()).toBe(0);
    // The last two minutes of b → c: fast replies, three probes in four lost (the limit is 50 %).
    const now = Date.now();
    const rounds = Array.from({ length: 12 }, (_, i) =>
      rttResult('b', 'c', now - 120_000 + i * 10_000, [12, null, null, null]),
    );
    c.store.ingestBatch(batch('b', rounds), now);
    await c.evaluateNow();
    const links = await read<LinksReply>('/api/v1/links');
    const d = links.links.flatMap((l) => l.directions).find((x) => x.src === 'b' && x.dst === 'c');
    expect(d?.loss_percent).toBeGreaterThan(d?.max_loss_percent as number);
    expect(d?.rtt_ms).toBeLessThanOrEqual(d?.max_rtt_ms as number);
    const cell = w.page.locator('td.cell[data-src="b"][data-dst="c"]');
    await expect
      .poll(async () => (await cell.locator('.loss').count()) > 0 && cell.locator('.loss').textContent(), {
        timeout: 10_000,
      })
      .toBe(`loss ${percent(d?.loss_percent)}`);
    expect(await cell.locator('.rtt').getAttribute('class')).toBe('rtt');
  });

  it('logged no error and requested nothing outside its origin', () => {
    expect(w.errors).toEqual([]);
    expect(w.foreign).toEqual([]);
  });
});
