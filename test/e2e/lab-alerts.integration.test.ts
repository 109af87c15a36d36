// The whole system on an emulated WAN: three sites A, B, C (lab/examples/three-sites.yaml), one real
// `wanwatch agent` process in each site's namespace, the collector in the root namespace (which the
// agents reach over the lab's management links) and a webhook receiver. Of the three links:
//   A–B  10 ms one way, 20 Mbps   healthy               (needs 5 Mbps: cluster north, sc4 at A and B)
//   A–C  45 ms one way (90 ms RTT) too slow              (needs 5 Mbps: cluster west, sc3 at A and C)
//   B–C  8 Mbps                    too thin for two      (needs 10 Mbps: cluster east, sc1 and sc2 at B and C)
// Exactly two alerts must fire — rtt_high on A–C and goodput_low on B–C — and nothing else (no loss,
// link down or agent down, nothing on A–B). Then A–C is repaired while everything runs and its alert
// resolves, while B–C's stays firing.
//
// RTT method icmp: the peer's kernel answers, so a round never depends on whether the peer's agent
// process has started yet or is busy (the 2-core machine runs three agents, their iperf3 tests and the
// collector), and it is the default that deployments run.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ResultPromise } from 'execa';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { WebhookPayloadV2 } from '../../collector/notifiers/webhook.ts';
import type { LinksReply } from '../../collector/read.ts';
import { startSiteAgent } from '../../lab/compare.ts';
import { type Lab, startLab } from '../../lab/lab.ts';
import { loadLabFile } from '../../lab/spec.ts';
import { eventually, startTestCollector, type TestCollector } from '../../testbed/collector.ts';
import { describeLab } from '../support/lab.ts';
import { type Receiver, startReceiver } from '../support/receivers.ts';

const SITES = ['A', 'B', 'C'] as const;
const token = (site: string) => `e2e-token-${site}`;
/** Reads need a viewer's credential. */
const VIEWER = 'e2e-viewer-credential';
const asViewer = { headers: { authorization: `Bearer ${VIEWER}` } };

function topology(lab: Lab, hookUrl: string): string {
  const sites = SITES.map(
    (s) => `  ${s}: {address: ${lab.siteAddress(s)}, token_env: WW_E2E_TOKEN_${s}}`,
  ).join('\n');
  return `sites:
${sites}
clusters:
  north: {subclusters: {sc4: {nodes: {n4a: A, n4b: B}}}}
  west: {subclusters: {sc3: {nodes: {n3a: A, n3b: C}}}}
  east:
    subclusters:
      sc1: {nodes: {n1a: B, n1b: C}}
      sc2: {nodes: {n2a: B, n2b: C}}
probes:
  rtt: {method: icmp, interval: 2s, count: 5, spacing: 100ms, timeout: 1s}
  throughput: {interval: 30s, duration: 2s, omit: 1s}
  heartbeat: {interval: 5s, timeout: 5s}
alerts: {for: 4s, clear_for: 4s, window: 20s}
notify:
  - {type: webhook, url: "${hookUrl}/hook"}
collector:
  credentials: [{name: e2e, role: viewer, token_env: WW_E2E_VIEWER}]
`;
}

