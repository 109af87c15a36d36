// An agent without the ICMP privilege: site a's agent is the real `wanwatch agent` command run as the
// unprivileged user `nobody`, site b's a real agent run as root, both against the real collector with a
// webhook receiver. a cannot open a raw socket, so every one of its rounds is a permission_denied
// Result: the collector must raise measurement_failing for a naming permission_denied and what to do,
// show it in the read API and `wanwatch status`, and page no link_down or loss_high for a ↔ b.
import { chownSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa, type ResultPromise } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { WebhookPayloadV2 } from '../../collector/notifiers/webhook.ts';
import { agentsReplySchema, alertsReplySchema, linksReplySchema } from '../../shared/wire.ts';
import { type Fleet, startFleet, twoLoopbackAgentSites } from '../../testbed/agents.ts';
import { eventually, startTestCollector, type TestCollector } from '../../testbed/collector.ts';
import { WANWATCH, wanwatch } from '../support/cli.ts';
import { requireRoot } from '../support/privilege.ts';
import { type Receiver, startReceiver } from '../support/receivers.ts';

const root = requireRoot('running an agent as the unprivileged user nobody, and ICMP for the other site');
const TOKENS = { WW_TOKEN_A: 'token-a-without-privilege', WW_TOKEN_B: 'token-b-as-root' };
const NOBODY = 65_534;

let collector: TestCollector;
let fleet: Fleet;
let hook: Receiver;
let agentDir: string;
let agent: ResultPromise | undefined;

beforeAll(async () => {
  if (!root) return;
  hook = await startReceiver();
  const sites = await twoLoopbackAgentSites();
  collector = await startTestCollector(
    `thresholds: {max_rtt_ms: 80, max_loss_percent: 1}
${sites}probes:
  rtt: {method: icmp, interval: 500ms, count: 3, spacing: 20ms, timeout: 300ms}
  throughput: {enabled: false}
  heartbeat: {interval: 1s, timeout: 5s}
alerts: {for: 2s, clear_for: 2s, window: 10s}
notify:
  - {type: webhook, url: "${hook.url}/hook"}
`,
    { env: TOKENS, planRefreshMs: 500 },
  );
  fleet = await startFleet([{ site: 'b', token: TOKENS.WW_TOKEN_B }], {
    collector: collector.url,
    dir: collector.dir,
  });
  // nobody cannot enter root's temp directories: its data directory is its own.
  agentDir = mkdtempSync(join(tmpdir(), 'wanwatch-nobody-agent-'));
  chownSync(agentDir, NOBODY, NOBODY);
  agent = execa(
    'runuser',
    [
      '-u',
      'nobody',
      '--',
      'env',
      `WANWATCH_TOKEN=${TOKENS.WW_TOKEN_A}`,
      process.execPath,
      WANWATCH,
      'agent',
      '--site',
      'a',
      '--collector',
      collector.url,
      '--data-dir',
      join(agentDir, 'data'),
      '--batch-max-delay',
      '200',
    ],
    { reject: false },
  );
}, 60_000);

afterAll(async () => {
  if (agent?.pid !== undefined) {
    agent.kill('SIGTERM');
    await agent;
  }
  await fleet?.stop();
  await collector?.dispose();
  await hook?.close();
  if (agentDir) rmSync(agentDir, { recursive: true, force: true });
});

const delivered = () => hook.accepted().map((r) => r.body as WebhookPayloadV2);
const read = async (path: string) => (await fetch(`${collector.url}${path}`)).json();

describe.runIf(root)('an agent run without the ICMP privilege', () => {
  it('raises measurement_failing for its site naming permission_denied and what to do', async () => {
    const firing = await eventually(
      () => delivered().find((b) => b.rule === 'measurement_failing' && b.status === 'firing'),
      30_000,
      'measurement_failing at the webhook',
    );
    expect(firing).toMatchObject({
      dedup_key: 'wanwatch/measurement_failing/a/permission_denied',
      severity: 'critical',
      subject: { kind: 'agent', site: 'a' },
      link: null,
    });
    expect(firing.summary).toMatch(
      /^the agent at a cannot measure \(100 % of its latest measurements\): permission_denied: /,
    );
    expect(firing.summary).toContain('ICMP probes need raw sockets: run wanwatch as root');
  });

  it('pages no link_down or loss_high, while b measures a as it should', async () => {
    // Past `for` again after firing: a link alert would have fired by now too.
    await new Promise((r) => setTimeout(r, 4000));
    const rules = new Set(delivered().map((b) => b.rule));
    expect(rules.has('link_down')).toBe(false);
    expect(rules.has('loss_high')).toBe(false);
    expect(delivered().map((b) => b.dedup_key)).toEqual(['wanwatch/measurement_failing/a/permission_denied']);
    expect(collector.store.rttResults('b', 'a', 0).some((r) => r.error === null)).toBe(true);
    expect(collector.store.rttResults('a', 'b', 0).every((r) => r.error?.code === 'permission_denied')).toBe(
      true,
    );
  });

  it('shows the direction as not measured, with the reason, in /api/v1/links, /alerts and /agents', async () => {
    const links = linksReplySchema.parse(await read('/api/v1/links'));
    const dirs = links.links[0]?.directions ?? [];
    expect(dirs.find((d) => d.src === 'a')).toMatchObject({
      state: 'unknown',
      rounds_in_window: 0,
      not_measured: { code: 'permission_denied' },
      alerts: { link_down: 'ok', loss_high: 'ok' },
    });
    expect(dirs.find((d) => d.src === 'b')).toMatchObject({ state: 'ok', not_measured: null });
    const alerts = alertsReplySchema.parse(await read('/api/v1/alerts'));
    expect(alerts.active).toEqual([
      expect.objectContaining({
        dedup_key: 'wanwatch/measurement_failing/a/permission_denied',
        status: 'firing',
        cause: expect.objectContaining({ code: 'permission_denied' }),
      }),
    ]);
    const agents = agentsReplySchema.parse(await read('/api/v1/agents'));
    expect(agents.agents.find((x) => x.site === 'a')?.measurement_failing).toEqual([
      expect.objectContaining({ code: 'permission_denied', status: 'firing' }),
    ]);
    expect(agents.agents.find((x) => x.site === 'b')?.measurement_failing).toEqual([]);
  });

  it('is shown by wanwatch status, which exits 1', async () => {
    const s = await wanwatch(['status', '--collector', collector.url]);
    expect(s.exitCode).toBe(1);
    expect(s.stdout).toMatch(/a → b .* not measured/);
    expect(s.stdout).toMatch(
      /a → b: not measured \(latest round \d+ s ago\): permission_denied: .*run wanwatch as root/,
    );
  });
});
