import { createHmac, timingSafeEqual } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AlertEvent } from '../../../collector/alerts/event.ts';
import {
  type AlertmanagerConfig,
  alertmanagerPayload,
  alertmanagerUrl,
} from '../../../collector/notifiers/alertmanager.ts';
import { notifierNames, renderNotification } from '../../../collector/notifiers/index.ts';
import { type PagerDutyConfig, pagerdutyPayload } from '../../../collector/notifiers/pagerduty.ts';
import { slackPayload } from '../../../collector/notifiers/slack.ts';
import { teamsPayload } from '../../../collector/notifiers/teams.ts';
import type { OutgoingRequest, RenderContext } from '../../../collector/notifiers/types.ts';
import { webhookPayload } from '../../../collector/notifiers/webhook.ts';
import { ConfigError, parseTopology } from '../../../shared/config/load.ts';
import { twoSites } from '../../../testbed/topologies.ts';
import {
  type Receiver,
  startReceiver,
  validatePagerDuty,
  validateSlack,
  validateTeams,
} from '../../support/receivers.ts';

const T0 = Date.UTC(2026, 0, 15, 9, 0, 0);
const firing: AlertEvent = {
  dedup_key: 'wanwatch/rtt_high/dallas--london',
  rule: 'rtt_high',
  status: 'firing',
  reminder: false,
  severity: 'warning',
  subject: { kind: 'link', sites: ['dallas', 'london'], worst: { src: 'dallas', dst: 'london' } },
  started_at_ms: T0,
  fired_at_ms: T0 + 60_000,
  resolved_at_ms: null,
  time_ms: T0 + 60_000,
  observed: 83.1,
  threshold: 80,
  unit: 'ms',
  directions: [
    { src: 'dallas', dst: 'london', breach: true, observed: 83.1 },
    { src: 'london', dst: 'dallas', breach: false, observed: 79.4 },
  ],
  summary: 'p95 RTT 83.1 ms > 80 ms on dallas ↔ london (dallas → london 83.1 ms)',
  link: {
    sites: ['dallas', 'london'],
    subclusters: ['sc1', 'sc2'],
    required_mbps: 12,
    max_rtt_ms: 80,
    max_loss_percent: 1,
    derivation: '2 × 5 Mbps (sc1, sc2) + 2 Mbps extra = 12 Mbps',
  },
};
const resolved: AlertEvent = {
  ...firing,
  status: 'resolved',
  resolved_at_ms: T0 + 600_000,
  time_ms: T0 + 600_000,
  observed: 21.5,
  directions: [
    { src: 'dallas', dst: 'london', breach: false, observed: 21.5 },
    { src: 'london', dst: 'dallas', breach: false, observed: 21.2 },
  ],
  summary: 'p95 RTT 21.5 ms ≤ 80 ms on dallas ↔ london (dallas → london 21.5 ms, london → dallas 21.2 ms)',
};
const ctx: RenderContext = {
  now_ms: T0 + 61_000,
  collector_url: 'http://127.0.0.1:9',
  secret: null,
};

