// Structural checks on every committed dashboard, and that the committed JSON is what the TypeScript
// in dashboards/src renders (run `npm run dashboards` after changing it).
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  allDashboards,
  DASHBOARDS_DIR,
  prometheusDashboards,
  renderJson,
} from '../../dashboards/src/build.ts';
import type { Dashboard } from '../../dashboards/src/grafana.ts';

const files = readdirSync(DASHBOARDS_DIR).filter((f) => f.endsWith('.json'));
const committed: [string, Dashboard][] = files.map((f) => [
  f,
  JSON.parse(readFileSync(join(DASHBOARDS_DIR, f), 'utf8')) as Dashboard,
]);
const CORE_PANELS = ['timeseries', 'stat', 'table', 'state-timeline', 'text'];
/** Grafana's own variables (and the InfluxQL alias patterns) that a dashboard need not define. */
const BUILT_IN =
  /^(timeFilter|__interval|__interval_ms|__range|__from|__to|__dashboard|tag_\w+|col|m|measurement)$/;

describe('the committed dashboards', () => {
  it('are exactly what `npm run dashboards` renders', () => {
    const rendered = { ...allDashboards(), ...prometheusDashboards() };
    expect(files.sort()).toEqual(Object.keys(rendered).sort());
    for (const [file, d] of Object.entries(rendered))
      expect(
        readFileSync(join(DASHBOARDS_DIR, file), 'utf8'),
        `dashboards/${file} is stale: run npm run dashboards`,
      ).toBe(renderJson(d));
  });

  it('have unique uids, schemaVersion 42 and no __inputs', () => {
    const uids = committed.map(([, d]) => d.uid);
    expect(new Set(uids).size).toBe(uids.length);
    for (const [f, d] of committed) {
      expect(d.schemaVersion, f).toBe(42);
      expect(d, f).not.toHaveProperty('__inputs');
      expect(JSON.stringify(d), f).not.toContain('DS_');
    }
  });

  // The Prometheus renderings (PromQL) read a Prometheus data source, the others InfluxDB.
  const kind = (d: Dashboard) => (d.uid.endsWith('-prometheus') ? 'prometheus' : 'influxdb');
  it.each(committed)(
    '%s: unique panel ids, core panel types, every query on the datasource variable',
    (_f, d) => {
      // biome-ignore lint/suspicious/noTemplateCurlyInString: Grafana's variable syntax
      const DS = { type: kind(d), uid: '${datasource}' };
      const ids = d.panels.map((p) => p.id);
      expect(new Set(ids).size).toBe(ids.length);
      for (const p of d.panels) {
        expect(CORE_PANELS).toContain(p.type);
        if (p.type === 'text') continue;
        expect(p.datasource, p.title).toEqual(DS);
        expect(p.targets?.length, p.title).toBeGreaterThan(0);
        for (const t of p.targets ?? []) expect(t.datasource, p.title).toEqual(DS);
      }
      const ds = d.templating.list.filter((v) => v.type === 'datasource');
      expect(ds).toMatchObject([{ name: 'datasource', query: kind(d) }]);
      for (const v of d.templating.list.filter((x) => x.type === 'query'))
        expect(v.datasource, v.name).toEqual(DS);
    },
  );

  it.each(committed)('%s: panels lie within 24 columns and do not overlap', (_f, d) => {
    const cells = new Map<string, string>();
    for (const p of d.panels) {
      const { x, y, w, h } = p.gridPos;
      expect(
        x >= 0 && y >= 0 && w >= 1 && h >= 1 && x + w <= 24,
        `${p.title} at ${JSON.stringify(p.gridPos)}`,
      ).toBe(true);
      for (let i = x; i < x + w; i++)
        for (let j = y; j < y + h; j++) {
          const other = cells.get(`${i},${j}`);
          expect(other, `${p.title} overlaps ${other} at column ${i}, row ${j}`).toBeUndefined();
          cells.set(`${i},${j}`, p.title);
        }
    }
  });

  it.each(committed)('%s: every $variable used is defined', (_f, d) => {
    const defined = new Set(d.templating.list.map((v) => v.name));
    const text = JSON.stringify({ panels: d.panels, templating: d.templating });
    const used = [...text.matchAll(/\$(?:\{(\w+)(?::\w+)?\}|(\w+))/g)].map((m) => (m[1] ?? m[2]) as string);
    expect(used.length).toBeGreaterThan(0);
    for (const name of used) if (!BUILT_IN.test(name)) expect(defined, `$${name}`).toContain(name);
  });
});
