// The default alert settings on an emulated WAN (docs/alerts.md, "Defaults, and why"): a link flapping
// between slow and healthy every 20 s pages once, and single slow samples never page. Three lab sites,
// one real `wanwatch agent` in each, the collector with nothing but the sites, the clusters and a webhook
// in its file (every probe and alert setting a default, evaluation at its default interval):
//   A–B  flaps 45 ms / 10 ms one way (90 ms / 20 ms round trip) every 20 s: slow, healthy, slow
//   A–C  10 ms one way, with a 150 ms spike of 140 ms timed to catch one probe of a round, every 20 s
// Both run at once to keep the test short; the full 10 minutes of flapping, and the seconds to page and
// to resolve, are bench/alert-latency.ts's.
//
// Rounds are anchored at the epoch (agent/schedule/periodic.ts): A's round towards B starts at every
// multiple of 5 s, towards C 2.5 s later; B's and C's (one peer each) at every multiple of 5 s; probes go
// 200 ms apart. A spike from +520 to +680 ms after a round's start delays its fourth probe (sent at +600 ms)
// and nothing else.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ResultPromise } from 'execa';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { DEFAULT_EVALUATE_INTERVAL_MS } from '../../collector/collector.ts';
import type { WebhookPayloadV2 } from '../../collector/notifiers/webhook.ts';
import { startSiteAgent } from '../../lab/compare.ts';
import { type Lab, startLab } from '../../lab/lab.ts';
import type { RttResult } from '../../shared/result.ts';
import { eventually, startTestCollector, type TestCollector } from '../../testbed/collector.ts';
import { describeLab } from '../support/lab.ts';
import { type Receiver, startReceiver } from '../support/receivers.ts';

const SITES = ['A', 'B', 'C'] as const;
const HEALTHY_MS = 10;
const SLOW_MS = 45;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** Sleeps until `offset` ms past the next multiple of `period` ms of the wall clock. */
const until = (period: number, offset: number) => {
  const now = Date.now();
  let at = now - (now % period) + offset;
  if (at <= now) at += period;
  return sleep(at - now);
};

function topology(lab: Lab, hookUrl: string): string {
  const sites = SITES.map((s) => `  ${s}: {address: ${lab.siteAddress(s)}, token_env: WW_DEF_TOKEN_${s}}`);
  return `sites:
${sites.join('\n')}
clusters:
  north: {subclusters: {sc1: {nodes: {n1: A, n2: B}}}}
  west: {subclusters: {sc2: {nodes: {n3: A, n4: C}}}}
notify:
  - {type: webhook, url: "${hookUrl}/hook"}
`;
}

describeLab('the default alert settings on an emulated WAN', () => {
  let lab: Lab;
  let hook: Receiver;
  let collector: TestCollector;
  let dir: string;
  const agents: ResultPromise[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'wanwatch-e2e-defaults-'));
    lab = await startLab(
      {
        sites: [...SITES],
        links: [
          { between: ['A', 'B'], delay_ms: HEALTHY_MS },
          { between: ['A', 'C'], delay_ms: HEALTHY_MS },
        ],
      },
      { name: `def${process.pid.toString(36)}` },
    );
    hook = await startReceiver();
    collector = await startTestCollector(topology(lab, hook.url), {
      listen: '0.0.0.0:0',
      evaluateIntervalMs: DEFAULT_EVALUATE_INTERVAL_MS,
      env: Object.fromEntries(SITES.map((s) => [`WW_DEF_TOKEN_${s}`, `defaults-token-${s}`])),
    });
    const port = new URL(collector.url).port;
    for (const site of SITES)
      agents.push(
        startSiteAgent(
          lab,
          site,
          { collectorPort: port, token: `defaults-token-${site}`, dataDir: join(dir, `agent-${site}`) },
          { reject: false, stdio: 'ignore' },
        ),
      );
  }, 60_000);

  afterAll(async () => {
    for (const a of agents) a.kill('SIGTERM');
    await Promise.all(agents);
    await collector?.dispose();
    await hook?.close();
    await lab?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  }, 30_000);

  const events = (key: string) =>
    hook
      .accepted()
      .map((r) => r.body as WebhookPayloadV2)
      .filter((e) => e.dedup_key === key);

  it('pages a link flapping every 20 s once, and never pages single slow samples', async () => {
    const { alerts } = collector.topology();
    // A window of healthy rounds on both links first.
    await eventually(
      () => (collector.store.rttResults('C', 'A', Date.now() - alerts.window).length >= 3 ? true : undefined),
      45_000,
      'a window of rounds on A–C',
    );

    // One change at a time through the lab's control socket.
    let changes = Promise.resolve();
    const set = (between: ['A', 'B'] | ['A', 'C'], delay_ms: number) => {
      changes = changes.then(() => lab.set({ between, delay_ms }));
      return changes;
    };
    const flapping = (async () => {
      for (let stretch = 0; stretch < 3; stretch++) {
        await set(['A', 'B'], stretch % 2 === 0 ? SLOW_MS : HEALTHY_MS);
        await sleep(20_000);
      }
    })();
    const spikes = (async () => {
      for (let i = 0; i < 3; i++) {
        // C → A's round (A answers through the same relay), then A → C's, 2.5 s later.
        for (const offset of [520, 3020]) {
          await until(20_000, offset);
          await set(['A', 'C'], 150);
          await sleep(160);
          await set(['A', 'C'], HEALTHY_MS);
        }
      }
    })();
    await Promise.all([flapping, spikes]);
    await set(['A', 'B'], HEALTHY_MS);
    // Longer than `for` after the last spike: a breach it caused would have fired by now.
    await sleep(alerts.for + 5000);

    const slowSamples = (r: RttResult) =>
      (r.rtt?.samples_ms ?? []).filter((s) => s !== null && s > 80).length;
    const ac = [...collector.store.rttResults('A', 'C', 0), ...collector.store.rttResults('C', 'A', 0)];
    const spiked = ac.filter((r) => slowSamples(r) > 0);
    const detail = `rounds on A–C with slow samples: ${spiked.map((r) => `${r.src}>${r.dst} ${JSON.stringify(r.rtt?.samples_ms)}`).join('; ')}`;
    // The spikes did land, one slow sample in a round at most.
    expect(spiked.length, detail).toBeGreaterThanOrEqual(2);
    expect(
      spiked.every((r) => slowSamples(r) === 1),
      detail,
    ).toBe(true);
    expect(events('wanwatch/rtt_high/A--C'), detail).toEqual([]);

    // The flapping link: one page, still firing (clear_for outlasts every healthy stretch).
    const flapped = events('wanwatch/rtt_high/A--B');
    expect(flapped.map((e) => e.status)).toEqual(['firing']);
    // And nothing else paged: no loss, no link down, no agent down.
    expect(
      hook
        .accepted()
        .map((r) => (r.body as WebhookPayloadV2).dedup_key)
        .filter((k) => k !== 'wanwatch/rtt_high/A--B'),
    ).toEqual([]);
  }, 180_000);
});