describe('generic webhook payload', () => {
  it('is version 2 with status, rule, dedup key, the link as subject, each direction, the requirement and observed vs required with units', () => {
    expect(webhookPayload(firing, ctx)).toEqual({
      version: 2,
      status: 'firing',
      reminder: false,
      rule: 'rtt_high',
      dedup_key: 'wanwatch/rtt_high/dallas--london',
      severity: 'warning',
      summary: 'p95 RTT 83.1 ms > 80 ms on dallas ↔ london (dallas → london 83.1 ms)',
      subject: { kind: 'link', sites: ['dallas', 'london'], worst: { src: 'dallas', dst: 'london' } },
      directions: [
        { src: 'dallas', dst: 'london', breach: true, observed: 83.1 },
        { src: 'london', dst: 'dallas', breach: false, observed: 79.4 },
      ],
      link: firing.link,
      cause: null,
      observed: { value: 83.1, unit: 'ms' },
      threshold: { value: 80, unit: 'ms' },
      started_at: '2026-01-15T09:00:00.000Z',
      fired_at: '2026-01-15T09:01:00.000Z',
      resolved_at: null,
      event_time: '2026-01-15T09:01:00.000Z',
      sent_at: '2026-01-15T09:01:01.000Z',
      collector_url: 'http://127.0.0.1:9',
    });
    expect(webhookPayload(resolved, ctx)).toMatchObject({
      status: 'resolved',
      resolved_at: '2026-01-15T09:10:00.000Z',
    });
  });

  it('is signed with HMAC-SHA256 over the raw body when secret_env is set, verifiable by a receiver', () => {
    const out = renderNotification(
      { type: 'webhook', url: 'http://127.0.0.1:9/hook', secret_env: 'HOOK_SECRET' },
      firing,
      ctx,
      { HOOK_SECRET: 's3cret' },
    );
    if (!out.ok) throw new Error(out.error);
    const { headers, body } = out.request;
    expect(headers['x-wanwatch-timestamp']).toBe(String(Math.floor(ctx.now_ms / 1000)));
    // What a receiver does: recompute over the raw bytes and compare in constant time.
    const expected = Buffer.from(`sha256=${createHmac('sha256', 's3cret').update(body).digest('hex')}`);
    const got = Buffer.from(headers['x-wanwatch-signature'] ?? '');
    expect(got.length === expected.length && timingSafeEqual(got, expected)).toBe(true);
    const forged = Buffer.from(
      `sha256=${createHmac('sha256', 's3cret').update(body.replace('83.1', '8.1')).digest('hex')}`,
    );
    expect(forged.equals(got)).toBe(false);
  });

  it('is not signed without secret_env, and fails clearly when secret_env names an unset variable', () => {
    const plain = renderNotification({ type: 'webhook', url: 'http://127.0.0.1:9/hook' }, firing, ctx, {});
    expect(plain.ok && plain.request.headers['x-wanwatch-signature']).toBe(undefined);
    const missing = renderNotification(
      { type: 'webhook', url: 'http://127.0.0.1:9/hook', secret_env: 'NOPE' },
      firing,
      ctx,
      {},
    );
    expect(missing).toEqual({
      ok: false,
      error: "environment variable NOPE (the notifier's secret_env) is not set; set it where wanwatch runs",
    });
  });
});

