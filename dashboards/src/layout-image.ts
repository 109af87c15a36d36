// Draws each dashboard's panel layout (its gridPos grid) as a PNG in dashboards/img/, for docs/influxdb-grafana.md:
// an SVG page of the 24-column grid, screenshotted by Debian's Chromium through playwright-core.
// Run: npx tsx dashboards/src/layout-image.ts
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { allDashboards, DASHBOARDS_DIR } from './build.ts';
import type { Dashboard, PanelType } from './grafana.ts';

const COL = 40;
const ROW = 24;
const COLOURS: Record<PanelType, string> = {
  table: '#dbeafe',
  timeseries: '#dcfce7',
  stat: '#fef9c3',
  'state-timeline': '#fce7f3',
  text: '#f3f4f6',
};

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

export function layoutSvg(d: Dashboard): string {
  const rows = Math.max(...d.panels.map((p) => p.gridPos.y + p.gridPos.h));
  const width = 24 * COL;
  const height = rows * ROW + 40;
  const boxes = d.panels
    .map((p) => {
      const { x, y, w, h } = p.gridPos;
      const px = x * COL + 2;
      const py = y * ROW + 38;
      return `<g><rect x="${px}" y="${py}" width="${w * COL - 4}" height="${h * ROW - 4}" rx="4" fill="${COLOURS[p.type]}" stroke="#6b7280"/>
<text x="${px + 8}" y="${py + 18}" font-size="13" font-weight="600">${esc(p.title)}</text>
<text x="${px + 8}" y="${py + 34}" font-size="11" fill="#4b5563">${p.type}${p.transformations?.some((t) => t.id === 'groupingToMatrix') ? ' · site × site matrix' : ''} · ${w}×${h}</text></g>`;
    })
    .join('\n');
  const vars = d.templating.list.map((v) => `$${v.name}`).join('  ');
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="DejaVu Sans, sans-serif">
<rect width="100%" height="100%" fill="#ffffff"/>
<text x="4" y="22" font-size="16" font-weight="700">${esc(d.title)}</text>
<text x="${width - 4}" y="22" font-size="12" text-anchor="end" fill="#4b5563">variables: ${esc(vars)}</text>
${boxes}
</svg>`;
}

async function main(): Promise<void> {
  const out = join(DASHBOARDS_DIR, 'img');
  mkdirSync(out, { recursive: true });
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  });
  try {
    for (const [file, d] of Object.entries(allDashboards())) {
      const svg = layoutSvg(d);
      const page = await browser.newPage({ viewport: { width: 24 * COL, height: 200 } });
      await page.setContent(`<html><body style="margin:0">${svg}</body></html>`);
      const png = join(out, file.replace(/\.json$/, '.png'));
      await page.locator('svg').screenshot({ path: png });
      await page.close();
      process.stdout.write(`wrote ${png}\n`);
    }
  } finally {
    await browser.close();
  }
}

await main();
