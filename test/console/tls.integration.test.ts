// The console over HTTPS: a collector with its TLS certificate serves the page, its files and the reads
// it makes on the same port, and the page works there as over HTTP (the matrix drawn, no error, no
// request elsewhere).
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium } from '../../testbed/chromium.ts';
import { startTestCollector, type TestCollector, tempDir } from '../../testbed/collector.ts';
import { TOKEN_ENV, twoSites } from '../../testbed/topologies.ts';
import { selfSignedCert } from '../support/tls.ts';
import { ensureConsoleBuilt } from './console.ts';

let c: TestCollector;
let browser: Browser;

beforeAll(async () => {
  await ensureConsoleBuilt();
  const tls = selfSignedCert(tempDir('console-tls'), 'ec');
  c = await startTestCollector(twoSites(), { env: TOKEN_ENV, tls });
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
  await c?.dispose();
});

describe('the console over HTTPS', () => {
  it('is served on the API’s own port and TLS, and draws the matrix from there', async () => {
    expect(c.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    const context = await browser.newContext({ ignoreHTTPSErrors: true });
    const page = await context.newPage();
    const errors: string[] = [];
    const foreign: string[] = [];
    page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('request', (r) => new URL(r.url()).origin !== c.url && foreign.push(r.url()));
    const res = await page.goto(`${c.url}/`);
    expect(res?.headers()['content-security-policy']).toContain("default-src 'self'");
    await page.waitForSelector('td[data-src="a"][data-dst="b"], td.cell.unmeasured');
    // No agent has sent a heartbeat: both rows are marked with the agent-down dot.
    expect(await page.locator('.matrix th.row').allTextContents()).toEqual(['● a', '● b']);
    expect(errors).toEqual([]);
    expect(foreign).toEqual([]);
    await context.close();
  });
});