describe('Slack, Teams and PagerDuty payloads', () => {
  it('renders Slack text plus header, section with fields and context blocks', () => {
    expect(slackPayload(firing)).toEqual({
      text: ':large_orange_circle: FIRING: p95 RTT 83.1 ms &gt; 80 ms on dallas ↔ london (dallas → london 83.1 ms)',
      blocks: [
        {
          type: 'header',
          text: { type: 'plain_text', text: 'FIRING · rtt_high · dallas ↔ london', emoji: true },
        },
        {
          type: 'section',
          text: {
            type: 'mrkdwn',
            text: ':large_orange_circle: *p95 RTT 83.1 ms &gt; 80 ms on dallas ↔ london (dallas → london 83.1 ms)*',
          },
          fields: [
            { type: 'mrkdwn', text: '*Observed*\n83.1 ms' },
            { type: 'mrkdwn', text: '*Required*\n≤ 80 ms' },
            { type: 'mrkdwn', text: '*Severity*\nwarning' },
            { type: 'mrkdwn', text: '*Since*\n2026-01-15T09:00:00.000Z' },
            {
              type: 'mrkdwn',
              text: '*Directions*\ndallas → london 83.1 ms (breach), london → dallas 79.4 ms',
            },
            { type: 'mrkdwn', text: '*Subclusters*\nsc1, sc2' },
            { type: 'mrkdwn', text: '*Link needs*\n2 × 5 Mbps (sc1, sc2) + 2 Mbps extra = 12 Mbps' },
          ],
        },
        {
          type: 'context',
          elements: [{ type: 'mrkdwn', text: 'wanwatch · dedup key `wanwatch/rtt_high/dallas--london`' }],
        },
      ],
    });
    expect(slackPayload(resolved).text).toBe(
      ':large_green_circle: RESOLVED: p95 RTT 21.5 ms ≤ 80 ms on dallas ↔ london (dallas → london 21.5 ms, london → dallas 21.2 ms)',
    );
  });

  it('renders Teams an Adaptive Card 1.4 inside the message wrapper', () => {
    const p = teamsPayload(firing);
    expect(p.type).toBe('message');
    expect(p.attachments).toHaveLength(1);
    const a = p.attachments[0]!;
    expect(a.contentType).toBe('application/vnd.microsoft.card.adaptive');
    expect(a.content).toEqual({
      $schema: 'http://adaptivecards.io/schemas/adaptive-card.json',
      type: 'AdaptiveCard',
      version: '1.4',
      body: [
        {
          type: 'TextBlock',
          text: 'FIRING · rtt_high · dallas ↔ london',
          weight: 'Bolder',
          size: 'Medium',
          color: 'Warning',
          wrap: true,
        },
        {
          type: 'TextBlock',
          text: 'p95 RTT 83.1 ms > 80 ms on dallas ↔ london (dallas → london 83.1 ms)',
          wrap: true,
        },
        {
          type: 'FactSet',
          facts: [
            { title: 'Observed', value: '83.1 ms' },
            { title: 'Required', value: '≤ 80 ms' },
            { title: 'Severity', value: 'warning' },
            { title: 'Since', value: '2026-01-15T09:00:00.000Z' },
            { title: 'Directions', value: 'dallas → london 83.1 ms (breach), london → dallas 79.4 ms' },
            { title: 'Subclusters', value: 'sc1, sc2' },
            { title: 'Link needs', value: '2 × 5 Mbps (sc1, sc2) + 2 Mbps extra = 12 Mbps' },
            { title: 'Dedup key', value: 'wanwatch/rtt_high/dallas--london' },
          ],
        },
      ],
    });
  });

  it('renders PagerDuty Events v2 trigger and resolve with the routing key from the environment', () => {
    const config = {
      type: 'pagerduty' as const,
      routing_key_env: 'PD_KEY',
      url: 'http://127.0.0.1:9/v2/enqueue',
      severity: 'error' as const,
    };
    expect(pagerdutyPayload(firing, config, { ...ctx, secret: 'R0UT1NG' })).toEqual({
      routing_key: 'R0UT1NG',
      event_action: 'trigger',
      dedup_key: 'wanwatch/rtt_high/dallas--london',
      payload: {
        summary: 'p95 RTT 83.1 ms > 80 ms on dallas ↔ london (dallas → london 83.1 ms)',
        source: 'wanwatch:dallas--london',
        severity: 'error',
        timestamp: '2026-01-15T09:01:00.000Z',
        component: 'dallas--london',
        group: 'links',
        class: 'rtt_high',
        custom_details: {
          observed: '83.1 ms',
          required: '≤ 80 ms',
          started_at: '2026-01-15T09:00:00.000Z',
          directions: 'dallas → london 83.1 ms (breach), london → dallas 79.4 ms',
          subclusters: 'sc1, sc2',
          derivation: '2 × 5 Mbps (sc1, sc2) + 2 Mbps extra = 12 Mbps',
        },
      },
      client: 'wanwatch',
      client_url: 'http://127.0.0.1:9',
    });
    expect(pagerdutyPayload(resolved, config, { ...ctx, secret: 'R0UT1NG' })).toEqual({
      routing_key: 'R0UT1NG',
      event_action: 'resolve',
      dedup_key: 'wanwatch/rtt_high/dallas--london',
    });
  });

  it('renders Alertmanager v2 alerts with labels, annotations, startsAt, endsAt and generatorURL', () => {
    expect(alertmanagerUrl('http://127.0.0.1:9093/')).toBe('http://127.0.0.1:9093/api/v2/alerts');
    expect(alertmanagerUrl('http://127.0.0.1:9093/api/v2/alerts')).toBe(
      'http://127.0.0.1:9093/api/v2/alerts',
    );
    expect(alertmanagerPayload(firing, ctx)).toEqual([
      {
        labels: {
          alertname: 'wanwatch_rtt_high',
          rule: 'rtt_high',
          severity: 'warning',
          dedup_key: 'wanwatch/rtt_high/dallas--london',
          link: 'dallas--london',
        },
        annotations: {
          summary: 'p95 RTT 83.1 ms > 80 ms on dallas ↔ london (dallas → london 83.1 ms)',
          observed: '83.1 ms',
          required: '≤ 80 ms',
          directions: 'dallas → london 83.1 ms (breach), london → dallas 79.4 ms',
          description: 'Link needs 2 × 5 Mbps (sc1, sc2) + 2 Mbps extra = 12 Mbps',
        },
        startsAt: '2026-01-15T09:00:00.000Z',
        // Three default resend intervals (60 s) ahead: the outbox re-sends it every minute.
        endsAt: new Date(ctx.now_ms + 3 * 60_000).toISOString(),
        generatorURL: 'http://127.0.0.1:9/api/v1/alerts',
      },
    ]);
    expect(alertmanagerPayload(resolved, ctx)[0]?.endsAt).toBe('2026-01-15T09:10:00.000Z');
    // Alertmanager tells alerts apart by labels: the resolved event must carry the firing one's.
    const other: AlertEvent = {
      ...resolved,
      subject: { kind: 'link', sites: ['dallas', 'london'], worst: { src: 'london', dst: 'dallas' } },
    };
    expect(alertmanagerPayload(other, ctx)[0]?.labels).toEqual(alertmanagerPayload(firing, ctx)[0]?.labels);
  });
});

