// Small typed builders for Grafana dashboard JSON (schemaVersion 42, core panels only). Every panel and
// variable reads from the `${datasource}` variable, so a dashboard imports into any Grafana whose
// InfluxDB data source (InfluxQL) holds wanwatch's data, without __inputs.
import { influxql, type QuerySpec } from './influxql.ts';

export const SCHEMA_VERSION = 42;
// biome-ignore lint/suspicious/noTemplateCurlyInString: Grafana's variable syntax, resolved by Grafana
export const DATASOURCE = { type: 'influxdb', uid: '${datasource}' } as const;

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
  datasource?: typeof DATASOURCE;
  targets?: Target[];
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
  datasource?: typeof DATASOURCE;
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

export function datasourceVariable(): Variable {
  return {
    type: 'datasource',
    name: 'datasource',
    label: 'InfluxDB',
    query: 'influxdb',
    current: {},
    hide: 0,
    regex: '',
    options: [],
  };
}

export function queryVariable(
  name: string,
  label: string,
  spec: QuerySpec,
  opts: { multi?: boolean; includeAll?: boolean } = {},
): Variable {
  const q = influxql(spec);
  return {
    type: 'query',
    name,
    label,
    query: q,
    definition: q,
    datasource: DATASOURCE,
    current: {},
    refresh: 2,
    multi: opts.multi ?? false,
    includeAll: opts.includeAll ?? false,
    sort: 1,
    hide: 0,
    options: [],
  };
}

export function target(
  refId: string,
  spec: QuerySpec,
  opts: { table?: boolean; alias?: string } = {},
): Target {
  return {
    refId,
    datasource: DATASOURCE,
    query: influxql(spec),
    rawQuery: true,
    resultFormat: opts.table ? 'table' : 'time_series',
    ...(opts.alias ? { alias: opts.alias } : {}),
  };
}

type PanelInput = Omit<Panel, 'id' | 'datasource'>;

/** Numbers panels in layout order and gives every panel with queries the `${datasource}` variable. */
export function dashboard(
  d: Omit<
    Dashboard,
    'panels' | 'schemaVersion' | 'annotations' | 'timezone' | 'editable' | 'graphTooltip' | 'links'
  > & { panels: PanelInput[] },
): Dashboard {
  return {
    uid: d.uid,
    title: d.title,
    description: d.description,
    tags: d.tags,
    timezone: 'browser',
    editable: true,
    graphTooltip: 1,
    refresh: d.refresh,
    schemaVersion: SCHEMA_VERSION,
    time: d.time,
    templating: d.templating,
    annotations: { list: [] },
    links: [
      {
        title: 'wanwatch',
        type: 'dashboards',
        tags: ['wanwatch'],
        asDropdown: false,
        includeVars: true,
        keepTime: true,
      },
    ],
    panels: d.panels.map((p, i) => ({
      id: i + 1,
      ...(p.targets ? { datasource: DATASOURCE } : {}),
      ...p,
    })),
  };
}

export const thresholds = (...steps: [string, number | null][]) => ({
  mode: 'absolute' as const,
  steps: steps.map(([color, value]) => ({ color, value })),
});

/** Flat rows of (row tag, column tag, value) turned into a grid: one row per src, one column per dst. */
export function matrix(valueField: string): { id: string; options: Record<string, unknown> }[] {
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
