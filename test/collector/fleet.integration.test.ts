// The whole system on loopback: a real collector (embedded SQLite) and two real agents at 127.0.0.1 and
// 127.0.0.2 measuring each other with real ICMP and real iperf3. The round-trip limit is set so low that
// the link breaches: the webhook receiver gets `firing`. The limit is then relaxed in the topology file,
// which the collector reloads without a restart: the receiver gets `resolved`.
import { writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { WebhookPayloadV2 } from '../../collector/notifiers/webhook.ts';
import { type Fleet, startFleet, twoLoopbackAgentSites } from '../../testbed/agents.ts';
import { eventually, startTestCollector, type TestCollector } from '../../testbed/collector.ts';
import { requireRoot } from '../support/privilege.ts';
import { type Receiver, startReceiver } from '../support/receivers.ts';

const root = requireRoot('the agents measure each other with ICMP (raw sockets)');
const TOKENS = { WW_TOKEN_A: 'token-a-for-the-lab', WW_TOKEN_B: 'token-b-for-the-lab' };

let collector: TestCollector;
let fleet: Fleet;
let hook: Receiver;
let topology: (maxRttMs: number) => string;

beforeAll(async () => {
  if (!root) return;
  hook = await startReceiver();
  const sites = await twoLoopbackAgentSites();
  topology = (
    maxRttMs,
  ) => `thresholds: {max_rtt_ms: ${maxRttMs}, max_loss_percent: 50, mbps_per_subcluster: 5}
${sites}probes:
  rtt: {method: icmp, interval: 500ms, count: 3, spacing: 20ms, timeout: 300ms}
  throughput: {interval: 10s, duration: 1s, omit: 0s, protocol: tcp, reverse: true}
  heartbeat: {interval: 1s, timeout: 5s}
alerts: {for: 1s, clear_for: 1s, window: 2s}
notify:
  - {type: webhook, url: "${hook.url}/hook"}
`;
  collector = await startTestCollector(topology(0.001), { env: TOKENS, planRefreshMs: 500 });
  fleet = await startFleet(
    [
      { site: 'a', token: TOKENS.WW_TOKEN_A },
      { site: 'b', token: TOKENS.WW_TOKEN_B },
    ],
    { collector: collector.url, dir: collector.dir },
  );
}, 60_000);

afterAll(async () => {
  await fleet?.stop();
  await collector?.dispose();
  await hook?.close();
});

const events = (status: 'firing' | 'resolved') =>
  hook
    .accepted()
    .map((r) => r.body as WebhookPayloadV2)
    .filter((b) => b.rule === 'rtt_high' && b.status === status);

describe.runIf(root)('collector and two agents on loopback', () => {
  it('measure each other with real ICMP, and the collector stores the rounds', async () => {
    await eventually(
      () =>
        collector.store.rttResults('a', 'b', 0).length > 0 &&
        collector.store.rttResults('b', 'a', 0).length > 0
          ? true
          : undefined,
      20_000,
      'ICMP rounds both ways',
    );
    const r = collector.store.rttResults('a', 'b', 0).find((x) => x.error === null);
    expect(r).toMatchObject({ method: 'icmp', src: 'a', dst: 'b' });
    expect(r?.rtt?.received).toBe(3);
  });

  it('run a real iperf3 test in the collector’s slot and store its goodput', async () => {
    const tp = await eventually(
      () => {
        const all = [
          ...collector.store.throughputResults('a', 'b', 0),
          ...collector.store.throughputResults('b', 'a', 0),
        ];
        return all.find((x) => x.error === null);
      },
      30_000,
      'a throughput result',
    );
    expect(tp.throughput?.goodput_bps).toBeGreaterThan(5_000_000);
  });

  it('fires when the round trip breaches the (forced) limit, and resolves when the file relaxes it', async () => {
    const [firing] = await eventually(
      () => (events('firing').length > 0 ? events('firing') : undefined),
      30_000,
      'firing',
    );
    expect(firing).toMatchObject({ status: 'firing', threshold: { value: 0.001, unit: 'ms' } });
    expect(firing?.subject).toMatchObject({ kind: 'link', sites: ['a', 'b'] });
    writeFileSync(collector.configPath, topology(80));
    const [resolved] = await eventually(
      () => (events('resolved').length > 0 ? events('resolved') : undefined),
      30_000,
      'resolved',
    );
    expect(resolved?.dedup_key).toBe(firing?.dedup_key);
    // Both agents measured the breach, each in its own direction: one alert for the link.
    expect(events('firing')).toHaveLength(1);
  });
});
