// Link detail: one direction of one link (variables src and dst). RTT band with the limit, loss,
// jitter, goodput against the required rate, and latency under load against idle latency.
import { dashboard, datasourceVariable, type Panel, queryVariable, target, thresholds } from './grafana.ts';
import { MEASUREMENTS, type TagCondition } from './influxql.ts';

const ON_LINK: TagCondition[] = [
  { tag: 'src', variable: 'src' },
  { tag: 'dst', variable: 'dst' },
];
const EVERY: { fill: 'none' } = { fill: 'none' };

function series(unit: string, extra: Record<string, unknown> = {}) {
  return {
    unit,
    custom: {
      drawStyle: 'line',
      lineWidth: 2,
      fillOpacity: 0,
      showPoints: 'auto',
      spanNulls: true,
      ...extra,
    },
  };
}

export function linkDetail() {
  const stat = (
    title: string,
    spec: Parameters<typeof target>[1],
    unit: string,
    steps: Parameters<typeof thresholds>,
    x: number,
  ): Omit<Panel, 'id'> => ({
    type: 'stat',
    title,
    gridPos: { x, y: 0, w: 6, h: 4 },
    targets: [target('A', spec)],
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
  return dashboard({
    uid: 'wanwatch-link',
    title: 'wanwatch: link detail',
    description: 'One link direction (src measures dst): RTT, loss, jitter, goodput and latency under load.',
    tags: ['wanwatch'],
    refresh: '1m',
    time: { from: 'now-24h', to: 'now' },
    templating: {
      list: [
        datasourceVariable(),
        queryVariable('src', 'From', { kind: 'tag_values', measurement: MEASUREMENTS.rtt, key: 'src' }),
        queryVariable('dst', 'To', {
          kind: 'tag_values',
          measurement: MEASUREMENTS.rtt,
          key: 'dst',
          where: [{ tag: 'src', variable: 'src' }],
        }),
      ],
    },
    panels: [
      stat(
        'p95 RTT (last round)',
        {
          kind: 'select',
          measurement: MEASUREMENTS.rtt,
          select: [{ fn: 'last', field: 'rtt_p95_ms', alias: 'p95' }],
          where: ON_LINK,
          time: EVERY,
        },
        'ms',
        [
          ['green', null],
          ['red', 80],
        ],
        0,
      ),
      stat(
        'Loss (last round)',
        {
          kind: 'select',
          measurement: MEASUREMENTS.rtt,
          select: [{ fn: 'last', field: 'loss_percent', alias: 'loss' }],
          where: ON_LINK,
          time: EVERY,
        },
        'percent',
        [
          ['green', null],
          ['red', 1],
        ],
        6,
      ),
      stat(
        'Goodput (last test)',
        {
          kind: 'select',
          measurement: MEASUREMENTS.throughput,
          select: [{ fn: 'last', field: 'goodput_bps', alias: 'goodput' }],
          where: ON_LINK,
          time: EVERY,
        },
        'bps',
        [['blue', null]],
        12,
      ),
      stat(
        'Required',
        {
          kind: 'select',
          measurement: MEASUREMENTS.link,
          select: [{ fn: 'last', field: 'required_bps', alias: 'required' }],
          where: ON_LINK,
          time: EVERY,
        },
        'bps',
        [['text', null]],
        18,
      ),
      {
        type: 'timeseries',
        title: 'RTT: min, median and p95 band, against the limit',
        description:
          "Shaded between min and p95 of each interval; the red line is the link's max_rtt_ms (80 ms by default).",
        gridPos: { x: 0, y: 4, w: 24, h: 9 },
        targets: [
          target('A', {
            kind: 'select',
            measurement: MEASUREMENTS.rtt,
            select: [
              { fn: 'min', field: 'rtt_min_ms', alias: 'min' },
              { fn: 'median', field: 'rtt_median_ms', alias: 'median' },
              { fn: 'max', field: 'rtt_p95_ms', alias: 'p95' },
            ],
            where: ON_LINK,
            time: EVERY,
          }),
          target('B', {
            kind: 'select',
            measurement: MEASUREMENTS.link,
            select: [{ fn: 'last', field: 'max_rtt_ms', alias: 'limit' }],
            where: ON_LINK,
            time: { fill: 'previous' },
          }),
        ],
        fieldConfig: {
          defaults: { ...series('ms'), thresholds: thresholds(['transparent', null], ['red', 80]) },
          overrides: [
            {
              matcher: { id: 'byName', options: 'p95' },
              properties: [
                { id: 'custom.fillBelowTo', value: 'min' },
                { id: 'custom.fillOpacity', value: 20 },
              ],
            },
            {
              matcher: { id: 'byName', options: 'limit' },
              properties: [
                { id: 'color', value: { mode: 'fixed', fixedColor: 'red' } },
                { id: 'custom.lineStyle', value: { fill: 'dash', dash: [10, 10] } },
              ],
            },
          ],
        },
        options: { legend: { displayMode: 'list', placement: 'bottom' }, tooltip: { mode: 'multi' } },
      },
      {
        type: 'timeseries',
        title: 'Loss (%)',
        gridPos: { x: 0, y: 13, w: 12, h: 8 },
        targets: [
          target('A', {
            kind: 'select',
            measurement: MEASUREMENTS.rtt,
            select: [
              { fn: 'mean', field: 'loss_percent', alias: 'mean loss' },
              { fn: 'max', field: 'loss_percent', alias: 'worst round' },
            ],
            where: ON_LINK,
            time: EVERY,
          }),
        ],
        fieldConfig: {
          defaults: {
            ...series('percent'),
            min: 0,
            thresholds: thresholds(['transparent', null], ['red', 1]),
          },
          overrides: [],
        },
      },
      {
        type: 'timeseries',
        title: 'Jitter (ms)',
        gridPos: { x: 12, y: 13, w: 12, h: 8 },
        targets: [
          target('A', {
            kind: 'select',
            measurement: MEASUREMENTS.rtt,
            select: [
              { fn: 'mean', field: 'jitter_ms', alias: 'jitter' },
              { fn: 'mean', field: 'rtt_stddev_ms', alias: 'RTT stddev' },
            ],
            where: ON_LINK,
            time: EVERY,
          }),
        ],
        fieldConfig: { defaults: series('ms'), overrides: [] },
      },
      {
        type: 'timeseries',
        title: 'Goodput against the required rate',
        description: 'iperf3 goodput per direction (forward: src sends), and the rate the link must carry.',
        gridPos: { x: 0, y: 21, w: 12, h: 8 },
        targets: [
          target(
            'A',
            {
              kind: 'select',
              measurement: MEASUREMENTS.throughput,
              select: [{ fn: 'mean', field: 'goodput_bps', alias: 'goodput' }],
              where: ON_LINK,
              time: EVERY,
              groupBy: ['direction'],
            },
            { alias: 'goodput $tag_direction' },
          ),
          target('B', {
            kind: 'select',
            measurement: MEASUREMENTS.link,
            select: [{ fn: 'last', field: 'required_bps', alias: 'required' }],
            where: ON_LINK,
            time: { fill: 'previous' },
          }),
        ],
        fieldConfig: {
          defaults: { ...series('bps', { drawStyle: 'points', pointSize: 8 }), min: 0 },
          overrides: [
            {
              matcher: { id: 'byName', options: 'required' },
              properties: [
                { id: 'custom.drawStyle', value: 'line' },
                { id: 'color', value: { mode: 'fixed', fixedColor: 'red' } },
              ],
            },
          ],
        },
      },
      {
        type: 'timeseries',
        title: 'Latency under load',
        description:
          'RTT measured while an iperf3 test was sending, against the idle RTT of the same interval.',
        gridPos: { x: 12, y: 21, w: 12, h: 8 },
        targets: [
          target('A', {
            kind: 'select',
            measurement: MEASUREMENTS.throughput,
            select: [
              { fn: 'median', field: 'loaded_rtt_median_ms', alias: 'loaded median' },
              { fn: 'max', field: 'loaded_rtt_p95_ms', alias: 'loaded p95' },
            ],
            where: ON_LINK,
            time: EVERY,
          }),
          target('B', {
            kind: 'select',
            measurement: MEASUREMENTS.rtt,
            select: [{ fn: 'median', field: 'rtt_median_ms', alias: 'idle median' }],
            where: ON_LINK,
            time: EVERY,
          }),
        ],
        fieldConfig: {
          defaults: {
            ...series('ms', { drawStyle: 'points', pointSize: 6 }),
            thresholds: thresholds(['transparent', null], ['red', 80]),
          },
          overrides: [],
        },
      },
      {
        type: 'table',
        title: 'Failed rounds by error',
        gridPos: { x: 0, y: 29, w: 24, h: 5 },
        targets: [
          target(
            'A',
            {
              kind: 'select',
              measurement: MEASUREMENTS.rtt,
              select: [{ fn: 'count', field: 'duration_ms', alias: 'rounds' }],
              where: [...ON_LINK, { tag: 'ok', equals: 'false' }],
              groupBy: ['error'],
            },
            { table: true },
          ),
        ],
        fieldConfig: { defaults: { noValue: 'no failed rounds' }, overrides: [] },
      },
    ],
  });
}
