// The API's limits as pure functions of time: the token bucket per address, the failed-authentication
// throttle, and that neither table grows without bound.
import { describe, expect, it } from 'vitest';
import { FailureThrottle, TokenBuckets } from '../../../collector/api/limits.ts';

describe('TokenBuckets', () => {
  it('allows the burst at once, then the rate, and says how long to wait', () => {
    const b = new TokenBuckets(10, 20);
    const t = 1_000_000;
    for (let i = 0; i < 20; i++) expect(b.take('x', t)).toBe(0);
    expect(b.take('x', t)).toBe(100);
    // 100 ms later one more token; 1 s later ten.
    expect(b.take('x', t + 100)).toBe(0);
    expect(b.take('x', t + 100)).toBeGreaterThan(0);
    let allowed = 0;
    for (let i = 0; i < 20; i++) if (b.take('x', t + 1100) === 0) allowed++;
    expect(allowed).toBe(10);
    // Another key has its own bucket.
    expect(b.take('y', t)).toBe(0);
  });

  it('is off with a rate of 0', () => {
    const b = new TokenBuckets(0, 0);
    for (let i = 0; i < 1000; i++) expect(b.take('x', 0)).toBe(0);
  });

  it('holds at most 10,000 addresses, forgetting idle ones first', () => {
    const b = new TokenBuckets(1, 2);
    for (let i = 0; i < 5000; i++) b.take(`idle${i}`, 0);
    for (let i = 0; i < 20_000; i++) b.take(`a${i}`, 10_000);
    const keys = [...(b as unknown as { buckets: Map<string, unknown> }).buckets.keys()];
    expect(keys.length).toBeLessThanOrEqual(10_000);
    // The idle ones (full again after 10 s) went first: the newest addresses are all still there.
    expect(keys.some((k) => k.startsWith('idle'))).toBe(false);
    expect(keys).toContain('a19999');
  });
});

describe('FailureThrottle', () => {
  const limits = { authFailures: 3, authFailureWindowMs: 60_000, authBlockMs: 30_000 };

  it('blocks an address after the bound within the window, for the block time', () => {
    const f = new FailureThrottle(limits);
    expect(f.failed('x', 't1', 0)).toBe(false);
    expect(f.failed('x', 't2', 1000)).toBe(false);
    expect(f.waitMs('x', 1000)).toBe(0);
    expect(f.failed('x', 't3', 2000)).toBe(true);
    expect(f.waitMs('x', 2000)).toBe(30_000);
    expect(f.waitMs('x', 31_999)).toBe(1);
    expect(f.waitMs('x', 32_000)).toBe(0);
    expect(f.waitMs('y', 2000)).toBe(0);
  });

  it('forgets failures older than the window', () => {
    const f = new FailureThrottle(limits);
    f.failed('x', 't1', 0);
    f.failed('x', 't2', 1000);
    expect(f.failed('x', 't3', 70_000)).toBe(false);
    expect(f.waitMs('x', 70_000)).toBe(0);
  });

  it('counts one wrong token once, however often it comes (an agent left with an old token)', () => {
    const f = new FailureThrottle(limits);
    for (let i = 0; i < 100; i++) expect(f.failed('x', 'old', i * 100)).toBe(false);
    expect(f.waitMs('x', 10_000)).toBe(0);
    f.failed('x', 'guess1', 10_000);
    expect(f.failed('x', 'guess2', 10_000)).toBe(true);
  });

  it('is off with a bound of 0', () => {
    const f = new FailureThrottle({ ...limits, authFailures: 0 });
    for (let i = 0; i < 100; i++) expect(f.failed('x', `t${i}`, i)).toBe(false);
    expect(f.waitMs('x', 100)).toBe(0);
  });
});
