import { afterEach, describe, expect, it } from 'vitest';
import { backoffMs, classify, DEFAULT_RETRY, retryAfterMs } from '../../../collector/outbox/retry.ts';
import { eventually, startTestCollector, type TestCollector, tempDir } from '../../../testbed/collector.ts';
import { batch, rttResult } from '../../../testbed/results.ts';
import { push, TOKEN_ENV, twoSites } from '../../../testbed/topologies.ts';
import { type Receiver, startReceiver } from '../../support/receivers.ts';

describe('retry policy', () => {
  it('backs off exponentially with jitter, never above the cap', () => {
    const p = { ...DEFAULT_RETRY, base_ms: 1000, cap_ms: 60_000 };
    expect(backoffMs(0, p, () => 0)).toBe(500);
    expect(backoffMs(0, p, () => 1)).toBe(1000);
    expect(backoffMs(3, p, () => 0.5)).toBe(6000);
    expect(backoffMs(40, p, () => 1)).toBe(60_000);
    expect(backoffMs(40, p, () => 0)).toBe(30_000);
  });

  it('reads Retry-After as seconds or as an HTTP date', () => {
    const now = Date.UTC(2026, 0, 1, 12, 0, 0);
    expect(retryAfterMs('120', now)).toBe(120_000);
    expect(retryAfterMs('Thu, 01 Jan 2026 12:00:30 GMT', now)).toBe(30_000);
    expect(retryAfterMs('Thu, 01 Jan 2026 11:00:00 GMT', now)).toBe(0);
    expect(retryAfterMs('soon', now)).toBeNull();
    expect(retryAfterMs(null, now)).toBeNull();
  });

  it('retries 408, 429 and 5xx, and no other 4xx', () => {
    expect([200, 202, 204].map(classify)).toEqual(['delivered', 'delivered', 'delivered']);
    expect([408, 429, 500, 502, 503].map(classify)).toEqual(['retry', 'retry', 'retry', 'retry', 'retry']);
    expect([400, 401, 403, 404, 410, 413].map(classify)).toEqual([
      'failed',
      'failed',
      'failed',
      'failed',
      'failed',
      'failed',
    ]);
  });
});

