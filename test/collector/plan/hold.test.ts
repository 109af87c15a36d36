// Holding the monitoring throughput tests of the sites a mesh qualification runs at (plan/hold.ts), and
// the qualification's tasks waiting for the hold (qualify/jobs.ts).
import { describe, expect, it } from 'vitest';
import { ackDeadlineMs, ServedPlans, withHold } from '../../../collector/plan/hold.ts';
import { buildPlans } from '../../../collector/plan/plan.ts';
import { Qualifications } from '../../../collector/qualify/jobs.ts';
import { parseTopology } from '../../../shared/config/load.ts';
import { deriveLinks } from '../../../shared/topology/requirements.ts';
import type { AgentPlan, QualificationRequest } from '../../../shared/wire.ts';

// a–b, a–c, b–c: three tests with -R, one round each (10 s + 1 s omit, twice, + 5 s = 27 s), cycle 10 min.
const topology = parseTopology(`
sites:
  a: {address: 10.0.0.1}
  b: {address: 10.0.0.2}
  c: {address: 10.0.0.3}
clusters:
  one: {subclusters: {sc1: {nodes: {n1: a, n2: b}}, sc2: {nodes: {n3: c, n4: c}}}}
probes:
  throughput: {interval: 10m, duration: 10s, omit: 1s, reverse: true}
`);
const plans = buildPlans(topology, { plan_refresh_ms: 30_000 });
const plan = (site: string) => plans.get(site) as AgentPlan;
const slots = (p: AgentPlan) => p.throughput.slots.map((s) => `${s.client}>${s.peer}@${s.offset_ms}`);
const CYCLE = plan('a').throughput.cycle_ms;

const request: QualificationRequest = {
  links: [['a', 'b']],
  duration_ms: 10_000,
  test_duration_ms: 1000,
  rtt: { method: 'udp', count: 10, spacing_ms: 100, timeout_ms: 1000 },
  skip_throughput: false,
};

describe('the plans served while sites are held', () => {
  it('leave out every slot that involves a held site, with a new plan_version', () => {
    expect(slots(plan('c'))).toEqual(['a>c@27000', 'b>c@54000']);
    const held = withHold(plan('c'), new Set(['a', 'b']));
    expect(slots(held)).toEqual([]);
    expect(held.plan_version).not.toBe(plan('c').plan_version);
    expect(held.peers).toEqual(plan('c').peers);
    expect(withHold(plan('c'), new Set(['a']))).toMatchObject({ throughput: { slots: [{ client: 'b' }] } });
    // Nothing held there: the same plan, the same version.
    expect(withHold(plan('c'), new Set(['x']))).toBe(plan('c'));
  });

  it('are clear once every agent starting such a test has a plan without it, and its last test has ended', () => {
    const served = new ServedPlans();
    const held = new Set(['a', 'b']);
    const since = 5 * CYCLE + 20_000; // 20 s into a cycle: the a>b test (0–27 s) is running
    for (const site of ['a', 'b', 'c']) served.record(site, plan(site), since - 1000);
    // The agents still have the plans with the tests.
    expect(served.clearAt(held, plans, since, since)).toBeNull();
    served.record('a', withHold(plan('a'), held), since + 500);
    expect(served.clearAt(held, plans, since, since + 500)).toBeNull(); // b starts b>c and has not fetched
    served.record('b', withHold(plan('b'), held), since + 900);
    // The a>b test that started at the cycle's start (before the held plan, within the margin) ends at 27 s.
    expect(served.clearAt(held, plans, since, since + 1000)).toBe(5 * CYCLE + 27_000);
    // The same plan served again changes nothing.
    served.record('a', withHold(plan('a'), held), since + 5000);
    expect(served.clearAt(held, plans, since, since + 5000)).toBe(5 * CYCLE + 27_000);
  });

  it('count an agent that does not fetch its plan in time as one that runs nothing', () => {
    const served = new ServedPlans();
    const since = 7 * CYCLE + 100_000; // no test at a, b or c runs 100 s into the cycle
    expect(served.clearAt(new Set(['c']), plans, since, since + 1000)).toBeNull();
    const deadline = since + ackDeadlineMs(plan('a'));
    expect(served.clearAt(new Set(['c']), plans, since, deadline)).toBe(since);
  });
});

describe('a qualification while monitoring runs', () => {
  it('holds its sites until its tasks end, and starts a task only when the gate says monitoring is clear', () => {
    let clear = false;
    const asked: string[][] = [];
    const q = new Qualifications((sites) => {
      asked.push([...sites].sort());
      return clear;
    });
    const job = q.create(request, topology, deriveLinks(topology), 0);
    expect(job.monitoring_paused).toEqual(['a', 'b']);
    expect(q.heldSites()).toEqual(new Set(['a', 'b']));
    expect(q.takeTasks('a', 1000)).toEqual([]);
    expect(asked.at(-1)).toEqual(['a', 'b']);
    clear = true;
    const [task] = q.takeTasks('a', 2000);
    expect(task?.peer.site).toBe('b');
    q.complete(task?.id as string, 'a', { measurements: null, error: 'x' }, 3000);
    expect(q.heldSites()).toEqual(new Set());
  });

  it('pauses nothing when monitoring runs no throughput tests', () => {
    const off = parseTopology(`
sites: {a: {address: 10.0.0.1}, b: {address: 10.0.0.2}}
clusters: {one: {subclusters: {sc1: {nodes: {n1: a, n2: b}}}}}
probes: {throughput: {enabled: false}}
`);
    const job = new Qualifications().create(request, off, deriveLinks(off), 0);
    expect(job.monitoring_paused).toEqual([]);
  });
});
