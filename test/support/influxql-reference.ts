// What a dashboard query must return, computed in TypeScript from the points that were written, the
// way InfluxDB 1.x aggregates them: the independent side of the dashboard query test.
import type { Aggregate, QuerySpec, TagCondition } from '../../dashboards/src/influxql.ts';
import type { ParsedPoint } from './line-protocol.ts';

type Cell = number | string | boolean | null;

export interface RefSeries {
  tags: Record<string, string>;
  /** One row per result row, columns in SELECT order (time left out). */
  rows: Cell[][];
  /** With GROUP BY time($__interval): the start of each row's bucket. */
  times?: number[];
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
 * Expected series of a query over points in [from, to] (or up to `to` for a query that reads until the
 * end of the range), with variables resolved to their selected values. GROUP BY time($__interval) as
 * InfluxDB 1.x does it: buckets aligned to the epoch, from the one holding `from` to the one holding
 * `to`, empty ones filled as the query's fill() says.
 */
export function expectedSeries(
  spec: QuerySpec,
  points: ParsedPoint[],
  range: { from_ms: number; to_ms: number; interval_ms: number },
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
  const from = spec.untilEnd ? Number.NEGATIVE_INFINITY : range.from_ms;
  const inRange = pts.filter((p) => p.time_ms >= from && p.time_ms <= range.to_ms);
  const groups = new Map<string, ParsedPoint[]>();
  for (const p of inRange) {
    // InfluxDB orders series by their tags in key order.
    const tags = Object.fromEntries([...(spec.groupBy ?? [])].sort().map((t) => [t, p.tags[t] ?? '']));
    const key = JSON.stringify(tags);
    groups.set(key, [...(groups.get(key) ?? []), p]);
  }
  const out: RefSeries[] = [];
  const rowOf = (group: ParsedPoint[]): Cell[] =>
    spec.select.map((s) =>
      aggregate(
        s.fn,
        group
          .filter((p) => s.field in p.fields)
          .map((p) => ({ t: p.time_ms, v: p.fields[s.field] as Value })),
      ),
    );
  for (const [key, group] of [...groups].sort(([a], [b]) => a.localeCompare(b))) {
    const tags = JSON.parse(key) as Record<string, string>;
    if (spec.time) {
      const iv = range.interval_ms;
      const rows: Cell[][] = [];
      const times: number[] = [];
      let previous: Cell[] = spec.select.map(() => null);
      for (let t = Math.floor(range.from_ms / iv) * iv; t <= range.to_ms; t += iv) {
        let row = rowOf(group.filter((p) => p.time_ms >= t && p.time_ms < t + iv));
        const empty = row.every((v) => v === null);
        if (spec.time.fill === 'none' && empty) continue;
        if (spec.time.fill === '0') row = row.map((v) => v ?? 0);
        if (spec.time.fill === 'previous') row = row.map((v, i) => v ?? (previous[i] as Cell));
        previous = row;
        rows.push(row);
        times.push(t);
      }
      if (rows.some((r) => r.some((v) => v !== null))) out.push({ tags, rows, times });
      continue;
    }
    const row = rowOf(group);
    // A group whose selected fields are all absent yields no series.
    if (row.every((v) => v === null)) continue;
    if (spec.having) {
      const i = spec.select.findIndex((s) => s.alias === spec.having?.field);
      if (row[i] !== spec.having.equals) continue;
    }
    out.push({ tags, rows: [row] });
  }
  return out;
}
