// output_rows_refused on the real parts: a real collector copies into Debian's InfluxDB 1.6.7, which
// refuses one row (a field type conflict: the shard already holds goodput_bps as a string, where
// wanwatch writes a float); the sink sets it aside, the collector raises
// output_rows_refused naming the output, and every notifier delivers it (a real webhook receiver, the
// fakes of the SaaS receivers checking the documented shapes, Debian's Alertmanager), while the other
// rows and streams keep reaching InfluxDB. Once no row was refused for a window, it resolves.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MEASUREMENTS } from '../../../collector/sinks/influx-schema.ts';
import { type AlertsReply, alertsReplySchema } from '../../../shared/wire.ts';
import { twoLoopbackAgentSites } from '../../../testbed/agents.ts';
import { eventually, startTestCollector, type TestCollector, tempDir } from '../../../testbed/collector.ts';
import { type Influxd, startInfluxd } from '../../../testbed/influxd.ts';
import { countsAfterClose, influxCounts, waitUntilWritten } from '../../../testbed/outputs.ts';
import { rttResult, throughputResult } from '../../../testbed/results.ts';
import { pushAs, TOKEN_ENV } from '../../../testbed/topologies.ts';
import {
  type Receiver,
  startReceiver,
  validatePagerDuty,
  validateSlack,
  validateTeams,
} from '../../support/receivers.ts';
import { type Alertmanager, startAlertmanager } from '../notifiers/alertmanager-server.ts';

const DB = 'refusing';
const RULE = 'output_rows_refused';

let influx: Influxd;
let webhook: Receiver;
let slack: Receiver;
let teams: Receiver;
let pagerduty: Receiver;
let alertmanager: Alertmanager;
let c: TestCollector;
let output: string;

// Sites a and b (no agents run: the test pushes their results). The window is short so that the alert
// resolves within the test; `for` and `clear_for` as short.
const topology = async () => `${await twoLoopbackAgentSites()}
thresholds: {max_rtt_ms: 80, max_loss_percent: 1}
probes:
  heartbeat: {interval: 1h, timeout: 1h}
  throughput: {enabled: false}
alerts: {for: 1s, clear_for: 1s, window: 6s}
outputs:
  - {type: influxdb, version: 1, url: "${influx.url}", db: ${DB}, batch_size: 7, flush_interval: 200ms, timeout: 2s}
notify:
  - {type: webhook, url: "${webhook.url}/hook"}
  - {type: slack, url: "${slack.url}/services/T0/B0/x"}
  - {type: teams, url: "${teams.url}/workflows/x"}
  - {type: pagerduty, routing_key_env: PD_KEY, url: "${pagerduty.url}/v2/enqueue"}
  - {type: alertmanager, url: "${alertmanager.url}"}
`;

/** Good rounds both ways, 20 ms, one every 200 ms ending now. */
async function pushGood(n: number): Promise<void> {
  const t0 = Date.now() - n * 200;
  await pushAs(
    c.url,
    'a',
    Array.from({ length: n }, (_, i) => rttResult('a', 'b', t0 + i * 200, [20, 21, 22])),
  );
  await pushAs(
    c.url,
    'b',
    Array.from({ length: n }, (_, i) => rttResult('b', 'a', t0 + i * 200 + 1, [20, 21, 22])),
  );
}

const bodies = (r: Receiver) => r.accepted().map((x) => x.body as Record<string, unknown>);
const webhookEvents = () =>
  bodies(webhook) as { rule: string; status: string; dedup_key: string; [k: string]: unknown }[];

beforeAll(async () => {
  influx = await startInfluxd();
  await influx.createDatabase(DB);
  webhook = await startReceiver();
  slack = await startReceiver(validateSlack);
  teams = await startReceiver(validateTeams, 202);
  pagerduty = await startReceiver(validatePagerDuty, 202);
  alertmanager = await startAlertmanager(tempDir('am'));
  c = await startTestCollector(await topology(), {
    env: { ...TOKEN_ENV, PD_KEY: 'R0UT1NG' },
    sinks: { backoff: { min_ms: 100, max_ms: 400 } },
  });
  output = c.sinks().sinks[0]?.name ?? '';
}, 60_000);

afterAll(async () => {
  await c?.dispose();
  await Promise.all([webhook, slack, teams, pagerduty].map((r) => r?.close()));
  await alertmanager?.stop();
  await influx?.close();
});