describe('durable delivery through the outbox', () => {
  const cleanup: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const f of cleanup.splice(0).reverse()) await f();
  });

  async function breach(c: TestCollector) {
    const r = await push(c.url, batch('a', [rttResult('a', 'b', Date.now(), [150, 160, 170])]));
    expect(r.status).toBe(200);
  }
  const firings = (r: Receiver) =>
    r
      .accepted()
      .filter(
        (x) =>
          (x.body as { dedup_key: string; status: string }).dedup_key === 'wanwatch/rtt_high/a--b' &&
          (x.body as { status: string }).status === 'firing',
      );

  it('delivers an alert exactly once although the webhook answered 500 for a while and the collector restarted', async () => {
    const hook = await startReceiver();
    cleanup.push(() => hook.close());
    hook.answer = () => ({ status: 500 });
    const dir = tempDir('outbox-restart');
    const yaml = twoSites({ notify: `  - {type: webhook, url: "${hook.url}/hook"}` });
    const { writeFileSync, rmSync } = await import('node:fs');
    writeFileSync(`${dir}/topology.yaml`, yaml);
    cleanup.push(async () => rmSync(dir, { recursive: true, force: true }));

    const first = await startTestCollector(yaml, { dir, env: TOKEN_ENV });
    await breach(first);
    await eventually(() => (hook.received.length >= 3 ? true : undefined), 10_000, 'three failed attempts');
    await first.dispose();
    const attemptsBefore = hook.received.length;
    expect(hook.accepted()).toEqual([]);

    hook.answer = () => undefined; // now 200
    const second = await startTestCollector(yaml, { dir, env: TOKEN_ENV });
    cleanup.push(() => second.dispose());
    await eventually(
      () => (firings(hook).length === 1 ? true : undefined),
      10_000,
      'the delivery after restart',
    );
    await new Promise((r) => setTimeout(r, 1000));
    expect(firings(hook)).toHaveLength(1);
    expect(hook.received.length).toBeGreaterThan(attemptsBefore);
    const row = second.store.outboxRows().find((o) => o.event.rule === 'rtt_high');
    expect(row).toMatchObject({ status: 'delivered', last_error: null });
    // Every failed attempt the receiver saw is counted, except perhaps one still in flight when the
    // first collector stopped (its answer never recorded); plus the delivery.
    expect(row?.attempts).toBeGreaterThanOrEqual(attemptsBefore);
  });

  it('waits as long as Retry-After says on 429', async () => {
    const hook = await startReceiver();
    cleanup.push(() => hook.close());
    let n = 0;
    hook.answer = () => (n++ === 0 ? { status: 429, headers: { 'retry-after': '2' } } : undefined);
    const c = await startTestCollector(twoSites({ notify: `  - {type: webhook, url: "${hook.url}/hook"}` }), {
      env: TOKEN_ENV,
      retry: { base_ms: 50, cap_ms: 10_000 },
    });
    cleanup.push(() => c.dispose());
    await breach(c);
    await eventually(() => (firings(hook).length === 1 ? true : undefined), 10_000, 'delivery after 429');
    const times = hook.received.map((r) => Date.parse((r.body as { sent_at: string }).sent_at));
    expect(times[1]! - times[0]!).toBeGreaterThanOrEqual(1900);
  });

  it('does not retry a 4xx other than 429 and records why it failed', async () => {
    const hook = await startReceiver();
    cleanup.push(() => hook.close());
    hook.answer = () => ({ status: 404 });
    const c = await startTestCollector(twoSites({ notify: `  - {type: webhook, url: "${hook.url}/gone"}` }), {
      env: TOKEN_ENV,
    });
    cleanup.push(() => c.dispose());
    await breach(c);
    const row = await eventually(
      () => c.store.outboxRows().find((o) => o.status === 'failed'),
      10_000,
      'a failed row',
    );
    await new Promise((r) => setTimeout(r, 500));
    expect(hook.received).toHaveLength(1);
    expect(row.attempts).toBe(1);
    expect(row.last_error).toMatch(/^HTTP 404 from http:\/\/127\.0\.0\.1:\d+.*not retried/);
  });

  it('never delivers resolved before the firing it resolves, even while the firing is being retried', async () => {
    const hook = await startReceiver();
    cleanup.push(() => hook.close());
    let hold = true;
    hook.answer = () => (hold ? { status: 503 } : undefined);
    const notify = `  - {type: webhook, url: "${hook.url}/hook"}`;
    const alerts = '{for: 0s, clear_for: 0s, window: 1m}';
    const c = await startTestCollector(twoSites({ max_rtt_ms: 20, notify, alerts }), { env: TOKEN_ENV });
    cleanup.push(() => c.dispose());
    await breach(c);
    await eventually(() => (hook.received.length >= 1 ? true : undefined), 10_000, 'a first failed attempt');
    const { writeFileSync } = await import('node:fs');
    writeFileSync(c.configPath, twoSites({ max_rtt_ms: 500, notify, alerts }));
    expect(c.reload()).toBe(true);
    await eventually(
      () => (c.store.outboxRows().some((o) => o.event.status === 'resolved') ? true : undefined),
      10_000,
      'the resolved event',
    );
    await new Promise((r) => setTimeout(r, 500)); // both rows pending; the resolved one must wait
    expect(hook.received.every((r) => (r.body as { status: string }).status === 'firing')).toBe(true);
    hold = false;
    await eventually(() => (hook.accepted().length === 2 ? true : undefined), 10_000, 'both deliveries');
    expect(hook.accepted().map((r) => (r.body as { status: string }).status)).toEqual(['firing', 'resolved']);
  });
});