describe('PagerDuty severity comes from the rule', () => {
  const config = (severity?: PagerDutyConfig['severity']): PagerDutyConfig => ({
    type: 'pagerduty',
    routing_key_env: 'PD',
    url: 'http://127.0.0.1:9/v2/enqueue',
    ...(severity !== undefined ? { severity } : {}),
  });
  const severityOf = (rule: string, c: PagerDutyConfig) => {
    const p = pagerdutyPayload({ ...firing, rule }, c, { ...ctx, secret: 'k' });
    return 'payload' in p ? p.payload.severity : null;
  };
  const rules = ['link_down', 'agent_down', 'measurement_failing', 'rtt_high', 'loss_high', 'goodput_low'];

  it('is critical for link_down, agent_down and measurement_failing, warning for every other rule', () => {
    expect(rules.map((r) => severityOf(r, config()))).toEqual([
      'critical',
      'critical',
      'critical',
      'warning',
      'warning',
      'warning',
    ]);
    // A rule this table does not know yet is a warning.
    expect(severityOf('throughput_failing', config())).toBe('warning');
  });

  it('is overridden per rule on the notifier; `default` sets the rules it does not name', () => {
    const c = config({ link_down: 'error', rtt_high: 'info', default: 'error' });
    expect(rules.map((r) => severityOf(r, c))).toEqual([
      'error',
      'critical',
      'critical',
      'info',
      'error',
      'error',
    ]);
    // One severity for every rule, as before severities came from the rule.
    expect(rules.map((r) => severityOf(r, config('error')))).toEqual(rules.map(() => 'error'));
  });

  it('is read from the topology file, and a wrong severity or rule name is refused with its path', () => {
    const topo = (notify: string) => parseTopology(twoSites({ notify }));
    const [n] = topo(
      '  - {type: pagerduty, routing_key_env: PD, severity: {link_down: error, default: info}}',
    ).notify;
    expect(n).toMatchObject({ type: 'pagerduty', severity: { link_down: 'error', default: 'info' } });
    expect(severityOf('rtt_high', n as PagerDutyConfig)).toBe('info');
    expect(severityOf('agent_down', n as PagerDutyConfig)).toBe('critical');
    const bad = (notify: string) => {
      try {
        topo(notify);
      } catch (err) {
        if (err instanceof ConfigError) return err.message;
      }
      return 'accepted';
    };
    expect(bad('  - {type: pagerduty, routing_key_env: PD, severity: {link_down: urgent}}')).toMatch(
      /notify\[0\]\.severity: link_down: expected a PagerDuty severity: critical, error, warning, info/,
    );
    expect(bad('  - {type: pagerduty, routing_key_env: PD, severity: {Link-Down: error}}')).toMatch(
      /notify\[0\]\.severity: Link-Down: expected a rule name or default/,
    );
  });
});

describe('notifier settings in the topology file', () => {
  const load = (notify: string) => {
    try {
      return parseTopology(twoSites({ notify })).notify;
    } catch (err) {
      if (err instanceof ConfigError) return err.message;
      throw err;
    }
  };

  it('Alertmanager: resend_interval, 60 s when not given, at least 1 s', () => {
    expect(load('  - {type: alertmanager, url: "http://127.0.0.1:9093", resend_interval: 2s}')).toEqual([
      { type: 'alertmanager', url: 'http://127.0.0.1:9093', resend_interval: 2000 },
    ]);
    const [am] = load('  - {type: alertmanager, url: "http://127.0.0.1:9093"}') as AlertmanagerConfig[];
    expect(alertmanagerPayload(firing, ctx, am)[0]?.endsAt).toBe(
      new Date(ctx.now_ms + 180_000).toISOString(),
    );
    expect(alertmanagerPayload(firing, ctx, { resend_interval: 2000 })[0]?.endsAt).toBe(
      new Date(ctx.now_ms + 6000).toISOString(),
    );
    expect(load('  - {type: alertmanager, url: "http://127.0.0.1:9093", resend_interval: 500ms}')).toMatch(
      /resend_interval.*must be at least 1s/s,
    );
  });

  it('no two notifiers share a name (the outbox keys deliveries by it)', () => {
    expect(
      load(
        '  - {type: webhook, name: ops, url: "http://127.0.0.1:1/a"}\n  - {type: slack, name: ops, url: "http://127.0.0.1:1/b"}',
      ),
    ).toMatch(/notify\[1\]\.name.*"ops" is already the name of notify\[0\]/s);
    expect(
      load(
        '  - {type: webhook, url: "http://127.0.0.1:1/a"}\n  - {type: webhook, url: "http://127.0.0.1:1/a"}',
      ),
    ).toMatch(/notify\[1\].*"webhook:http:\/\/127\.0\.0\.1:1\/a" is already the name of notify\[0\]/s);
  });

  it('names an unnamed notifier by its type when it is the only unnamed one of its type, so a new URL keeps it', () => {
    const names = (notify: string) => {
      const list = load(notify);
      if (typeof list === 'string') throw new Error(list);
      return notifierNames(list);
    };
    expect(
      names(
        '  - {type: webhook, url: "http://127.0.0.1:1/a"}\n  - {type: slack, url: "http://127.0.0.1:1/b"}',
      ),
    ).toEqual(['webhook', 'slack']);
    expect(
      names(
        '  - {type: webhook, url: "http://127.0.0.1:1/a"}\n  - {type: webhook, url: "http://127.0.0.1:1/b"}\n  - {type: webhook, name: ops, url: "http://127.0.0.1:1/c"}',
      ),
    ).toEqual(['webhook:http://127.0.0.1:1/a', 'webhook:http://127.0.0.1:1/b', 'ops']);
  });
});

