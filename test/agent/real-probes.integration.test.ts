// Two agents on one host (127.0.0.1 and 127.0.0.2) with the real probes and responders, no root needed:
// UDP echo against each other's reflector and a real iperf3 test in the collector's throughput slot,
// pushed to the real collector.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningCollector, startCollector } from '../../collector/collector.ts';
import { type Fleet, quietLog, startFleet, twoLoopbackAgentSites } from '../../testbed/agents.ts';
import { eventually, tempDir } from '../../testbed/collector.ts';

const TOKENS = { WW_TOKEN_A: 'token-a-real-probes', WW_TOKEN_B: 'token-b-real-probes' };
let collector: RunningCollector;
let fleet: Fleet;

beforeAll(async () => {
  const dir = tempDir('agents-real-probes');
  const sites = await twoLoopbackAgentSites();
  const configPath = join(dir, 'topology.yaml');
  writeFileSync(
    configPath,
    `${sites}probes:
  rtt: {method: udp, interval: 500ms, count: 5, spacing: 10ms, timeout: 300ms}
  throughput: {interval: 1s, duration: 1s, omit: 0s, protocol: tcp, reverse: true}
  heartbeat: {interval: 1s, timeout: 5s}
`,
  );
  collector = await startCollector({
    configPath,
    listen: '127.0.0.1:0',
    dataDir: join(dir, 'collector'),
    env: TOKENS,
    evaluateIntervalMs: 60_000,
    watch: false,
    log: quietLog,
  });
  fleet = await startFleet(
    [
      { site: 'a', token: TOKENS.WW_TOKEN_A },
      { site: 'b', token: TOKENS.WW_TOKEN_B },
    ],
    { collector: collector.url, dir },
  );
}, 60_000);

afterAll(async () => {
  await fleet?.stop();
  await collector?.close();
});

describe('two agents on loopback with the real probes and the real collector', () => {
  it('measure each other with UDP echo through each other’s reflector', async () => {
    await eventually(
      () =>
        collector.store.rttResults('a', 'b', 0).some((r) => r.error === null) &&
        collector.store.rttResults('b', 'a', 0).some((r) => r.error === null)
          ? true
          : undefined,
      20_000,
      'rounds both ways',
    );
    for (const [src, dst] of [
      ['a', 'b'],
      ['b', 'a'],
    ] as const) {
      const r = collector.store.rttResults(src, dst, 0).find((x) => x.error === null);
      expect(r).toMatchObject({ method: 'udp', src, dst });
      expect(r?.rtt?.received).toBe(5);
      expect(r?.rtt?.jitter_method).toBe('rfc3550');
      expect(r?.rtt?.rtt_p95_ms).toBeLessThan(50);
    }
  });

  it('run the throughput slot with real iperf3 in both directions, with latency under load', async () => {
    // One link, reverse: one slot, a cycle of 2 × 1 s plus the collector's 5 s margin.
    const tp = await eventually(
      () => {
        const rs = collector.store.throughputResults('a', 'b', 0);
        return rs.length >= 2 ? rs : undefined;
      },
      25_000,
      'two throughput results',
    );
    expect(tp.map((r) => r.error)).toEqual([null, null]);
    expect(tp.map((r) => r.throughput?.direction).sort()).toEqual(['forward', 'reverse']);
    for (const r of tp) {
      expect(r.src).toBe('a');
      expect(r.throughput?.goodput_bps).toBeGreaterThan(5_000_000);
      expect(r.loaded_rtt?.received).toBeGreaterThan(0);
    }
  });
});
