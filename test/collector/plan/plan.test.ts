import { describe, expect, it } from 'vitest';
import { buildPlans, throughputTests } from '../../../collector/plan/plan.ts';
import { roundLength, scheduleThroughput, type ThroughputTest } from '../../../collector/plan/schedule.ts';
import { parseTopology } from '../../../shared/config/load.ts';
import { deriveLinks } from '../../../shared/topology/requirements.ts';
import type { ThroughputSlot } from '../../../shared/wire.ts';

const THREE_SITES = `
sites:
  a: {address: 10.0.0.1}
  b: {address: 10.0.0.2, reflector_port: 5000, iperf3_port: 5300}
  c: {address: 10.0.0.3}
  d: {address: 10.0.0.4}
clusters:
  one:
    subclusters:
      sc1: {nodes: {n1: a, n2: b}}
      sc2: {nodes: {n3: c, n4: c}}
probes:
  rtt: {method: udp, interval: 5s, count: 10, spacing: 100ms, timeout: 1s}
  throughput: {interval: 10m, duration: 10s, omit: 1s, reverse: true}
  heartbeat: {interval: 30s, timeout: 15s}
`;

/** Every pair of slots that share a site and overlap in time within the repeating cycle. */
function clashes(slots: readonly ThroughputSlot[], cycle: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < slots.length; i++) {
    for (let j = i + 1; j < slots.length; j++) {
      const x = slots[i] as ThroughputSlot;
      const y = slots[j] as ThroughputSlot;
      const shared = [x.client, x.peer].some((s) => s === y.client || s === y.peer);
      if (!shared) continue;
      // Compare on the circle of length `cycle`: shift y by -cycle, 0, +cycle.
      for (const shift of [-cycle, 0, cycle]) {
        const ys = y.offset_ms + shift;
        if (x.offset_ms < ys + y.length_ms && ys < x.offset_ms + x.length_ms)
          out.push(`${x.client}-${x.peer} / ${y.client}-${y.peer}`);
      }
    }
  }
  return out;
}

function fullMesh(n: number): ThroughputTest[] {
  const tests: ThroughputTest[] = [];
  for (let i = 0; i < n; i++)
    for (let j = i + 1; j < n; j++) tests.push({ client: `s${i}`, peer: `s${j}`, required_bps: 5e6 });
  return tests;
}

describe('throughput schedule', () => {
  const settings = {
    interval_ms: 60_000,
    duration_ms: 10_000,
    omit_ms: 1000,
    reverse: true,
    margin_ms: 5000,
  };

  it('reserves the test in both directions plus the margin for each slot', () => {
    expect(roundLength(settings)).toBe((10_000 + 1000) * 2 + 5000);
    expect(roundLength({ ...settings, reverse: false })).toBe(10_000 + 1000 + 5000);
  });

  it('never lets two slots that share a site overlap, and schedules every test, on full meshes of 2 to 12 sites', () => {
    for (let n = 2; n <= 12; n++) {
      const tests = fullMesh(n);
      const s = scheduleThroughput(tests, settings);
      expect(s.slots).toHaveLength(tests.length);
      expect(s.slots.map((x) => `${x.client}-${x.peer}`).sort()).toEqual(
        tests.map((t) => `${t.client}-${t.peer}`).sort(),
      );
      expect(clashes(s.slots, s.cycle_ms)).toEqual([]);
      // Greedy colouring needs at most 2Δ−1 rounds (Δ = n−1 tests per site).
      expect(s.rounds).toBeLessThanOrEqual(2 * (n - 1) - 1 || 1);
      expect(s.cycle_ms).toBeGreaterThanOrEqual(s.rounds * s.round_ms);
    }
  });

  it('runs tests on disjoint site pairs in the same round', () => {
    const s = scheduleThroughput(
      [
        { client: 'a', peer: 'b', required_bps: 1 },
        { client: 'c', peer: 'd', required_bps: 1 },
        { client: 'a', peer: 'c', required_bps: 1 },
      ],
      settings,
    );
    expect(s.slots.map((x) => x.offset_ms)).toEqual([0, 0, s.round_ms]);
    expect(s.rounds).toBe(2);
  });

  it('stretches the cycle when the rounds do not fit into the interval', () => {
    const s = scheduleThroughput(fullMesh(8), { ...settings, interval_ms: 1000 });
    expect(s.cycle_ms).toBe(s.rounds * s.round_ms);
  });
});

describe('agent plans', () => {
  const topology = parseTopology(THREE_SITES);
  const plans = buildPlans(topology);

  it('lists as peers every site the agent shares a link with, with their responder ports', () => {
    expect(plans.get('a')?.peers).toEqual([
      { site: 'b', address: '10.0.0.2', reflector_port: 5000, iperf3_port: 5300 },
      { site: 'c', address: '10.0.0.3', reflector_port: 4789, iperf3_port: 5201 },
    ]);
    expect(plans.get('c')?.peers.map((p) => p.site)).toEqual(['a', 'b']);
    expect(plans.get('d')?.peers).toEqual([]);
    expect(plans.get('b')?.responder).toEqual({
      address: '10.0.0.2',
      reflector_port: 5000,
      iperf3_port: 5300,
    });
  });

  it('carries the probes section in milliseconds', () => {
    const p = plans.get('a')!;
    expect(p.rtt).toEqual({
      method: 'udp',
      interval_ms: 5000,
      count: 10,
      spacing_ms: 100,
      timeout_ms: 1000,
      tcp_port: null,
    });
    expect(p.heartbeat).toEqual({ interval_ms: 30_000, timeout_ms: 15_000 });
    expect(p.throughput).toMatchObject({
      enabled: true,
      duration_ms: 10_000,
      omit_ms: 1000,
      reverse: true,
      cycle_ms: 600_000,
    });
  });

  it('gives each agent only its own slots, from one schedule every agent agrees on', () => {
    const links = deriveLinks(topology);
    expect(throughputTests(links, true)).toHaveLength(links.length);
    const a = plans.get('a')!.throughput.slots;
    const c = plans.get('c')!.throughput.slots;
    expect(a.every((s) => s.client === 'a' || s.peer === 'a')).toBe(true);
    const ac = a.find((s) => s.peer === 'c');
    expect(c).toContainEqual(ac);
    expect(ac?.required_bps).toBe(10e6);
    expect(plans.get('d')!.throughput.slots).toEqual([]);
  });

  it('changes plan_version when the plan changes, and only then', () => {
    const again = buildPlans(parseTopology(THREE_SITES));
    expect(again.get('a')?.plan_version).toBe(plans.get('a')?.plan_version);
    const changed = buildPlans(parseTopology(THREE_SITES.replace('count: 10', 'count: 20')));
    expect(changed.get('a')?.plan_version).not.toBe(plans.get('a')?.plan_version);
    const unrelated = buildPlans(
      parseTopology(THREE_SITES.replace('d: {address: 10.0.0.4}', 'd: {address: 10.0.0.5}')),
    );
    expect(unrelated.get('a')?.plan_version).toBe(plans.get('a')?.plan_version);
  });

  it('has no slots when throughput tests are disabled', () => {
    const off = buildPlans(
      parseTopology(THREE_SITES.replace('reverse: true}', 'reverse: true, enabled: false}')),
    );
    expect(off.get('a')?.throughput).toMatchObject({ enabled: false, slots: [] });
  });
});
