import { describe, expect, it } from 'vitest';
import { dueBetween, firstDueAtOrAfter, nextDue, spreadEvenly } from '../../agent/schedule/periodic.ts';
import { duringThroughputSlot, timetable } from '../../agent/schedule/plan.ts';
import { samplePlan } from './sample-plan.ts';

const plan = samplePlan;

describe('the agent scheduler', () => {
  it('puts a job at every time t with t mod period = phase, anchored at the epoch', () => {
    const job = { key: 'j', period_ms: 1000, phase_ms: 250 };
    expect(firstDueAtOrAfter(job, 0)).toBe(250);
    expect(firstDueAtOrAfter(job, 250)).toBe(250);
    expect(firstDueAtOrAfter(job, 251)).toBe(1250);
    expect(firstDueAtOrAfter(job, 1_700_000_000_123)).toBe(1_700_000_000_250);
  });

  it('lists the jobs due in (from, to], each once, sorted by due time', () => {
    const jobs = [
      { key: 'a', period_ms: 1000, phase_ms: 500 },
      { key: 'b', period_ms: 1000, phase_ms: 100 },
    ];
    expect(dueBetween(jobs, 0, 1000)).toEqual([
      { key: 'b', due_ms: 100 },
      { key: 'a', due_ms: 500 },
    ]);
    // from is exclusive, to inclusive: a tick exactly at a due time runs it once, not twice.
    expect(dueBetween(jobs, 100, 500)).toEqual([{ key: 'a', due_ms: 500 }]);
    expect(dueBetween(jobs, 500, 500)).toEqual([]);
  });

  it('runs a job late once, at its latest due time, instead of replaying missed rounds', () => {
    const jobs = [{ key: 'a', period_ms: 1000, phase_ms: 0 }];
    expect(dueBetween(jobs, 0, 10_500)).toEqual([{ key: 'a', due_ms: 10_000 }]);
  });

  it('spreads 200 peers evenly over the interval so they do not all start at once', () => {
    const keys = Array.from({ length: 200 }, (_, i) => `rtt:site${i}`);
    const jobs = spreadEvenly(keys, 10_000);
    const phases = jobs.map((j) => j.phase_ms).sort((a, b) => a - b);
    expect(new Set(phases).size).toBe(200);
    expect(phases[0]).toBe(0);
    for (let i = 1; i < phases.length; i++) expect(phases[i]! - phases[i - 1]!).toBe(50);
    // In any 1 s window, a tenth of the peers start.
    expect(dueBetween(jobs, 1_700_000_003_000, 1_700_000_004_000)).toHaveLength(20);
  });

  it('gives the same phases whatever order the plan lists the peers in', () => {
    expect(spreadEvenly(['c', 'a', 'b'], 900)).toEqual(spreadEvenly(['a', 'b', 'c'], 900));
  });

  it('does not drift: a timer that fires late still finds the next round at its fixed time', () => {
    const jobs = spreadEvenly(['rtt:B'], 10_000);
    // Simulate a loop whose timer always fires 37 ms late, for 1,000 rounds.
    let cursor = 0;
    const ran: number[] = [];
    for (let i = 0; i < 1000; i++) {
      const due = nextDue(jobs, cursor)!;
      const firedAt = due + 37;
      for (const d of dueBetween(jobs, cursor, firedAt)) ran.push(d.due_ms);
      cursor = firedAt;
    }
    expect(ran).toHaveLength(1000);
    expect(ran.every((t, i) => t === (i + 1) * 10_000)).toBe(true);
  });

  it('turns a plan into one RTT job per peer and one throughput job per slot where this site is the client', () => {
    const t = timetable(plan());
    expect([...t.rtt.keys()].sort()).toEqual(['rtt:B', 'rtt:C']);
    expect([...t.throughput.values()].map((v) => `${v.slot.client}>${v.peer.site}`)).toEqual(['A>B']);
    const tp = t.jobs.find((j) => j.key.startsWith('throughput:'))!;
    expect(tp).toMatchObject({ period_ms: 3_600_000, phase_ms: 0 });
    expect(t.rtt.has('rtt:A')).toBe(false);
  });

  it('re-plans from a changed plan: new peers are spread, removed peers stop, disabled throughput stops', () => {
    const before = timetable(plan());
    const after = timetable(
      plan({
        plan_version: 'v2',
        rtt: { ...plan().rtt, interval_ms: 4000 },
        peers: [
          { site: 'B', address: '127.0.0.2', reflector_port: 4789, iperf3_port: 5201 },
          { site: 'D', address: '127.0.0.4', reflector_port: 4789, iperf3_port: 5201 },
          { site: 'E', address: '127.0.0.5', reflector_port: 4789, iperf3_port: 5201 },
          { site: 'F', address: '127.0.0.6', reflector_port: 4789, iperf3_port: 5201 },
        ],
        throughput: { ...plan().throughput, enabled: false },
      }),
    );
    expect(before.jobs.map((j) => j.key)).toContain('rtt:C');
    expect(after.jobs.map((j) => [j.key, j.phase_ms, j.period_ms])).toEqual([
      ['rtt:B', 0, 4000],
      ['rtt:D', 1000, 4000],
      ['rtt:E', 2000, 4000],
      ['rtt:F', 3000, 4000],
    ]);
    // From the moment of the change, the next rounds follow the new timetable.
    expect(dueBetween(after.jobs, 1_000_000, 1_004_000).map((d) => d.key)).toEqual([
      'rtt:D',
      'rtt:E',
      'rtt:F',
      'rtt:B',
    ]);
  });

  it('starts a throughput slot when now mod cycle_ms equals its offset', () => {
    const p = plan();
    p.throughput.slots = [
      { client: 'A', peer: 'C', offset_ms: 25_000, length_ms: 25_000, required_bps: 5e6 },
    ];
    const t = timetable(p);
    const slotJobs = t.jobs.filter((j) => j.key.startsWith('throughput:'));
    const hour = 3_600_000;
    expect(dueBetween(slotJobs, 5 * hour, 6 * hour)).toEqual([
      { key: 'throughput:A>C@25000', due_ms: 5 * hour + 25_000 },
    ]);
  });

  it('leaves out RTT rounds to a peer that would overlap a throughput test with it, as client or as server', () => {
    const hour = 3_600_000;
    // A>B at 0 s and C>A at 25 s of each hour; each test runs 2 × (10 s + 1 s omit + 1 s overhead).
    const p = plan();
    const round = 3000;
    expect(duringThroughputSlot(p, 'B', 5 * hour + 10_000, round)).toBe(true);
    expect(duringThroughputSlot(p, 'C', 5 * hour + 10_000, round)).toBe(false);
    // A serves C's test: its rounds to C pause too.
    expect(duringThroughputSlot(p, 'C', 5 * hour + 30_000, round)).toBe(true);
    expect(duringThroughputSlot(p, 'B', 5 * hour + 30_000, round)).toBe(false);
    // A round that would still run when the test starts, and one that ends just before it.
    expect(duringThroughputSlot(p, 'B', 5 * hour - 1000, round)).toBe(true);
    expect(duringThroughputSlot(p, 'B', 5 * hour - 3000, round)).toBe(false);
    // The test is over (the slot's last second is its idle margin).
    expect(duringThroughputSlot(p, 'B', 5 * hour + 23_999, round)).toBe(true);
    expect(duringThroughputSlot(p, 'B', 5 * hour + 24_000, round)).toBe(false);
    // The server's side of A>B: B pauses its rounds to A.
    expect(duringThroughputSlot({ ...p, site: 'B' }, 'A', 5 * hour + 10_000, round)).toBe(true);
    const off = plan();
    off.throughput.enabled = false;
    expect(duringThroughputSlot(off, 'B', 5 * hour + 10_000, round)).toBe(false);
  });
});