describeLab('end to end: three agents on an emulated WAN find the slow link and the thin link', () => {
  let lab: Lab;
  let hook: Receiver;
  let collector: TestCollector;
  let readUrl: string;
  let dir: string;
  const agents: { site: string; proc: ResultPromise; output: string[] }[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'wanwatch-e2e-'));
    lab = await startLab(loadLabFile('lab/examples/three-sites.yaml'), {
      name: `e2e${process.pid.toString(36)}`,
    });
    hook = await startReceiver();
    const env = {
      ...Object.fromEntries(SITES.map((s) => [`WW_E2E_TOKEN_${s}`, token(s)])),
      WW_E2E_VIEWER: VIEWER,
    };
    collector = await startTestCollector(topology(lab, hook.url), {
      listen: '0.0.0.0:0',
      evaluateIntervalMs: 1000,
      env,
    });
    const port = new URL(collector.url).port;
    readUrl = `http://127.0.0.1:${port}`;
    for (const site of SITES) {
      const output: string[] = [];
      const proc = startSiteAgent(
        lab,
        site,
        { collectorPort: port, token: token(site), dataDir: join(dir, `agent-${site}`) },
        { reject: false, all: true },
      );
      proc.all?.on('data', (chunk: Buffer) => output.push(chunk.toString()));
      agents.push({ site, proc, output });
    }
  }, 60_000);

  afterAll(async () => {
    for (const a of agents) a.proc.kill('SIGTERM');
    await Promise.all(agents.map((a) => a.proc));
    await collector?.dispose();
    await hook?.close();
    await lab?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  }, 30_000);

  const events = () => hook.accepted().map((r) => r.body as WebhookPayloadV2);
  const keys = (status: 'firing' | 'resolved') =>
    [
      ...new Set(
        events()
          .filter((e) => e.status === status)
          .map((e) => e.dedup_key),
      ),
    ].sort();
  const links = async () => (await (await fetch(`${readUrl}/api/v1/links`, asViewer)).json()) as LinksReply;
  const agentLogs = () =>
    agents.map((a) => `--- agent ${a.site}\n${a.output.join('').slice(-3000)}`).join('\n');

  it('raises exactly rtt_high on A–C and goodput_low on B–C, then resolves A–C once it is repaired', async () => {
    try {
      await eventually(() => (keys('firing').length >= 2 ? true : undefined), 75_000, 'two alerts to fire');
      expect(keys('firing')).toEqual(['wanwatch/goodput_low/B--C', 'wanwatch/rtt_high/A--C']);
      const rtt = events().find((e) => e.dedup_key === 'wanwatch/rtt_high/A--C');
      // Both agents measure the same 90 ms round trip: one alert naming both directions.
      expect(rtt).toMatchObject({
        status: 'firing',
        subject: { kind: 'link', sites: ['A', 'C'] },
        threshold: { value: 80, unit: 'ms' },
        link: { required_mbps: 5 },
      });
      expect(rtt?.observed.value).toBeGreaterThan(88);
      expect(rtt?.observed.value).toBeLessThan(100);
      expect(rtt?.summary).toMatch(
        /^p95 RTT [\d.]+ ms > 80 ms on A ↔ C \(A → C [\d.]+ ms, C → A [\d.]+ ms\)$/,
      );
      const thin = events().find((e) => e.dedup_key === 'wanwatch/goodput_low/B--C');
      expect(thin).toMatchObject({
        status: 'firing',
        link: { required_mbps: 10, subclusters: ['sc1', 'sc2'] },
      });
      expect(thin?.observed.value).toBeGreaterThan(6e6);
      expect(thin?.observed.value).toBeLessThan(8e6);

      // Repair A–C while everything runs: 10 ms one way, a 20 ms round trip.
      await lab.set({ between: ['A', 'C'], delay_ms: 10 });
      const resolved = await eventually(
        () => events().find((e) => e.dedup_key === 'wanwatch/rtt_high/A--C' && e.status === 'resolved'),
        60_000,
        'rtt_high on A–C to resolve',
      );
      expect(resolved.observed.value).toBeLessThan(30);

      // Every link has been measured both ways, RTT and goodput, so "nothing on A–B" means something.
      const reply = await eventually(
        async () => {
          const r = await links();
          const all = r.links.flatMap((l) => l.directions);
          return all.length === 6 && all.every((d) => d.rtt_ms !== null && d.goodput_bps !== null)
            ? r
            : undefined;
        },
        45_000,
        'RTT and goodput in every direction',
      );
      const state = Object.fromEntries(reply.links.map((l) => [l.sites.join('–'), l.alerts]));
      expect(state).toEqual({
        'A–B': {
          rtt_high: 'ok',
          loss_high: 'ok',
          goodput_low: 'ok',
          link_down: 'ok',
          throughput_failing: 'ok',
        },
        'A–C': {
          rtt_high: 'resolved',
          loss_high: 'ok',
          goodput_low: 'ok',
          link_down: 'ok',
          throughput_failing: 'ok',
        },
        'B–C': {
          rtt_high: 'ok',
          loss_high: 'ok',
          goodput_low: 'firing',
          link_down: 'ok',
          throughput_failing: 'ok',
        },
      });
      const ab = reply.links.find((l) => l.sites.join() === 'A,B');
      expect(ab?.directions.map((d) => d.state)).toEqual(['ok', 'ok']);
      // A–B carries 20 Mbps; monitoring tests send at most its 5 Mbps requirement + 20 % (rate: required).
      for (const d of ab?.directions ?? []) {
        expect(d.goodput_bps).toBeGreaterThan(5.5e6);
        expect(d.goodput_bps).toBeLessThan(7e6);
      }

      // Over the whole run: those two firing, one resolved, nothing else (no agent_down either).
      expect(keys('firing')).toEqual(['wanwatch/goodput_low/B--C', 'wanwatch/rtt_high/A--C']);
      expect(keys('resolved')).toEqual(['wanwatch/rtt_high/A--C']);
      expect(events()).toHaveLength(3);
      const active = (await (await fetch(`${readUrl}/api/v1/alerts`, asViewer)).json()) as {
        active: { dedup_key: string; status: string }[];
      };
      expect(active.active.map((a) => `${a.status} ${a.dedup_key}`)).toEqual([
        'firing wanwatch/goodput_low/B--C',
      ]);
    } catch (err) {
      process.stderr.write(
        `${agentLogs()}\n--- webhook events\n${events()
          .map((e) => `${e.status} ${e.summary}`)
          .join('\n')}\n--- links\n${JSON.stringify(await links().catch(() => null))}\n`,
      );
      throw err;
    }
  }, 180_000);
});
