// Small typed builders for Grafana dashboard JSON (schemaVersion 42, core panels only). Every panel and
// variable reads from the `${datasource}` variable, so a dashboard imports into any Grafana whose
// data source holds wanwatch's data, without __inputs. Each dashboard is written once and rendered for
// two back-ends: InfluxQL (the InfluxDB output) and PromQL (a Prometheus scraping /metrics). A query
// is given in both languages; one with no PromQL form (a figure /metrics does not carry) is left out of
// the Prometheus dashboard, and a panel left with no query says so in its place.
import { influxql, type QuerySpec } from './influxql.ts';
import { type PromQuery, promql } from './promql.ts';

export type Backend = 'influxql' | 'promql';

export const SCHEMA_VERSION = 42;
// biome-ignore lint/suspicious/noTemplateCurlyInString: Grafana's variable syntax, resolved by Grafana
export const DATASOURCE = { type: 'influxdb', uid: '${datasource}' } as const;
// biome-ignore lint/suspicious/noTemplateCurlyInString: Grafana's variable syntax, resolved by Grafana
export const PROM_DATASOURCE = { type: 'prometheus', uid: '${datasource}' } as const;
export type Datasource = typeof DATASOURCE | typeof PROM_DATASOURCE;

export interface GridPos {
  x: number;
  y: number;
  w: number;
  h: number;
}

export interface Target {
  refId: string;
  datasource: typeof DATASOURCE;
  query: string;
  rawQuery: true;
  resultFormat: 'time_series' | 'table';
  alias?: string;
}

export interface PromTarget {
  refId: string;
  datasource: typeof PROM_DATASOURCE;
  expr: string;
  /** Tables read the value at the end of the range (instant); graphs read the range. */
  instant: boolean;
  range: boolean;
  format: 'time_series' | 'table';
  legendFormat?: string;
}

/**
 * One query of a panel in both languages (`prom` null: /metrics does not carry what it shows). An
 * InfluxQL query that selects several fields may take several PromQL queries (refIds A, A2, …).
 */
export interface QueryDef {
  refId: string;
  influx: Target;
  prom: PromQuery | PromQuery[] | null;
}

export type PanelType = 'timeseries' | 'stat' | 'table' | 'state-timeline' | 'text';

export interface Threshold {
  color: string;
  value: number | null;
}
export interface ValueMapping {
  type: 'value';
  options: Record<string, { text: string; color: string; index: number }>;
}

export interface FieldConfig {
  defaults: {
    unit?: string;
    decimals?: number;
    min?: number;
    max?: number;
    color?: { mode: string };
    thresholds?: { mode: 'absolute' | 'percentage'; steps: Threshold[] };
    mappings?: ValueMapping[];
    custom?: Record<string, unknown>;
    noValue?: string;
  };
  overrides: { matcher: { id: string; options: string }; properties: { id: string; value: unknown }[] }[];
}

export interface Panel {
  id: number;
  type: PanelType;
  title: string;
  description?: string;
  gridPos: GridPos;
  datasource?: Datasource;
  targets?: (Target | PromTarget)[];
  fieldConfig?: FieldConfig;
  options?: Record<string, unknown>;
  transformations?: { id: string; options: Record<string, unknown> }[];
  interval?: string;
}

export interface Variable {
  type: 'datasource' | 'query';
  name: string;
  label: string;
  query: string;
  definition?: string;
  datasource?: Datasource;
  current: Record<string, never>;
  refresh?: 1 | 2;
  multi?: boolean;
  includeAll?: boolean;
  sort?: number;
  hide: 0;
  regex?: string;
  options: [];
}

export interface Dashboard {
  uid: string;
  title: string;
  description: string;
  tags: string[];
  timezone: 'browser';
  editable: true;
  graphTooltip: 1;
  refresh: string;
  schemaVersion: typeof SCHEMA_VERSION;
  time: { from: string; to: string };
  templating: { list: Variable[] };
  annotations: { list: [] };
  links: {
    title: string;
    type: 'dashboards';
    tags: string[];
    asDropdown: false;
    includeVars: true;
    keepTime: true;
  }[];
  panels: Panel[];
}

/** A variable as each back-end writes it. */
export type VariableDef = (b: Backend) => Variable;

export function datasourceVariable(): VariableDef {
  return (b) => ({
    type: 'datasource',
    name: 'datasource',
    label: b === 'promql' ? 'Prometheus' : 'InfluxDB',
    query: b === 'promql' ? 'prometheus' : 'influxdb',
    current: {},
    hide: 0,
    regex: '',
    options: [],
  });
}

/** `prom`: the PromQL variable query, e.g. label_values(wanwatch_link_state, src). */
export function queryVariable(
  name: string,
  label: string,
  spec: QuerySpec,
  opts: { multi?: boolean; includeAll?: boolean },
  prom: string,
): VariableDef {
  return (b) => {
    const q = b === 'promql' ? promql({ expr: prom }) : influxql(spec);
    return {
      type: 'query',
      name,
      label,
      query: q,
      definition: q,
      datasource: b === 'promql' ? PROM_DATASOURCE : DATASOURCE,
      current: {},
      refresh: 2,
      multi: opts.multi ?? false,
      includeAll: opts.includeAll ?? false,
      sort: 1,
      hide: 0,
      options: [],
    };
  };
}

