// A site whose iperf3 is gone: real agents, real iperf3, the real collector and a webhook receiver.
// Site a's agent runs in-process and runs every test (-R: both directions from a); site b's agent is the
// real `wanwatch agent` command. Once both directions have a goodput, b's agent is restarted with no
// iperf3 on its PATH, so nothing serves a's tests: each one fails with `refused`. The collector must
// raise throughput_failing, show the goodput as stale with the failure's reason (read API and
// `wanwatch status`), and resolve once b serves tests again.
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa, type ResultPromise } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { WebhookPayloadV2 } from '../../collector/notifiers/webhook.ts';
import { linksReplySchema } from '../../shared/wire.ts';
import { type Fleet, startFleet, twoLoopbackAgentSites } from '../../testbed/agents.ts';
import { eventually, startTestCollector, type TestCollector } from '../../testbed/collector.ts';
import { WANWATCH, wanwatch } from '../support/cli.ts';
import { type Receiver, startReceiver } from '../support/receivers.ts';

const TOKENS = { WW_TOKEN_A: 'token-a-runs-the-tests', WW_TOKEN_B: 'token-b-serves-them' };

let collector: TestCollector;
let fleet: Fleet;
let hook: Receiver;
let b: ResultPromise | undefined;
let noTools: string;

/** Starts site b's agent as a user would; `path` is its PATH (without iperf3: nothing serves a's tests). */
function startB(path: string | undefined): ResultPromise {
  return execa(
    process.execPath,
    [
      WANWATCH,
      'agent',
      '--site',
      'b',
      '--collector',
      collector.url,
      '--data-dir',
      join(collector.dir, 'agent-b'),
    ],
    {
      reject: false,
      extendEnv: true,
      env: { WANWATCH_TOKEN: TOKENS.WW_TOKEN_B, ...(path === undefined ? {} : { PATH: path }) },
    },
  );
}
async function stopB(): Promise<void> {
  if (b?.pid === undefined) return;
  b.kill('SIGTERM');
  await b;
  b = undefined;
}

beforeAll(async () => {
  hook = await startReceiver();
  noTools = mkdtempSync(join(tmpdir(), 'wanwatch-no-iperf3-'));
  mkdirSync(join(noTools, 'bin'));
  const sites = await twoLoopbackAgentSites();
  // Tests every 7 s (1 s each way plus the schedule's 5 s margin): goodput is stale after 21 s.
  collector = await startTestCollector(
    `thresholds: {max_rtt_ms: 80, max_loss_percent: 50, mbps_per_subcluster: 5}
${sites}probes:
  rtt: {method: udp, interval: 1s, count: 3, spacing: 20ms, timeout: 300ms}
  throughput: {interval: 5s, duration: 1s, omit: 0s, protocol: tcp, reverse: true}
  heartbeat: {interval: 1s, timeout: 10s}
alerts: {for: 1s, clear_for: 1s, window: 30s}
notify:
  - {type: webhook, url: "${hook.url}/hook"}
`,
    { env: TOKENS, planRefreshMs: 500 },
  );
  b = startB(undefined);
  fleet = await startFleet([{ site: 'a', token: TOKENS.WW_TOKEN_A }], {
    collector: collector.url,
    dir: collector.dir,
  });
}, 60_000);

afterAll(async () => {
  await stopB();
  await fleet?.stop();
  await collector?.dispose();
  await hook?.close();
  if (noTools) rmSync(noTools, { recursive: true, force: true });
});

const delivered = (status: 'firing' | 'resolved') =>
  hook
    .accepted()
    .map((r) => r.body as WebhookPayloadV2)
    .filter((x) => x.rule === 'throughput_failing' && x.status === status);
const links = async () => linksReplySchema.parse(await (await fetch(`${collector.url}/api/v1/links`)).json());
const direction = async (src: string) => (await links()).links[0]?.directions.find((d) => d.src === src);

describe('a site whose iperf3 is gone', () => {
  it('has a fresh goodput both ways while its iperf3 serves', async () => {
    for (const src of ['a', 'b'])
      await eventually(
        async () => ((await direction(src))?.goodput_bps ?? 0) > 0 || undefined,
        40_000,
        `goodput ${src} → ${src === 'a' ? 'b' : 'a'}`,
      );
    expect(await direction('a')).toMatchObject({ goodput_stale: false, throughput_failure: null });
  }, 60_000);

  it('raises throughput_failing once its tests keep failing with refused', async () => {
    await stopB();
    b = startB(join(noTools, 'bin'));
    const [firing] = await eventually(
      () => (delivered('firing').length > 0 ? delivered('firing') : undefined),
      60_000,
      'throughput_failing at the webhook',
    );
    expect(firing).toMatchObject({
      dedup_key: 'wanwatch/throughput_failing/a--b',
      severity: 'warning',
      subject: { kind: 'link', sites: ['a', 'b'] },
    });
    expect(firing?.summary).toMatch(
      /^throughput tests keep failing on a ↔ b \(.*100 % failed.*\): refused: /,
    );
    expect(hook.accepted().map((r) => (r.body as WebhookPayloadV2).rule)).not.toContain('goodput_low');
  }, 70_000);

  it('shows the goodput as stale with the failure’s reason, in the read API and wanwatch status', async () => {
    const stale = await eventually(
      async () => {
        const d = await direction('a');
        return d?.goodput_stale ? d : undefined;
      },
      40_000,
      'stale goodput a → b',
    );
    expect(stale.goodput_bps).toBeGreaterThan(0);
    expect(stale.throughput_failure).toMatchObject({ code: 'refused' });
    expect(stale.throughput_failure?.consecutive).toBeGreaterThanOrEqual(3);
    expect(stale.alerts.throughput_failing).toBe('firing');
    const s = await wanwatch(['status', '--collector', collector.url]);
    expect(s.exitCode).toBe(1);
    expect(s.stdout).toMatch(/a → b .*Mbps \(stale\)/);
    expect(s.stdout).toMatch(/a → b: goodput is stale: the latest successful throughput test ran \d+ s ago/);
    expect(s.stdout).toMatch(
      /a → b: the latest throughput test failed \(\d+ in a row, \d+ s ago\): refused: /,
    );
  }, 50_000);

  it('resolves once the site serves tests again', async () => {
    await stopB();
    b = startB(undefined);
    await eventually(
      () => (delivered('resolved').length > 0 ? true : undefined),
      60_000,
      'throughput_failing resolved',
    );
    expect(await direction('a')).toMatchObject({ goodput_stale: false, throughput_failure: null });
  }, 70_000);
});