describe('fake provider receivers accept what wanwatch sends (and reject what the providers would)', () => {
  let slack: Receiver;
  let teams: Receiver;
  let pagerduty: Receiver;
  beforeAll(async () => {
    slack = await startReceiver(validateSlack);
    teams = await startReceiver(validateTeams);
    pagerduty = await startReceiver(validatePagerDuty, 202);
  });
  afterAll(async () => {
    await Promise.all([slack.close(), teams.close(), pagerduty.close()]);
  });
  const send = (r: OutgoingRequest) =>
    fetch(r.url, { method: 'POST', headers: r.headers, body: r.body }).then((x) => x.status);

  it('Slack, Teams and PagerDuty receivers accept firing and resolved events of every rule', async () => {
    const events: AlertEvent[] = [
      firing,
      resolved,
      {
        ...firing,
        rule: 'agent_down',
        subject: { kind: 'agent', site: 'dallas' },
        directions: [],
        link: null,
        unit: 's',
        observed: 95,
        threshold: 90,
        severity: 'critical',
        summary: 'the agent at dallas sent no heartbeat for 95 s (limit 90 s)',
      },
      {
        ...firing,
        rule: 'goodput_low',
        unit: 'bps',
        observed: 3.2e6,
        threshold: 12e6,
        directions: [
          { src: 'dallas', dst: 'london', breach: true, observed: 3.2e6 },
          { src: 'london', dst: 'dallas', breach: true, observed: 3.3e6 },
        ],
        summary:
          'goodput 3.2 Mbps < 12 Mbps required on dallas ↔ london (dallas → london 3.2 Mbps, london → dallas 3.3 Mbps)',
      },
    ];
    for (const e of events) {
      for (const [config, env] of [
        [{ type: 'slack' as const, url: `${slack.url}/services/T/B/X` }, {}],
        [{ type: 'teams' as const, url: `${teams.url}/workflows/1` }, {}],
        [
          {
            type: 'pagerduty' as const,
            routing_key_env: 'PD',
            url: `${pagerduty.url}/v2/enqueue`,
            severity: 'critical' as const,
          },
          { PD: 'key' },
        ],
      ] as const) {
        const out = renderNotification(config, e, ctx, env);
        if (!out.ok) throw new Error(out.error);
        expect(await send(out.request)).toBeLessThan(300);
      }
    }
    expect([slack, teams, pagerduty].flatMap((r) => r.received.flatMap((x) => x.problems))).toEqual([]);
    expect(slack.received).toHaveLength(4);
  });

  it('the receivers reject payloads that break the documented shapes', async () => {
    const badSlack = {
      ...slackPayload(firing),
      blocks: [{ type: 'header', text: { type: 'mrkdwn', text: 'x' } }],
    };
    expect(await send({ url: slack.url, headers: {}, body: JSON.stringify(badSlack) })).toBe(400);
    const badTeams = { type: 'message', attachments: [{ contentType: 'application/json', content: {} }] };
    expect(await send({ url: teams.url, headers: {}, body: JSON.stringify(badTeams) })).toBe(400);
    expect(
      await send({
        url: pagerduty.url,
        headers: {},
        body: JSON.stringify({ event_action: 'trigger', payload: {} }),
      }),
    ).toBe(400);
  });
});
