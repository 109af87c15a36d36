// What a dashboard query must return, computed in TypeScript from the points that were written, the
// way InfluxDB 1.x aggregates them: the independent side of the dashboard query test.
import type { Aggregate, QuerySpec, TagCondition } from '../../dashboards/src/influxql.ts';
import type { ParsedPoint } from './line-protocol.ts';

export interface RefSeries {
  tags: Record<string, string>;
  /** One row per result row, columns in SELECT order (time left out). */
  rows: (number | string | boolean | null)[][];
}

type Value = number | string | boolean;

function aggregate(fn: Aggregate, pts: { t: number; v: Value }[]): Value | null {
  if (pts.length === 0) return fn === 'count' || fn === 'sum' ? (fn === 'count' ? 0 : null) : null;
  const nums = pts.map((p) => p.v as number);
  switch (fn) {
    case 'count':
      return pts.length;
    case 'sum':
      return nums.reduce((a, b) => a + b, 0);
    case 'mean':
      return nums.reduce((a, b) => a + b, 0) / nums.length;
    case 'min':
      return Math.min(...nums);
    case 'max':
      return Math.max(...nums);
    case 'median': {
      const s = [...nums].sort((a, b) => a - b);
      const m = Math.floor(s.length / 2);
      return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
    }
    case 'last':
      return [...pts].sort((a, b) => a.t - b.t).at(-1)?.v ?? null;
  }
}

function matches(p: ParsedPoint, where: TagCondition[] | undefined, vars: Record<string, string[]>): boolean {
  return (where ?? []).every((c) =>
    'variable' in c ? (vars[c.variable] ?? []).includes(p.tags[c.tag] ?? '') : p.tags[c.tag] === c.equals,
  );
}

/**
 * Expected series of a query over points in [from, to], with variables resolved to their selected
 * values. Time buckets are not modelled: tests choose one $__interval bucket that holds the whole range.
 */
export function expectedSeries(
  spec: QuerySpec,
  points: ParsedPoint[],
  range: { from_ms: number; to_ms: number },
  vars: Record<string, string[]>,
): RefSeries[] {
  const pts = points.filter((p) => p.measurement === spec.measurement && matches(p, spec.where, vars));
  if (spec.kind === 'tag_values') {
    // SHOW TAG VALUES ignores time; one row per distinct value, sorted.
    const values = [
      ...new Set(pts.map((p) => p.tags[spec.key]).filter((v): v is string => v !== undefined)),
    ].sort();
    return values.length ? [{ tags: {}, rows: values.map((v) => [spec.key, v]) }] : [];
  }
  const inRange = pts.filter((p) => p.time_ms >= range.from_ms && p.time_ms <= range.to_ms);
  const groups = new Map<string, ParsedPoint[]>();
  for (const p of inRange) {
    // InfluxDB orders series by their tags in key order.
    const tags = Object.fromEntries([...(spec.groupBy ?? [])].sort().map((t) => [t, p.tags[t] ?? '']));
    const key = JSON.stringify(tags);
    groups.set(key, [...(groups.get(key) ?? []), p]);
  }
  const out: RefSeries[] = [];
  for (const [key, group] of [...groups].sort(([a], [b]) => a.localeCompare(b))) {
    const row = spec.select.map((s) =>
      aggregate(
        s.fn,
        group
          .filter((p) => s.field in p.fields)
          .map((p) => ({ t: p.time_ms, v: p.fields[s.field] as Value })),
      ),
    );
    // A group whose selected fields are all absent yields no series.
    if (row.every((v) => v === null)) continue;
    if (spec.having) {
      const i = spec.select.findIndex((s) => s.alias === spec.having?.field);
      if (row[i] !== spec.having.equals) continue;
    }
    out.push({ tags: JSON.parse(key) as Record<string, string>, rows: [row] });
  }
  return out;
}
