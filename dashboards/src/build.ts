// Renders the dashboards to dashboards/*.json (`npm run dashboards`). The JSON is committed; a test
// fails when running this would change it.
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { agents } from './agents.ts';
import type { Dashboard } from './grafana.ts';
import { linkDetail } from './link.ts';
import { overview } from './overview.ts';

export const DASHBOARDS_DIR = join(dirname(fileURLToPath(import.meta.url)), '..');

/** File name → dashboard for InfluxDB (InfluxQL), in the order docs/influxdb-grafana.md shows them. */
export function allDashboards(): Record<string, Dashboard> {
  return {
    'wanwatch-overview.json': overview('influxql'),
    'wanwatch-link.json': linkDetail('influxql'),
    'wanwatch-agents.json': agents('influxql'),
  };
}

/** The same dashboards for a Prometheus that scrapes /metrics (PromQL; docs/prometheus.md). */
export function prometheusDashboards(): Record<string, Dashboard> {
  return {
    'wanwatch-overview-prometheus.json': overview('promql'),
    'wanwatch-link-prometheus.json': linkDetail('promql'),
    'wanwatch-agents-prometheus.json': agents('promql'),
  };
}

export function renderJson(d: Dashboard): string {
  return `${JSON.stringify(d, null, 2)}\n`;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  for (const [file, d] of Object.entries({ ...allDashboards(), ...prometheusDashboards() })) {
    writeFileSync(join(DASHBOARDS_DIR, file), renderJson(d));
    process.stdout.write(`wrote dashboards/${file} (${d.panels.length} panels)\n`);
  }
}