describe('rows InfluxDB refuses', () => {
  it('raise output_rows_refused naming the output, delivered by every notifier, while the other rows go on', async () => {
    expect(output).toBe(`influxdb:${influx.url}?db=${DB}`);
    await pushGood(5);
    await waitUntilWritten(c);
    // One row InfluxDB cannot store, in the middle of good ones: goodput_bps is a string in this shard.
    const conflict = await fetch(`${influx.url}/write?db=${DB}&precision=ms`, {
      method: 'POST',
      body: `${MEASUREMENTS.throughput},src=z,dst=z goodput_bps="not a number" ${Date.now() - 60_000}`,
    });
    expect(conflict.status).toBe(204);
    await pushAs(c.url, 'a', [throughputResult('a', 'b', Date.now() - 500, 900_000_000)]);
    await pushGood(5);

    const firing = await eventually(
      () => webhookEvents().find((e) => e.rule === RULE && e.status === 'firing'),
      15_000,
      'output_rows_refused firing at the webhook',
    );
    expect(firing).toMatchObject({
      version: 2,
      reminder: false,
      dedup_key: `wanwatch/${RULE}/${output}`,
      severity: 'warning',
      subject: { kind: 'output', output },
      link: null,
      directions: [],
      cause: null,
      observed: { value: 1, unit: 'rows' },
      threshold: { value: 0, unit: 'rows' },
    });
    expect(firing.summary).toBe(
      `output ${output}: InfluxDB refused 1 row in the alert window; they are set aside, not written ` +
        '(GET /api/v1/outputs shows each and why), and the rows after them go on',
    );
    // It is the only alert: nothing else is wrong.
    expect(webhookEvents().map((e) => e.rule)).toEqual([RULE]);

    // The read API lists it.
    const alerts: AlertsReply = alertsReplySchema.parse(await (await fetch(`${c.url}/api/v1/alerts`)).json());
    expect(alerts.active).toEqual([
      expect.objectContaining({
        dedup_key: `wanwatch/${RULE}/${output}`,
        rule: RULE,
        status: 'firing',
        subject: { kind: 'output', output },
        observed: 1,
        threshold: 0,
        link: null,
      }),
    ]);

    // Every notifier renders the output as the subject.
    const header = `FIRING · ${RULE} · output ${output}`;
    const s = (await eventually(() => bodies(slack)[0], 10_000, 'the Slack message')) as {
      blocks: unknown[];
    };
    expect(s.blocks[0]).toMatchObject({ type: 'header', text: { text: header } });
    expect(JSON.stringify(s)).toContain('*Observed*\\n1 row');
    const t = await eventually(() => bodies(teams)[0], 10_000, 'the Teams card');
    expect(JSON.stringify(t)).toContain(JSON.stringify(header));
    const p = await eventually(() => bodies(pagerduty)[0], 10_000, 'the PagerDuty event');
    expect(p).toMatchObject({
      event_action: 'trigger',
      dedup_key: `wanwatch/${RULE}/${output}`,
      payload: {
        source: `wanwatch:${output}`,
        severity: 'warning',
        component: output,
        group: 'outputs',
        class: RULE,
        custom_details: { observed: '1 row', required: '≤ 0 rows' },
      },
    });
    const am = await eventually(
      async () => (await alertmanager.alerts()).find((a) => a.labels.rule === RULE),
      10_000,
      'the alert in Alertmanager',
    );
    expect(am.labels).toEqual({
      alertname: `wanwatch_${RULE}`,
      rule: RULE,
      severity: 'warning',
      dedup_key: `wanwatch/${RULE}/${output}`,
      output,
    });
    for (const r of [webhook, slack, teams, pagerduty])
      expect(r.received.filter((x) => x.status >= 300)).toEqual([]);

    // The rows after the refused one, and the alert's own event, reached InfluxDB.
    await pushGood(3);
    await waitUntilWritten(c);
    const [events] = await influx.query(
      `SELECT "firing", "dedup_key" FROM "${MEASUREMENTS.alert}" WHERE "rule" = '${RULE}' AND "subject" = 'output' AND "output" = '${output}'`,
      DB,
    );
    expect(events?.series?.[0]?.values.map((v) => v[1])).toEqual([1]);
  }, 60_000);

  it('resolve once no row was refused for a whole window, and every stream reached InfluxDB but the refused row', async () => {
    const resolved = await eventually(
      () => webhookEvents().find((e) => e.rule === RULE && e.status === 'resolved'),
      20_000,
      'output_rows_refused resolved at the webhook',
    );
    expect(resolved).toMatchObject({
      subject: { kind: 'output', output },
      summary: `output ${output}: InfluxDB refused no rows for the alert window`,
      observed: { value: 0, unit: 'rows' },
    });
    await eventually(
      () => bodies(pagerduty).find((b) => b.event_action === 'resolve'),
      10_000,
      'the PagerDuty resolve',
    );
    await waitUntilWritten(c);
    const counts = await countsAfterClose(c);
    expect(await influxCounts(influx, DB)).toEqual({
      ...counts,
      [MEASUREMENTS.throughput]: counts[MEASUREMENTS.throughput]! - 1,
    });
    expect(counts[MEASUREMENTS.alert]).toBe(2);
    expect(counts[MEASUREMENTS.link]).toBeGreaterThan(0);
  }, 60_000);
});
