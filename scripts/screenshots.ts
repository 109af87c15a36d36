// Takes the screenshots of the web console in docs/img/ (shown in docs/console.md): a real collector
// on loopback whose store holds 30 days of history for six sites (testbed/history.ts), one link
// congested now so that its alert fires, one site's agent silent; headless Chromium opens each page.
// The Qualifications page is taken from a second collector whose two real agents on loopback qualify
// their link.
// Run: npx tsx scripts/screenshots.ts   (needs Chromium: WANWATCH_CHROMIUM, default /usr/bin/chromium)
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser } from 'playwright-core';
import { deriveLinks } from '../shared/topology/requirements.ts';
import { startFleet, twoLoopbackAgentSites } from '../testbed/agents.ts';
import { launchChromium } from '../testbed/chromium.ts';
import { startTestCollector } from '../testbed/collector.ts';
import { seedHistory } from '../testbed/history.ts';
import { CREDENTIAL_ENV, OPERATOR_TOKEN, TOKEN_A, TOKEN_B, TOKEN_ENV } from '../testbed/topologies.ts';
import { ensureConsoleBuilt } from './build-console.ts';

const OUT = fileURLToPath(new URL('../docs/img/', import.meta.url));
const SITES = ['dallas', 'london', 'frankfurt', 'singapore', 'tokyo', 'saopaulo'];

const topology = `thresholds: {max_rtt_ms: 80, max_loss_percent: 1, mbps_per_subcluster: 5}
sites:
${SITES.map((s, i) => `  ${s}: {address: 127.0.0.${i + 1}}`).join('\n')}
clusters:
  east:
    subclusters:
      sc1: {nodes: {cup1a: dallas, cup1b: london}}
      sc2: {nodes: {cup2a: frankfurt, cup2b: london}}
      sc3: {nodes: {cup3a: saopaulo, cup3b: dallas}}
  west:
    subclusters:
      sc4: {nodes: {cup4a: singapore, cup4b: tokyo}}
intercluster: [[east, west]]
links: [{between: [dallas, london], extra_mbps: 2}]
probes:
  heartbeat: {interval: 1m, timeout: 30s}
alerts: {for: 1s, clear_for: 1m, window: 5m}
collector:
  public_read: true
`;

const now = Date.now();
const c = await startTestCollector(topology);
try {
  await ensureConsoleBuilt();
  const links = deriveLinks(c.topology());
  const n = seedHistory(c.store, {
    links,
    nowMs: now,
    spanMs: 30 * 86_400_000,
    congestedNow: ['london--singapore'],
  });
  for (const site of SITES.filter((s) => s !== 'saopaulo'))
    c.store.recordHeartbeat(
      {
        site,
        version: '0.1.0',
        time_ms: now,
        started_at_ms: now - 9 * 86_400_000,
        plan_version: null,
        spool_queued: 0,
        spool_dropped: 0,
        errors: 0,
        errors_by_code: site === 'tokyo' ? { timeout: 3 } : {},
        spool_error: null,
        responder: {
          reflector: { up: true, last_error: null },
          iperf3: { up: true, last_error: null, restarts: site === 'tokyo' ? 1 : 0 },
        },
      },
      now,
    );
  await c.evaluateNow();
  await new Promise((r) => setTimeout(r, 1500));
  await c.evaluateNow();
  console.log(`${n} results in the store; collector at ${c.url}`);

  mkdirSync(OUT, { recursive: true });
  const browser = await launchChromium();
  try {
    const page = await browser.newPage({ viewport: { width: 1440, height: 900 }, deviceScaleFactor: 1 });
    const shot = async (hash: string, file: string, ready: string, fullPage = false) => {
      await page.goto(`${c.url}/${hash}`);
      await page.waitForSelector(ready);
      await page.waitForTimeout(400);
      await page.screenshot({ path: join(OUT, file), fullPage });
      console.log(`docs/img/${file}`);
    };
    await shot('#/', 'console-overview.png', 'td.cell[data-src]');
    await page.evaluate(`sessionStorage.setItem('wanwatch.range', '${7 * 86_400_000}')`);
    await shot('#/link/london/singapore', 'console-link.png', '[data-chart="goodput"] canvas', true);
    await shot('#/alerts', 'console-alerts.png', 'table.list tbody tr');
    await shot('#/agents', 'console-agents.png', '#agents tbody tr');
    await shot('#/plan', 'console-plan.png', '#plan tbody tr');
    await qualificationShot(browser);
    await largeShot(browser);
  } finally {
    await browser.close();
  }
} finally {
  await c.dispose();
}

