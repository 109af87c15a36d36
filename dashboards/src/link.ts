// Link detail: one direction of one link (variables src and dst). RTT band with the limit, loss,
// jitter, goodput against the required rate, and latency under load against idle latency.
import { type Backend, dashboard, datasourceVariable, queryVariable, target, thresholds } from './grafana.ts';
import { MEASUREMENTS } from './influxql.ts';
import { limitLine, linkStats, ON_LINK, onLink } from './link-stats.ts';
import { ON_LINK as PROM_LINK } from './promql.ts';

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

export function linkDetail(b: Backend) {
  return dashboard(
    {
      uid: 'wanwatch-link',
      title: 'wanwatch: link detail',
      description:
        'One link direction (src measures dst): RTT, loss, jitter, goodput and latency under load.',
      tags: ['wanwatch'],
      refresh: '1m',
      time: { from: 'now-24h', to: 'now' },
      templating: {
        list: [
          datasourceVariable(),
          queryVariable(
            'src',
            'From',
            { kind: 'tag_values', measurement: MEASUREMENTS.rtt, key: 'src' },
            {},
            'label_values(wanwatch_link_state, src)',
          ),
          queryVariable(
            'dst',
            'To',
            {
              kind: 'tag_values',
              measurement: MEASUREMENTS.rtt,
              key: 'dst',
              where: [{ tag: 'src', variable: 'src' }],
            },
            {},
            'label_values(wanwatch_link_state{src=~"$src"}, dst)',
          ),
        ],
      },
      panels: [
        ...linkStats(),
        {
          type: 'timeseries',
          title: 'RTT: min, median and p95 band, against the limit',
          description:
            "Shaded between min and p95 of each interval; the red line is the link's max_rtt_ms (80 ms by default).",
          gridPos: { x: 0, y: 4, w: 24, h: 9 },
          targets: [
            target(
              'A',
              onLink(MEASUREMENTS.rtt, [
                { fn: 'min', field: 'rtt_min_ms', alias: 'min' },
                { fn: 'median', field: 'rtt_median_ms', alias: 'median' },
                { fn: 'max', field: 'rtt_p95_ms', alias: 'p95' },
              ]),
              {},
              {
                expr: `1000 * wanwatch_link_round_rtt_seconds{src=~"$src", dst=~"$dst", statistic=~"min|median|p95"}`,
                legend: '{{statistic}}',
              },
            ),
            limitLine('max_rtt_ms', 'limit', 'wanwatch_link_rtt_limit_seconds', 1000),
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
            target(
              'A',
              onLink(MEASUREMENTS.rtt, [
                { fn: 'mean', field: 'loss_percent', alias: 'mean loss' },
                { fn: 'max', field: 'loss_percent', alias: 'worst round' },
              ]),
              {},
              [
                {
                  expr: `100 * avg_over_time(wanwatch_link_round_loss_ratio${PROM_LINK}[$__interval])`,
                  legend: 'mean loss',
                },
                {
                  expr: `100 * max_over_time(wanwatch_link_round_loss_ratio${PROM_LINK}[$__interval])`,
                  legend: 'worst round',
                },
              ],
            ),
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
            target(
              'A',
              onLink(MEASUREMENTS.rtt, [
                { fn: 'mean', field: 'jitter_ms', alias: 'jitter' },
                { fn: 'mean', field: 'rtt_stddev_ms', alias: 'RTT stddev' },
              ]),
              {},
              // /metrics has each round's jitter, not its standard deviation.
              {
                expr: `1000 * avg_over_time(wanwatch_link_round_jitter_seconds${PROM_LINK}[$__interval])`,
                legend: 'jitter',
              },
            ),
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
              onLink(MEASUREMENTS.throughput, [{ fn: 'mean', field: 'goodput_bps', alias: 'goodput' }], {
                groupBy: ['direction'],
              }),
              { alias: 'goodput $tag_direction' },
              // /metrics has the goodput src → dst of the latest test, whichever end ran it.
              { expr: `8 * wanwatch_link_goodput_bytes_per_second${PROM_LINK}`, legend: 'goodput' },
            ),
            limitLine('required_bps', 'required', 'wanwatch_link_required_bytes_per_second', 8),
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
            target(
              'A',
              onLink(MEASUREMENTS.throughput, [
                { fn: 'median', field: 'loaded_rtt_median_ms', alias: 'loaded median' },
                { fn: 'max', field: 'loaded_rtt_p95_ms', alias: 'loaded p95' },
              ]),
              {},
              null,
            ),
            target(
              'B',
              onLink(MEASUREMENTS.rtt, [{ fn: 'median', field: 'rtt_median_ms', alias: 'idle median' }]),
              {},
              null,
            ),
          ],
          promMissing:
            'Latency under load is measured during each throughput test and kept in the results: it is in the InfluxDB output, not in /metrics.',
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
              null,
            ),
          ],
          promMissing:
            "Failed rounds per link are results, in the InfluxDB output; /metrics counts each agent's failures by code (wanwatch_agent_errors_total, the agents dashboard).",
          fieldConfig: { defaults: { noValue: 'no failed rounds' }, overrides: [] },
        },
      ],
    },
    b,
  );
}