export function target(
  refId: string,
  spec: QuerySpec,
  opts: { table?: boolean; alias?: string },
  prom: PromQuery | PromQuery[] | null,
): QueryDef {
  return {
    refId,
    influx: {
      refId,
      datasource: DATASOURCE,
      query: influxql(spec),
      rawQuery: true,
      resultFormat: opts.table ? 'table' : 'time_series',
      ...(opts.alias ? { alias: opts.alias } : {}),
    },
    prom,
  };
}

function promTargets(def: QueryDef): PromTarget[] {
  const list = def.prom === null ? [] : Array.isArray(def.prom) ? def.prom : [def.prom];
  return list.map((q, i) => promTarget(def, q, i === 0 ? def.refId : `${def.refId}${i + 1}`));
}

function promTarget(def: QueryDef, prom: PromQuery, refId: string): PromTarget {
  const table = def.influx.resultFormat === 'table';
  const instant = prom.instant ?? table;
  // A legend as InfluxQL aliases it ($tag_src) in Grafana's Prometheus form ({{src}}).
  const legend = prom.legend ?? def.influx.alias?.replace(/\$tag_(\w+)/g, '{{$1}}');
  return {
    refId,
    datasource: PROM_DATASOURCE,
    expr: promql(prom),
    instant,
    range: !instant,
    format: table ? 'table' : 'time_series',
    ...(legend ? { legendFormat: legend } : {}),
  };
}

type Transformation = { id: string; options: Record<string, unknown> };

export type PanelInput = Omit<Panel, 'id' | 'datasource' | 'targets' | 'transformations'> & {
  targets?: QueryDef[];
  transformations?: Transformation[] | ((b: Backend) => Transformation[] | undefined);
  /** What the Prometheus dashboard says in place of a panel none of whose queries /metrics can answer. */
  promMissing?: string;
};

/** A panel as `b` writes it: its queries in that language, or a note when it has none there. */
function renderPanel(p: PanelInput, b: Backend): Omit<Panel, 'id'> {
  const { targets, transformations, promMissing, ...rest } = p;
  const shape = typeof transformations === 'function' ? transformations(b) : transformations;
  const prom = b === 'promql' ? (targets ?? []).flatMap(promTargets) : [];
  if (targets !== undefined && b === 'promql' && prom.length === 0)
    return {
      type: 'text',
      title: rest.title,
      gridPos: rest.gridPos,
      options: {
        mode: 'markdown',
        content: promMissing ?? "Not in wanwatch's /metrics: this panel reads the InfluxDB output.",
      },
    };
  // The keys in the order the panel gives them (the committed JSON keeps its order).
  const out: Record<string, unknown> =
    targets === undefined ? {} : { datasource: b === 'promql' ? PROM_DATASOURCE : DATASOURCE };
  for (const [key, value] of Object.entries(p)) {
    if (key === 'promMissing') continue;
    if (key === 'targets') out.targets = b === 'promql' ? prom : (targets ?? []).map((t) => t.influx);
    else if (key === 'transformations') {
      if (shape !== undefined) out.transformations = shape;
    } else out[key] = value;
  }
  return out as Omit<Panel, 'id'>;
}

/**
 * Numbers panels in layout order and gives every panel with queries the `${datasource}` variable. The
 * Prometheus rendering has its own uid, title and tag, so both sets can live in one Grafana.
 */
export function dashboard(
  d: Omit<
    Dashboard,
    | 'panels'
    | 'schemaVersion'
    | 'annotations'
    | 'timezone'
    | 'editable'
    | 'graphTooltip'
    | 'links'
    | 'templating'
  > & { panels: PanelInput[]; templating: { list: VariableDef[] } },
  b: Backend,
): Dashboard {
  const prom = b === 'promql';
  const tags = prom ? ['wanwatch-prometheus'] : d.tags;
  return {
    uid: prom ? `${d.uid}-prometheus` : d.uid,
    title: prom ? `${d.title} (Prometheus)` : d.title,
    description: d.description,
    tags,
    timezone: 'browser',
    editable: true,
    graphTooltip: 1,
    refresh: d.refresh,
    schemaVersion: SCHEMA_VERSION,
    time: d.time,
    templating: { list: d.templating.list.map((v) => v(b)) },
    annotations: { list: [] },
    links: [
      {
        title: 'wanwatch',
        type: 'dashboards',
        tags,
        asDropdown: false,
        includeVars: true,
        keepTime: true,
      },
    ],
    panels: d.panels.map((p, i) => ({ id: i + 1, ...renderPanel(p, b) })),
  };
}

export const thresholds = (...steps: [string, number | null][]) => ({
  mode: 'absolute' as const,
  steps: steps.map(([color, value]) => ({ color, value })),
});

/** Flat rows of (row tag, column tag, value) turned into a grid: one row per src, one column per dst. */
export function matrix(valueField: string): Transformation[] {
  return [
    {
      id: 'groupingToMatrix',
      options: { rowField: 'src', columnField: 'dst', valueField, emptyValue: 'empty' },
    },
    { id: 'organize', options: { renameByName: { 'src\\dst': 'from \\ to' } } },
  ];
}

export function text(title: string, content: string, gridPos: GridPos): PanelInput {
  return { type: 'text', title, gridPos, options: { mode: 'markdown', content } };
}
