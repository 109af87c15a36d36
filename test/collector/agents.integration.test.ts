import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { WebhookPayloadV2 } from '../../collector/notifiers/webhook.ts';
import { WANWATCH_VERSION } from '../../shared/version.ts';
import { agentsReplySchema, heartbeatReplySchema } from '../../shared/wire.ts';
import { eventually, startTestCollector, type TestCollector } from '../../testbed/collector.ts';
import { TOKEN_A, TOKEN_ENV, twoSites } from '../../testbed/topologies.ts';
import { type Receiver, startReceiver } from '../support/receivers.ts';

let c: TestCollector;
let hook: Receiver;
beforeAll(async () => {
  hook = await startReceiver();
  c = await startTestCollector(
    twoSites({
      heartbeat: '{interval: 600ms, timeout: 400ms}',
      alerts: '{for: 0s, clear_for: 0s, window: 1m}',
      notify: `  - {type: webhook, url: "${hook.url}/hook"}`,
    }),
    { env: TOKEN_ENV },
  );
});
afterAll(async () => {
  await c.dispose();
  await hook.close();
});

const beat = (spool_queued = 0) =>
  fetch(`${c.url}/api/v1/heartbeat`, {
    method: 'POST',
    headers: { authorization: `Bearer ${TOKEN_A}` },
    body: JSON.stringify({
      site: 'a',
      version: WANWATCH_VERSION,
      time_ms: Date.now(),
      started_at_ms: Date.now() - 5000,
      plan_version: null,
      spool_queued,
      spool_dropped: 2,
      errors: 1,
    }),
  });
const agentEvents = (site: string) =>
  hook
    .accepted()
    .map((r) => r.body as WebhookPayloadV2)
    .filter((b) => b.dedup_key === `wanwatch/agent_down/${site}`);

describe('agent heartbeats', () => {
  it('declares an agent down after interval + timeout without a heartbeat, and keeps a beating one up', async () => {
    const timer = setInterval(() => void beat(7), 200);
    try {
      const [down] = await eventually(
        () => (agentEvents('b').length > 0 ? agentEvents('b') : undefined),
        10_000,
        'agent_down for b',
      );
      expect(down).toMatchObject({
        status: 'firing',
        rule: 'agent_down',
        severity: 'critical',
        subject: { kind: 'agent', site: 'b' },
        threshold: { value: 1, unit: 's' },
      });
      expect(agentEvents('a')).toEqual([]);
      const agents = agentsReplySchema.parse(await (await fetch(`${c.url}/api/v1/agents`)).json());
      expect(agents.agents).toEqual([
        expect.objectContaining({
          site: 'a',
          up: true,
          version: WANWATCH_VERSION,
          spool_queued: 7,
          spool_dropped: 2,
        }),
        expect.objectContaining({ site: 'b', up: false, version: null, spool_queued: null }),
      ]);
    } finally {
      clearInterval(timer);
    }
  });

  it('fires agent_down when a beating agent stops, and resolves when it beats again', async () => {
    await eventually(
      () => (agentEvents('a').some((e) => e.status === 'firing') ? true : undefined),
      10_000,
      'agent_down for a',
    );
    expect((await beat()).status).toBe(200);
    await eventually(
      () => (agentEvents('a').some((e) => e.status === 'resolved') ? true : undefined),
      10_000,
      'resolved for a',
    );
  });

  it('answers a heartbeat with the plan_version the agent should run', async () => {
    const r = heartbeatReplySchema.parse(await (await beat()).json());
    const plan = (await (
      await fetch(`${c.url}/api/v1/plan?site=a`, { headers: { authorization: `Bearer ${TOKEN_A}` } })
    ).json()) as { plan_version: string };
    expect(r.plan_version).toBe(plan.plan_version);
  });

  it('serves a changed plan (new plan_version) after the topology file changes', async () => {
    const get = async () =>
      (await (
        await fetch(`${c.url}/api/v1/plan?site=a`, { headers: { authorization: `Bearer ${TOKEN_A}` } })
      ).json()) as { plan_version: string; rtt: { count: number } };
    const before = await get();
    const { readFileSync, writeFileSync } = await import('node:fs');
    writeFileSync(
      c.configPath,
      readFileSync(c.configPath, 'utf8').replace('probes:\n', 'probes:\n  rtt: {count: 9}\n'),
    );
    const after = await eventually(
      async () => {
        const p = await get();
        return p.rtt.count === 9 ? p : undefined;
      },
      10_000,
      'the new plan',
    );
    expect(after.plan_version).not.toBe(before.plan_version);
  });
});
