// Agents: is every site's agent alive, which version runs where, and is anything going wrong inside it.
import { dashboard, datasourceVariable, queryVariable, target, thresholds } from './grafana.ts';
import { MEASUREMENTS, type TagCondition } from './influxql.ts';

const AGENT = MEASUREMENTS.agent;
const ON_SITE: TagCondition[] = [{ tag: 'site', variable: 'site' }];

export function agents() {
  return dashboard({
    uid: 'wanwatch-agents',
    title: 'wanwatch: agents',
    description: 'Agent heartbeats, versions, spool and probe errors per site.',
    tags: ['wanwatch'],
    refresh: '1m',
    time: { from: 'now-6h', to: 'now' },
    templating: {
      list: [
        datasourceVariable(),
        queryVariable(
          'site',
          'Site',
          { kind: 'tag_values', measurement: AGENT, key: 'site' },
          { multi: true, includeAll: true },
        ),
      ],
    },
    panels: [
      {
        type: 'table',
        title: 'Agents',
        description: 'Latest heartbeat of each agent: version, uptime, spool and errors over the time range.',
        gridPos: { x: 0, y: 0, w: 14, h: 8 },
        targets: [
          target(
            'A',
            {
              kind: 'select',
              measurement: AGENT,
              select: [
                { fn: 'last', field: 'uptime_s', alias: 'uptime' },
                { fn: 'count', field: 'up', alias: 'heartbeats' },
                { fn: 'last', field: 'spool_queued', alias: 'spool queued' },
                { fn: 'max', field: 'spool_dropped', alias: 'spool dropped' },
                { fn: 'sum', field: 'errors', alias: 'errors' },
              ],
              where: ON_SITE,
              groupBy: ['site', 'version'],
            },
            { table: true },
          ),
        ],
        fieldConfig: {
          defaults: {},
          overrides: [
            { matcher: { id: 'byName', options: 'uptime' }, properties: [{ id: 'unit', value: 's' }] },
            {
              matcher: { id: 'byName', options: 'Time' },
              properties: [{ id: 'displayName', value: 'last heartbeat' }],
            },
            {
              matcher: { id: 'byName', options: 'errors' },
              properties: [
                { id: 'thresholds', value: thresholds(['green', null], ['red', 1]) },
                { id: 'custom.cellOptions', value: { type: 'color-text' } },
              ],
            },
          ],
        },
      },
      {
        type: 'state-timeline',
        title: 'Heartbeats received',
        description: 'Heartbeats per interval; an empty stretch is an agent that went quiet.',
        gridPos: { x: 14, y: 0, w: 10, h: 8 },
        targets: [
          target(
            'A',
            {
              kind: 'select',
              measurement: AGENT,
              select: [{ fn: 'count', field: 'up', alias: 'heartbeats' }],
              where: ON_SITE,
              time: { fill: '0' },
              groupBy: ['site'],
            },
            { alias: '$tag_site' },
          ),
        ],
        fieldConfig: {
          defaults: {
            thresholds: thresholds(['red', null], ['green', 1]),
            color: { mode: 'thresholds' },
            mappings: [{ type: 'value', options: { '0': { text: 'none', color: 'red', index: 0 } } }],
          },
          overrides: [],
        },
        options: { showValue: 'never', mergeValues: false },
      },
      {
        type: 'timeseries',
        title: 'Probe errors',
        description: 'Probes that failed to run (not measurement failures, which are results).',
        gridPos: { x: 0, y: 8, w: 12, h: 8 },
        targets: [
          target(
            'A',
            {
              kind: 'select',
              measurement: AGENT,
              select: [{ fn: 'sum', field: 'errors', alias: 'errors' }],
              where: ON_SITE,
              time: { fill: 'none' },
              groupBy: ['site'],
            },
            { alias: '$tag_site' },
          ),
        ],
        fieldConfig: {
          defaults: { unit: 'short', min: 0, custom: { drawStyle: 'bars', fillOpacity: 60 } },
          overrides: [],
        },
      },
      {
        type: 'timeseries',
        title: 'Results waiting in the spool',
        description: 'Results an agent holds on disk while the collector is unreachable.',
        gridPos: { x: 12, y: 8, w: 12, h: 8 },
        targets: [
          target(
            'A',
            {
              kind: 'select',
              measurement: AGENT,
              select: [{ fn: 'max', field: 'spool_queued', alias: 'queued' }],
              where: ON_SITE,
              time: { fill: 'none' },
              groupBy: ['site'],
            },
            { alias: '$tag_site' },
          ),
        ],
        fieldConfig: { defaults: { unit: 'short', min: 0 }, overrides: [] },
      },
      {
        type: 'stat',
        title: 'Versions',
        gridPos: { x: 0, y: 16, w: 24, h: 4 },
        targets: [
          target(
            'A',
            {
              kind: 'select',
              measurement: AGENT,
              select: [{ fn: 'count', field: 'up', alias: 'heartbeats' }],
              where: ON_SITE,
              groupBy: ['version'],
            },
            { alias: '$tag_version' },
          ),
        ],
        fieldConfig: { defaults: { unit: 'short', color: { mode: 'palette-classic' } }, overrides: [] },
        options: {
          reduceOptions: { calcs: ['sum'], fields: '', values: false },
          textMode: 'value_and_name',
          colorMode: 'value',
          graphMode: 'none',
        },
      },
    ],
  });
}
