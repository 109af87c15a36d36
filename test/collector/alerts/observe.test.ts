import { describe, expect, it } from 'vitest';
import {
  agentObservation,
  goodputObservation,
  linkDownObservation,
  lossObservation,
  rttObservation,
} from '../../../collector/alerts/observe.ts';
import { windowRttStatistic } from '../../../shared/stats.ts';
import { rttResult, throughputResult } from '../../../testbed/results.ts';

describe('rule observations', () => {
  const rounds = [
    rttResult('a', 'b', 0, [10, 20, 30, null]),
    rttResult('a', 'b', 10_000, [40, 50, null, null]),
  ];

  it('computes the RTT statistic over the samples of every round in the window', () => {
    expect(windowRttStatistic(rounds, 'median')).toBe(30);
    expect(windowRttStatistic(rounds, 'max')).toBe(50);
    expect(windowRttStatistic(rounds, 'mean')).toBe(30);
    expect(windowRttStatistic(rounds, 'p95')).toBe(48);
    expect(rttObservation(rounds, 'p95', 45)).toEqual({ breach: true, observed: 48, threshold: 45 });
    expect(rttObservation([], 'p95', 45).breach).toBeNull();
  });

  it('computes loss over the whole window, not the last round', () => {
    expect(lossObservation(rounds, 1)).toEqual({ breach: true, observed: 37.5, threshold: 1 });
    expect(lossObservation([rttResult('a', 'b', 0, [1, 2])], 1).breach).toBe(false);
  });

  it('calls a link down when its latest round in the window lost every probe', () => {
    const lost = rttResult('a', 'b', 20_000, [null, null]);
    expect(linkDownObservation(lost, 0)).toEqual({ breach: true, observed: 100, threshold: 100 });
    expect(linkDownObservation(rounds[1], 0).breach).toBe(false);
    expect(linkDownObservation(lost, 30_000).breach).toBeNull();
    const couldNotRun = { ...lost, rtt: null };
    expect(linkDownObservation(couldNotRun, 0).breach).toBe(true);
  });

  it('takes goodput per direction from forward tests of src and reverse tests of dst', () => {
    const tests = [
      throughputResult('a', 'b', 1000, 9e6, 'forward'), // a → b
      throughputResult('a', 'b', 1000, 3e6, 'reverse'), // b → a
      throughputResult('a', 'b', 500, 1e6, 'forward'), // older a → b
    ];
    expect(goodputObservation(tests, 'a', 'b', 5e6)).toEqual({
      breach: false,
      observed: 9e6,
      threshold: 5e6,
    });
    expect(goodputObservation(tests, 'b', 'a', 5e6)).toEqual({ breach: true, observed: 3e6, threshold: 5e6 });
    const busy = {
      ...throughputResult('a', 'b', 2000, 0),
      error: { code: 'busy' as const, message: 'busy' },
    };
    expect(goodputObservation([busy], 'a', 'b', 5e6).breach).toBeNull();
  });

  it('declares an agent down after interval + timeout without a heartbeat', () => {
    expect(agentObservation(1000, 0, 91_000, 90_000).breach).toBe(false);
    expect(agentObservation(1000, 0, 91_100, 90_000)).toEqual({
      breach: true,
      observed: 90.1,
      threshold: 90,
    });
    expect(agentObservation(null, 1000, 95_000, 90_000)).toEqual({
      breach: true,
      observed: 94,
      threshold: 90,
    });
  });

  it('gives agents not heard since the collector started a full interval + timeout before judging them', () => {
    // Last heard an hour before a restart at t = 3,600,000: unknown during the grace, down after it.
    expect(agentObservation(0, 3_600_000, 3_650_000, 90_000)).toEqual({
      breach: null,
      observed: null,
      threshold: 90,
    });
    expect(agentObservation(0, 3_600_000, 3_690_100, 90_000)).toEqual({
      breach: true,
      observed: 3690.1,
      threshold: 90,
    });
    expect(agentObservation(null, 3_600_000, 3_650_000, 90_000).breach).toBeNull();
    expect(agentObservation(3_640_000, 3_600_000, 3_650_000, 90_000).breach).toBe(false);
  });
});
