// Agents: is every site's agent alive, which version runs where, and is anything going wrong inside it.
import { type Backend, dashboard, datasourceVariable, queryVariable, target, thresholds } from './grafana.ts';
import { MEASUREMENTS, type Selector, type SelectSpec, type TagCondition } from './influxql.ts';
import { ON_SITE as PROM_SITE, type PromQuery } from './promql.ts';

const AGENT = MEASUREMENTS.agent;
const ON_SITE: TagCondition[] = [{ tag: 'site', variable: 'site' }];

/** One series per site of one heartbeat field, per interval (`fill`: what an interval without one shows). */
const perSite = (select: Selector, fill: NonNullable<SelectSpec['time']>['fill'], prom: PromQuery) =>
  target(
    'A',
    {
      kind: 'select',
      measurement: AGENT,
      select: [select],
      where: ON_SITE,
      time: { fill },
      groupBy: ['site'],
    },
    { alias: '$tag_site' },
    prom,
  );

export function agents(b: Backend) {
  return dashboard(
    {
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
            'label_values(wanwatch_agent_up, site)',
          ),
        ],
      },
      panels: [
        {
          type: 'table',
          title: 'Agents',
          description:
            'Latest heartbeat of each agent: version, uptime, spool and errors over the time range.',
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
              // One row per agent: its heartbeat's age, spool and errors (merged on site).
              [
                { expr: `time() - wanwatch_agent_last_heartbeat_timestamp_seconds${PROM_SITE}` },
                { expr: `wanwatch_agent_spool_queued_results${PROM_SITE}` },
                { expr: `wanwatch_agent_spool_dropped_results_total${PROM_SITE}` },
                { expr: `sum by (site) (increase(wanwatch_agent_errors_total${PROM_SITE}[$__range]))` },
              ],
            ),
          ],
          transformations: (b: Backend) =>
            b === 'promql'
              ? [
                  { id: 'merge', options: {} },
                  {
                    id: 'organize',
                    options: {
                      excludeByName: { Time: true, job: true, instance: true },
                      renameByName: {
                        'Value #A': 'last heartbeat (s ago)',
                        'Value #A2': 'spool queued',
                        'Value #A3': 'spool dropped',
                        'Value #A4': 'errors',
                      },
                    },
                  },
                ]
              : undefined,
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
            perSite(
              { fn: 'count', field: 'up', alias: 'heartbeats' },
              '0',
              // 1 while heard within the heartbeat interval plus its timeout, 0 (none) when not.
              { expr: `wanwatch_agent_up${PROM_SITE}` },
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
            perSite({ fn: 'sum', field: 'errors', alias: 'errors' }, 'none', {
              expr: `sum by (site) (increase(wanwatch_agent_errors_total${PROM_SITE}[$__interval]))`,
            }),
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
            perSite({ fn: 'max', field: 'spool_queued', alias: 'queued' }, 'none', {
              expr: `max by (site) (max_over_time(wanwatch_agent_spool_queued_results${PROM_SITE}[$__interval]))`,
            }),
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
              // Agents per version (InfluxQL counts heartbeats per version).
              { expr: `count by (version) (wanwatch_agent_info${PROM_SITE})` },
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
    },
    b,
  );
}
