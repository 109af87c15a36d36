// What the console's browser tests share: the console built from its sources as they are, and a page
// in headless Chromium that records every console error, uncaught exception and request that leaves
// the collector's origin.
import type { Browser, Page } from 'playwright-core';
import { ensureConsoleBuilt } from '../../scripts/build-console.ts';

export { ensureConsoleBuilt };

export interface Watched {
  page: Page;
  /** Console errors and uncaught exceptions, as text. */
  errors: string[];
  /** Every request to another origin than the collector's. */
  foreign: string[];
  /** Every series request, as its URL's search parameters. */
  series: URLSearchParams[];
}

export async function openConsole(browser: Browser, origin: string, path = '/'): Promise<Watched> {
  const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
  const page = await context.newPage();
  const errors: string[] = [];
  const foreign: string[] = [];
  const series: URLSearchParams[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(m.text());
  });
  page.on('pageerror', (e) => errors.push(`uncaught: ${e.message}`));
  page.on('request', (r) => {
    const u = new URL(r.url());
    if (u.origin !== origin && u.protocol !== 'data:') foreign.push(r.url());
    if (u.pathname === '/api/v1/series') series.push(u.searchParams);
  });
  await page.goto(`${origin}${path}`);
  return { page, errors, foreign, series };
}
