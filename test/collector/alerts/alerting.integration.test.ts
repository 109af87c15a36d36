import { writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { WebhookPayloadV2 } from '../../../collector/notifiers/webhook.ts';
import { alertsReplySchema, linksReplySchema } from '../../../shared/wire.ts';
import { eventually, startTestCollector, type TestCollector } from '../../../testbed/collector.ts';
import { batch, rttResult } from '../../../testbed/results.ts';
import { push, TOKEN_B, TOKEN_ENV, twoSites } from '../../../testbed/topologies.ts';
import {
  type Receiver,
  startReceiver,
  validatePagerDuty,
  validateSlack,
  validateTeams,
} from '../../support/receivers.ts';

// A forced breach end to end: well-formed results pushed over HTTP, thresholds tight enough to breach,
// every notifier receiving `firing`; then the limit relaxed in the topology file (reloaded without a
// restart) and every notifier receiving `resolved`.
let c: TestCollector;
let hook: Receiver;
let slack: Receiver;
let teams: Receiver;
let pagerduty: Receiver;
let yaml: (max: number) => string;

beforeAll(async () => {
  hook = await startReceiver();
  slack = await startReceiver(validateSlack);
  teams = await startReceiver(validateTeams);
  pagerduty = await startReceiver(validatePagerDuty, 202);
  const notify = [
    `  - {type: webhook, url: "${hook.url}/hook", secret_env: WW_HOOK_SECRET}`,
    `  - {type: slack, url: "${slack.url}/services/T0/B0/X"}`,
    `  - {type: teams, url: "${teams.url}/workflows/abc"}`,
    `  - {type: pagerduty, routing_key_env: WW_PD_KEY, url: "${pagerduty.url}/v2/enqueue", severity: critical}`,
  ].join('\n');
  yaml = (max) => twoSites({ max_rtt_ms: max, notify });
  c = await startTestCollector(yaml(20), {
    env: { ...TOKEN_ENV, WW_HOOK_SECRET: 'hook-secret', WW_PD_KEY: 'pd-key' },
  });
});
afterAll(async () => {
  await c.dispose();
  await Promise.all([hook, slack, teams, pagerduty].map((r) => r.close()));
});

const bodies = (r: Receiver) => r.accepted().map((x) => x.body as WebhookPayloadV2);
const rttEvents = (status: string) =>
  bodies(hook).filter((b) => b.rule === 'rtt_high' && b.status === status);

describe('alerting from ingested results', () => {
  it('fires rtt_high on a → b to every notifier when the p95 exceeds max_rtt_ms', async () => {
    const now = Date.now();
    const r = await push(
      c.url,
      batch('a', [
        rttResult('a', 'b', now - 2000, [30, 31, 32]),
        rttResult('a', 'b', now - 1000, [33, 34, 35]),
      ]),
    );
    expect(r.status).toBe(200);
    const [firing] = await eventually(
      () => (rttEvents('firing').length > 0 ? rttEvents('firing') : undefined),
      10_000,
      'firing',
    );
    expect(firing).toMatchObject({
      version: 2,
      dedup_key: 'wanwatch/rtt_high/a--b',
      subject: { kind: 'link', sites: ['a', 'b'], worst: { src: 'a', dst: 'b' } },
      directions: [
        { src: 'a', dst: 'b', breach: true, observed: 34.75 },
        { src: 'b', dst: 'a', breach: null, observed: null },
      ],
      summary: 'p95 RTT 34.8 ms > 20 ms on a ↔ b (a → b 34.8 ms)',
      observed: { value: 34.75, unit: 'ms' },
      threshold: { value: 20, unit: 'ms' },
      link: { sites: ['a', 'b'], subclusters: ['sc1'], required_mbps: 5 },
    });
    await eventually(
      () =>
        slack.accepted().length > 0 && teams.accepted().length > 0 && pagerduty.accepted().length > 0
          ? true
          : undefined,
      10_000,
      'all notifiers',
    );
    expect(pagerduty.accepted()[0]?.body as { event_action: string; routing_key: string }).toMatchObject({
      event_action: 'trigger',
      routing_key: 'pd-key',
    });
    expect(hook.accepted()[0]?.headers['x-wanwatch-signature']).toMatch(/^sha256=[0-9a-f]{64}$/);
    expect([slack, teams, pagerduty].flatMap((x) => x.received.flatMap((y) => y.problems))).toEqual([]);
  });

  it('shows the firing alert in the read API', async () => {
    // Parsed with the wire schemas, so the replies are checked against them too.
    const alerts = alertsReplySchema.parse(await (await fetch(`${c.url}/api/v1/alerts`)).json());
    expect(alerts.active).toContainEqual(
      expect.objectContaining({ dedup_key: 'wanwatch/rtt_high/a--b', status: 'firing' }),
    );
    expect(alerts.recent[0]?.dedup_key).toBe('wanwatch/rtt_high/a--b');
    const links = linksReplySchema.parse(await (await fetch(`${c.url}/api/v1/links`)).json());
    const ab = links.links[0]?.directions.find((d) => d.src === 'a');
    expect(ab).toMatchObject({
      state: 'firing',
      rtt_ms: 34.75,
      alerts: { rtt_high: 'firing', link_down: 'ok' },
    });
    expect(links.links[0]?.directions.find((d) => d.src === 'b')?.state).toBe('unknown');
    expect(links.links[0]).toMatchObject({
      state: 'firing',
      alerts: { rtt_high: 'firing', loss_high: 'ok' },
    });
  });

  it('keeps one alert for the link when the other direction breaches too, and shows both directions firing', async () => {
    const now = Date.now();
    const r = await push(
      c.url,
      batch('b', [rttResult('b', 'a', now - 1000, [40, 41, 42]), rttResult('b', 'a', now, [43, 44, 45])]),
      TOKEN_B,
    );
    expect(r.status).toBe(200);
    type Links = { links: { directions: { src: string; state: string }[] }[] };
    const states = await eventually(
      async () => {
        const l = (await (await fetch(`${c.url}/api/v1/links`)).json()) as Links;
        const s = l.links[0]?.directions.map((d) => `${d.src}:${d.state}`);
        return s?.includes('b:firing') ? s : undefined;
      },
      10_000,
      'b → a to show the firing link alert',
    );
    expect(states).toEqual(['a:firing', 'b:firing']);
    // Several evaluations later (every 200 ms) there is still one firing event, now about both.
    await new Promise((res) => setTimeout(res, 1000));
    expect(rttEvents('firing')).toHaveLength(1);
    const alerts = alertsReplySchema.parse(await (await fetch(`${c.url}/api/v1/alerts`)).json());
    expect(alerts.active).toEqual([
      expect.objectContaining({
        dedup_key: 'wanwatch/rtt_high/a--b',
        subject: { kind: 'link', sites: ['a', 'b'], worst: { src: 'b', dst: 'a' } },
      }),
    ]);
  });

  it('keeps the old topology when an edit is broken, and logs why', async () => {
    writeFileSync(c.configPath, `${yaml(20)}\nthresholds: [oops`);
    expect(c.reload()).toBe(false);
    expect(c.logs.join('')).toContain(
      'the topology file changed but is not valid; keeping the previous topology',
    );
    expect(c.topology().thresholds.max_rtt_ms).toBe(20);
  });

  it('resolves after the limit is relaxed in the topology file, without a restart', async () => {
    writeFileSync(c.configPath, yaml(100));
    await eventually(
      () => (c.topology().thresholds.max_rtt_ms === 100 ? true : undefined),
      10_000,
      'the file watcher to reload',
    );
    const [resolved] = await eventually(
      () => (rttEvents('resolved').length > 0 ? rttEvents('resolved') : undefined),
      10_000,
      'resolved',
    );
    expect(resolved).toMatchObject({ status: 'resolved', threshold: { value: 100, unit: 'ms' } });
    expect(resolved?.resolved_at).not.toBeNull();
    await eventually(
      () =>
        pagerduty.accepted().some((x) => (x.body as { event_action: string }).event_action === 'resolve')
          ? true
          : undefined,
      10_000,
      'PagerDuty resolve',
    );
    expect(rttEvents('firing')).toHaveLength(1);
    expect(slack.accepted().length).toBe(2);
  });
});

// A result from an agent whose clock is a year ahead must not silence link_down: the rules judge only
// what is at or before the evaluation's time. Ingest now refuses such a round (collector.max_clock_skew),
// so it goes into the store directly, as a store from before that check may hold one.
describe('a round dated a year ahead, in the store', () => {
  it('followed by rounds that lose every probe still raises link_down', async () => {
    const year = 365 * 86_400_000;
    expect(
      c.store.ingestBatch(batch('a', [rttResult('a', 'b', Date.now() + year, [1.2, 1.1])]), Date.now())
        .stored,
    ).toBe(1);
    // Rounds that lose every probe, one every 200 ms, as an agent sends them over a dead link.
    const lost = setInterval(() => {
      void push(c.url, batch('a', [rttResult('a', 'b', Date.now(), [null, null, null])])).catch(() => {});
    }, 200);
    try {
      const firing = await eventually(
        () => bodies(hook).find((b) => b.rule === 'link_down' && b.status === 'firing'),
        15_000,
        'link_down firing at the webhook',
      );
      expect(firing).toMatchObject({
        dedup_key: 'wanwatch/link_down/a--b',
        severity: 'critical',
        subject: { kind: 'link', sites: ['a', 'b'], worst: { src: 'a', dst: 'b' } },
      });
    } finally {
      clearInterval(lost);
    }
    expect(c.store.rttResults('a', 'b', Date.now() + year - 60_000)).toHaveLength(1);
    const links = linksReplySchema.parse(await (await fetch(`${c.url}/api/v1/links`)).json());
    const ab = links.links[0]?.directions.find((d) => d.src === 'a');
    expect(ab).toMatchObject({ state: 'firing', alerts: { link_down: 'firing' } });
    expect(ab?.last_result_ms).toBeLessThanOrEqual(links.time_ms);
  });
});
