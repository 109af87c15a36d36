// Overview: every link at a glance. Site × site grids (row: measuring site, column: measured site) of
// the collector's verdict, the RTT and the goodput against each link's own requirement; firing alerts;
// link state over time.
import {
  type Backend,
  dashboard,
  datasourceVariable,
  matrix,
  type Panel,
  type PanelInput,
  target,
  text,
  thresholds,
} from './grafana.ts';
import { MEASUREMENTS } from './influxql.ts';
import { ofLink, perDirection } from './promql.ts';

const LINK = MEASUREMENTS.link;
const SRC_DST = ['src', 'dst'];

const STATE_MAPPINGS = [
  {
    type: 'value' as const,
    options: {
      '0': { text: 'OK', color: 'green', index: 0 },
      '1': { text: 'pending', color: 'yellow', index: 1 },
      '2': { text: 'FIRING', color: 'red', index: 2 },
      '3': { text: 'unknown', color: 'gray', index: 3 },
    },
  },
];
const cellColor = { cellOptions: { type: 'color-background', mode: 'basic' }, align: 'center' };

function grid(
  title: string,
  description: string,
  field: string,
  alias: string,
  gridPos: Panel['gridPos'],
  defaults: NonNullable<Panel['fieldConfig']>['defaults'],
  prom: string,
): PanelInput {
  return {
    type: 'table',
    title,
    description,
    gridPos,
    targets: [
      target(
        'A',
        { kind: 'select', measurement: LINK, select: [{ fn: 'last', field, alias }], groupBy: SRC_DST },
        { table: true },
        { expr: prom },
      ),
    ],
    // A Prometheus table names the value of a single query "Value".
    transformations: (b: Backend) => matrix(b === 'promql' ? 'Value' : alias),
    fieldConfig: { defaults: { ...defaults, custom: cellColor, noValue: '–' }, overrides: [] },
    options: { showHeader: true, cellHeight: 'sm' },
  };
}

