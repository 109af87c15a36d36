// A typed InfluxQL helper: every dashboard query is written as a QuerySpec and rendered to text here,
// so the text is uniform and the tests can compute what each query must return from the data written.
import { MEASUREMENTS } from '../../collector/sinks/influx-schema.ts';

export type Measurement = (typeof MEASUREMENTS)[keyof typeof MEASUREMENTS];
export type Aggregate = 'last' | 'mean' | 'median' | 'min' | 'max' | 'count' | 'sum';

export interface Selector {
  fn: Aggregate;
  field: string;
  alias: string;
}

/** A tag condition: a template variable matched as a regex (/^$var$/), or a literal value. */
export type TagCondition = { tag: string; variable: string } | { tag: string; equals: string };

export interface SelectSpec {
  kind: 'select';
  measurement: Measurement;
  select: Selector[];
  where?: TagCondition[];
  /** GROUP BY time($__interval) with this fill, or no time grouping (one row per group: tables). */
  time?: { fill: 'none' | 'null' | 'previous' | '0' };
  groupBy?: string[];
  /** Wraps the query: SELECT * FROM (query) WHERE field = value (e.g. only firing alerts). */
  having?: { field: string; equals: number };
  /**
   * Read every point up to the end of the time range, with no lower bound (`time <= ${__to}ms`), so
   * that e.g. an alert that began firing before the range still shows. Only for small measurements.
   */
  untilEnd?: true;
}

export interface TagValuesSpec {
  kind: 'tag_values';
  measurement: Measurement;
  key: string;
  where?: TagCondition[];
}

export type QuerySpec = SelectSpec | TagValuesSpec;

const ident = (s: string) => `"${s.replace(/"/g, '\\"')}"`;
const literal = (s: string) => `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;

function conditions(where: TagCondition[] | undefined): string[] {
  return (where ?? []).map((c) =>
    'variable' in c ? `${ident(c.tag)} =~ /^$${c.variable}$/` : `${ident(c.tag)} = ${literal(c.equals)}`,
  );
}

export function render(spec: QuerySpec): string {
  if (spec.kind === 'tag_values') {
    const where = conditions(spec.where);
    return `SHOW TAG VALUES FROM ${ident(spec.measurement)} WITH KEY = ${ident(spec.key)}${
      where.length ? ` WHERE ${where.join(' AND ')}` : ''
    }`;
  }
  const fields = spec.select.map((s) => `${s.fn}(${ident(s.field)}) AS ${ident(s.alias)}`).join(', ');
  // biome-ignore lint/suspicious/noTemplateCurlyInString: Grafana's global variable, epoch milliseconds
  const time = spec.untilEnd ? 'time <= ${__to}ms' : '$timeFilter';
  const where = [time, ...conditions(spec.where)].join(' AND ');
  const group = [...(spec.time ? ['time($__interval)'] : []), ...(spec.groupBy ?? []).map(ident)];
  let q = `SELECT ${fields} FROM ${ident(spec.measurement)} WHERE ${where}`;
  if (group.length) q += ` GROUP BY ${group.join(', ')}`;
  if (spec.time) q += ` fill(${spec.time.fill})`;
  if (spec.having) {
    const outer = spec.select.map((s) => ident(s.alias));
    const tags = (spec.groupBy ?? []).map(ident);
    q = `SELECT ${outer.join(', ')} FROM (${q}) WHERE ${ident(spec.having.field)} = ${spec.having.equals}${
      tags.length ? ` GROUP BY ${tags.join(', ')}` : ''
    }`;
  }
  return q;
}

/** Every query rendered so far, by its text, so tests can find the spec behind a dashboard's query. */
export const SPECS = new Map<string, QuerySpec>();

export function influxql(spec: QuerySpec): string {
  const q = render(spec);
  SPECS.set(q, spec);
  return q;
}

export { MEASUREMENTS };