/**
 * The Qualifications page needs a real run: a second collector with two real agents on loopback (UDP
 * echo, iperf3) qualifies its link for a few seconds, and the page is taken once it is judged, then
 * again showing its report.
 */
async function qualificationShot(browser: Browser): Promise<void> {
  const sites = await twoLoopbackAgentSites();
  const q = await startTestCollector(
    `thresholds: {max_rtt_ms: 80, max_loss_percent: 1}
${sites}probes:
  rtt: {method: udp, interval: 1s, count: 5, spacing: 20ms, timeout: 300ms}
  throughput: {enabled: false}
  heartbeat: {interval: 1s, timeout: 5s}
`,
    { env: { ...TOKEN_ENV, ...CREDENTIAL_ENV } },
  );
  const fleet = await startFleet(
    [
      { site: 'a', token: TOKEN_A },
      { site: 'b', token: TOKEN_B },
    ],
    { collector: q.url, dir: q.dir },
  );
  try {
    const res = await fetch(`${q.url}/api/v1/qualifications`, {
      method: 'POST',
      headers: { authorization: `Bearer ${OPERATOR_TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        links: null,
        duration_ms: 8000,
        test_duration_ms: 1000,
        rtt: { method: 'udp', count: 10, spacing_ms: 20, timeout_ms: 300 },
        skip_throughput: false,
      }),
    });
    if (res.status !== 201) throw new Error(`qualification refused: ${res.status} ${await res.text()}`);
    const page = await browser.newPage({ viewport: { width: 1440, height: 900 }, deviceScaleFactor: 1 });
    await page.goto(`${q.url}/#/qualifications`);
    await page.waitForSelector('section.qualification [data-verdict]', { timeout: 60_000 });
    await page.waitForTimeout(400);
    await page.screenshot({ path: join(OUT, 'console-qualifications.png') });
    console.log('docs/img/console-qualifications.png');
    // Its report in the page: the collector's report page in the page's frame.
    await page.click('section.qualification [data-view="report"]');
    await page
      .frameLocator('iframe.report')
      .locator('text=WAN link qualification')
      .first()
      .waitFor({ timeout: 10_000 });
    await page.waitForTimeout(300);
    await page.screenshot({ path: join(OUT, 'console-qualification-report.png') });
    console.log('docs/img/console-qualification-report.png');
  } finally {
    await fleet.stop();
    await q.dispose();
  }
}

/** The overview at 30 sites (435 links): cells show their state only, the numbers in their tooltips. */
async function largeShot(browser: Browser): Promise<void> {
  const n = 30;
  const names = Array.from({ length: n }, (_, i) => `site${String(i).padStart(2, '0')}`);
  const big = await startTestCollector(`sites:
${names.map((s, i) => `  ${s}: {address: 127.0.1.${i + 1}}`).join('\n')}
clusters:
  east:
    subclusters:
${names.map((s, i) => `      sc${i}: {nodes: {n${i}a: ${s}, n${i}b: ${names[(i + 1) % n]}}}`).join('\n')}
thresholds: {max_loss_percent: 5}
alerts: {for: 1s, clear_for: 1m, window: 5m}
collector:
  public_read: true
`);
  try {
    const congested = ['site03--site17', 'site05--site22', 'site11--site12'];
    seedHistory(big.store, {
      links: deriveLinks(big.topology()),
      nowMs: Date.now(),
      spanMs: 15 * 60_000,
      congestedNow: congested,
    });
    for (const site of names)
      big.store.recordHeartbeat(
        {
          site,
          version: '0.1.0',
          time_ms: Date.now(),
          started_at_ms: Date.now() - 86_400_000,
          plan_version: null,
          spool_queued: 0,
          spool_dropped: 0,
          errors: 0,
        },
        Date.now(),
      );
    await big.evaluateNow();
    await new Promise((r) => setTimeout(r, 1500));
    await big.evaluateNow();
    const page = await browser.newPage({ viewport: { width: 1440, height: 900 }, deviceScaleFactor: 1 });
    await page.goto(`${big.url}/`);
    await page.waitForSelector('td.cell[data-src]');
    await page.waitForTimeout(400);
    await page.screenshot({ path: join(OUT, 'console-overview-30-sites.png') });
    console.log('docs/img/console-overview-30-sites.png');
  } finally {
    await big.dispose();
  }
}