export function overview(b: Backend) {
  return dashboard(
    {
      uid: 'wanwatch-overview',
      title: 'wanwatch: overview',
      description:
        'Every WAN link against its requirement (≤ max RTT, ≥ required Mbps), and the alerts firing.',
      tags: ['wanwatch'],
      refresh: '1m',
      time: { from: 'now-6h', to: 'now' },
      templating: { list: [datasourceVariable()] },
      panels: [
        text(
          'How to read this',
          'Rows are the measuring site, columns the measured site. Each cell is the latest value in the time range. ' +
            "RTT is the link's alert statistic (p95 by default); goodput is the last iperf3 test, as a percentage of the Mbps the link must carry.",
          { x: 0, y: 0, w: 24, h: 2 },
        ),
        grid(
          'Link status',
          "The collector's verdict per link direction: worst state over its rules.",
          'state_code',
          'state',
          { x: 0, y: 2, w: 8, h: 7 },
          {
            mappings: STATE_MAPPINGS,
            thresholds: thresholds(['green', null], ['yellow', 1], ['red', 2], ['gray', 3]),
          },
          'wanwatch_link_state',
        ),
        grid(
          'RTT (ms)',
          "Round-trip time (the link's alert statistic), red above the limit.",
          'rtt_ms',
          'rtt',
          { x: 8, y: 2, w: 8, h: 7 },
          {
            unit: 'ms',
            decimals: 1,
            thresholds: thresholds(['green', null], ['orange', 60], ['red', 80]),
          },
          '1000 * wanwatch_link_rtt_seconds',
        ),
        grid(
          "RTT (% of the link's limit)",
          "RTT divided by the link's max_rtt_ms.",
          'rtt_of_max_percent',
          'rtt_of_max',
          { x: 16, y: 2, w: 8, h: 7 },
          {
            unit: 'percent',
            decimals: 0,
            thresholds: thresholds(['green', null], ['orange', 75], ['red', 100]),
          },
          `100 * ${ofLink('wanwatch_link_rtt_seconds', 'wanwatch_link_rtt_limit_seconds')}`,
        ),
        grid(
          'Goodput (% of required)',
          'Last iperf3 goodput divided by the Mbps the link must carry.',
          'goodput_of_required_percent',
          'goodput_of_required',
          { x: 0, y: 9, w: 8, h: 7 },
          {
            unit: 'percent',
            decimals: 0,
            thresholds: thresholds(['red', null], ['orange', 100], ['green', 120]),
          },
          `100 * ${ofLink('wanwatch_link_goodput_bytes_per_second', 'wanwatch_link_required_bytes_per_second')}`,
        ),
        grid(
          'Goodput',
          'Last iperf3 goodput (bits per second).',
          'goodput_bps',
          'goodput',
          { x: 8, y: 9, w: 8, h: 7 },
          {
            unit: 'bps',
            decimals: 1,
            thresholds: thresholds(['blue', null]),
          },
          '8 * wanwatch_link_goodput_bytes_per_second',
        ),
        grid(
          'Required',
          'What each link must carry: 5 Mbps per subcluster crossing it, plus extra.',
          'required_bps',
          'required',
          { x: 16, y: 9, w: 8, h: 7 },
          {
            unit: 'bps',
            thresholds: thresholds(['text', null]),
          },
          `8 * (${perDirection('wanwatch_link_required_bytes_per_second')})`,
        ),
        {
          type: 'table',
          title: 'Firing alerts',
          description:
            'Alerts firing at the end of the time range: those whose latest event up to then is "firing", ' +
            'including alerts that began before the range starts (reminders and the first event are read however old).',
          gridPos: { x: 0, y: 16, w: 24, h: 6 },
          targets: [
            target(
              'A',
              {
                kind: 'select',
                measurement: MEASUREMENTS.alert,
                select: [
                  { fn: 'last', field: 'firing', alias: 'firing' },
                  { fn: 'last', field: 'summary', alias: 'summary' },
                  { fn: 'last', field: 'observed', alias: 'observed' },
                  { fn: 'last', field: 'threshold', alias: 'threshold' },
                  { fn: 'last', field: 'fired_at_ms', alias: 'firing since' },
                ],
                groupBy: ['rule', 'severity', 'link', 'site'],
                having: { field: 'firing', equals: 1 },
                untilEnd: true,
              },
              { table: true },
              // wanwatch's own verdict per link and rule at the end of the range (2: firing).
              { expr: 'max by (link, rule) (wanwatch_link_alert_state) == 2' },
            ),
          ],
          // Time would be the start of the range read (InfluxQL's time for several selectors): hidden.
          transformations: (b: Backend) => [
            {
              id: 'organize',
              options: {
                excludeByName: b === 'promql' ? { Value: true, Time: true } : { firing: true, Time: true },
              },
            },
          ],
          fieldConfig: {
            defaults: { noValue: 'no alert is firing' },
            overrides: [
              {
                matcher: { id: 'byName', options: 'firing since' },
                properties: [{ id: 'unit', value: 'dateTimeAsIso' }],
              },
            ],
          },
          options: { showHeader: true, sortBy: [{ displayName: 'firing since', desc: true }] },
        },
        {
          type: 'state-timeline',
          title: 'Link state over time',
          gridPos: { x: 0, y: 22, w: 24, h: 8 },
          targets: [
            target(
              'A',
              {
                kind: 'select',
                measurement: LINK,
                select: [{ fn: 'max', field: 'state_code', alias: 'state' }],
                time: { fill: 'null' },
                groupBy: SRC_DST,
              },
              { alias: '$tag_src → $tag_dst' },
              { expr: 'max by (src, dst) (max_over_time(wanwatch_link_state[$__interval]))' },
            ),
          ],
          fieldConfig: {
            defaults: {
              mappings: STATE_MAPPINGS,
              thresholds: thresholds(['green', null]),
              color: { mode: 'thresholds' },
            },
            overrides: [],
          },
          options: { showValue: 'never', mergeValues: true, alignValue: 'left', rowHeight: 0.8 },
        },
      ],
    },
    b,
  );
}
