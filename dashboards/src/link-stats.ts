// The link detail dashboard's top row: the latest RTT, loss and goodput of the direction chosen, and
// what the link requires; and the selections the link dashboard's queries share.
import { type PanelInput, target, thresholds } from './grafana.ts';
import {
  MEASUREMENTS,
  type Measurement,
  type QuerySpec,
  type Selector,
  type SelectSpec,
  type TagCondition,
} from './influxql.ts';
import { ON_LINK as PROM_LINK, type PromQuery, perDirection } from './promql.ts';

export const ON_LINK: TagCondition[] = [
  { tag: 'src', variable: 'src' },
  { tag: 'dst', variable: 'dst' },
];
const EVERY: { fill: 'none' } = { fill: 'none' };

/** Fields of one measurement on the direction the variables pick, per interval (`extra`: e.g. groupBy). */
export const onLink = (
  measurement: Measurement,
  select: Selector[],
  extra: Pick<SelectSpec, 'groupBy'> = {},
): SelectSpec => ({ kind: 'select', measurement, select, where: ON_LINK, time: EVERY, ...extra });

/** The link's limits and requirement, once for the direction the variables pick. */
const LINK_LIMIT = (series: string, scale: number, legend: string): PromQuery => ({
  expr: `${scale} * (${perDirection(series, PROM_LINK)})`,
  legend,
});

/**
 * The link's limit or requirement as a line (query B): the last value of `field` of the link
 * measurement, carried forward; /metrics's `series` times `scale`, for the direction the variables pick.
 */
export const limitLine = (field: string, alias: string, series: string, scale: number) =>
  target(
    'B',
    {
      kind: 'select',
      measurement: MEASUREMENTS.link,
      select: [{ fn: 'last', field, alias }],
      where: ON_LINK,
      time: { fill: 'previous' },
    },
    {},
    LINK_LIMIT(series, scale, alias),
  );

const stat = (
  title: string,
  spec: QuerySpec,
  unit: string,
  steps: Parameters<typeof thresholds>,
  x: number,
  prom: PromQuery,
): PanelInput => ({
  type: 'stat',
  title,
  gridPos: { x, y: 0, w: 6, h: 4 },
  targets: [target('A', spec, {}, prom)],
  fieldConfig: {
    defaults: { unit, decimals: 1, thresholds: thresholds(...steps), color: { mode: 'thresholds' } },
    overrides: [],
  },
  options: {
    reduceOptions: { calcs: ['lastNotNull'], fields: '', values: false },
    colorMode: 'background',
    graphMode: 'area',
    textMode: 'value',
  },
});

export function linkStats(): PanelInput[] {
  return [
    stat(
      'p95 RTT (last round)',
      onLink(MEASUREMENTS.rtt, [{ fn: 'last', field: 'rtt_p95_ms', alias: 'p95' }]),
      'ms',
      [
        ['green', null],
        ['red', 80],
      ],
      0,
      {
        expr: `1000 * wanwatch_link_round_rtt_seconds{src=~"$src", dst=~"$dst", statistic="p95"}`,
        legend: 'p95',
      },
    ),
    stat(
      'Loss (last round)',
      onLink(MEASUREMENTS.rtt, [{ fn: 'last', field: 'loss_percent', alias: 'loss' }]),
      'percent',
      [
        ['green', null],
        ['red', 1],
      ],
      6,
      { expr: `100 * wanwatch_link_round_loss_ratio${PROM_LINK}`, legend: 'loss' },
    ),
    stat(
      'Goodput (last test)',
      onLink(MEASUREMENTS.throughput, [{ fn: 'last', field: 'goodput_bps', alias: 'goodput' }]),
      'bps',
      [['blue', null]],
      12,
      { expr: `8 * wanwatch_link_goodput_bytes_per_second${PROM_LINK}`, legend: 'goodput' },
    ),
    stat(
      'Required',
      onLink(MEASUREMENTS.link, [{ fn: 'last', field: 'required_bps', alias: 'required' }]),
      'bps',
      [['text', null]],
      18,
      LINK_LIMIT('wanwatch_link_required_bytes_per_second', 8, 'required'),
    ),
  ];
}
