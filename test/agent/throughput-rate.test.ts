// What a monitoring throughput test sends at (issue 14): by default at most the link's required rate plus
// a margin, so it proves the requirement without filling the link; `rate: full` as fast as the link
// goes. From the topology's setting through the plan (collector/plan/plan.ts) to the agent's options for
// iperf3 (agent/measure.ts) and iperf3's command line (probes/iperf3.ts).
import { expect, it } from 'vitest';
import { Measurer } from '../../agent/measure.ts';
import { buildPlans } from '../../collector/plan/plan.ts';
import { iperf3ClientArgs } from '../../probes/iperf3.ts';
import type { ThroughputOptions } from '../../probes/throughput.ts';
import { parseTopology } from '../../shared/config/load.ts';
import type { AgentPlan } from '../../shared/wire.ts';

const topology = (throughput: string) =>
  parseTopology(`
sites:
  A: {address: 127.0.0.1}
  B: {address: 127.0.0.2}
clusters:
  east: {subclusters: {sc1: {nodes: {n1: A, n2: B}}, sc2: {nodes: {n3: A, n4: B}}}}
probes: {throughput: ${throughput}}
`);

/** The options the agent hands the throughput runner for each direction of its slot. */
async function optionsFor(plan: AgentPlan): Promise<ThroughputOptions[]> {
  const seen: ThroughputOptions[] = [];
  const m = new Measurer({
    rttProbes: {
      icmp: async () => {
        throw new Error('unused');
      },
      tcp: async () => {
        throw new Error('unused');
      },
      udp: async () => {
        throw new Error('unused');
      },
    },
    runThroughput: async (_t, opts) => {
      seen.push(opts);
      throw new Error('not run here');
    },
    now: () => Date.now(),
    signal: new AbortController().signal,
    emit: () => {},
    dropped: () => {},
  });
  const slot = plan.throughput.slots.find((s) => s.client === plan.site);
  if (!slot) throw new Error('no slot of its own');
  const peer = plan.peers.find((p) => p.site === slot.peer);
  if (!peer) throw new Error('no peer');
  await m.throughputSlot(plan, slot, peer);
  return seen;
}

it('tests at the required rate plus 20 % by default: iperf3 -b 12000000 for a 10 Mbps link', async () => {
  const plan = buildPlans(topology('{}')).get('A') as AgentPlan;
  expect(plan.throughput.rate_factor).toBe(1.2);
  expect(plan.throughput.slots[0]?.required_bps).toBe(10e6);
  const opts = await optionsFor(plan);
  expect(opts.map((o) => [o.reverse, o.rate_bps])).toEqual([
    [false, 12e6],
    [true, 12e6],
  ]);
  const args = iperf3ClientArgs({
    host: '127.0.0.2',
    port: 5201,
    timeout_ms: 20_000,
    ...(opts[0] as ThroughputOptions),
  });
  expect(args.join(' ')).toContain('-b 12000000');
  expect(args).not.toContain('-u');
});

it('takes its own margin, and tests as fast as the link goes with rate: full', async () => {
  const margin = buildPlans(topology('{margin_percent: 50}')).get('A') as AgentPlan;
  expect((await optionsFor(margin)).map((o) => o.rate_bps)).toEqual([15e6, 15e6]);
  const full = buildPlans(topology('{rate: full}')).get('A') as AgentPlan;
  expect(full.throughput.rate_factor).toBeNull();
  const opts = await optionsFor(full);
  expect(opts.map((o) => o.rate_bps)).toEqual([undefined, undefined]);
  const args = iperf3ClientArgs({
    host: '127.0.0.2',
    port: 5201,
    timeout_ms: 20_000,
    ...(opts[0] as ThroughputOptions),
  });
  expect(args).not.toContain('-b');
});

it('a UDP test still sends at exactly the required rate', async () => {
  const plan = buildPlans(topology('{protocol: udp}')).get('A') as AgentPlan;
  expect((await optionsFor(plan)).map((o) => o.rate_bps)).toEqual([10e6, 10e6]);
});
