import { writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { eventually, startTestCollector } from '../../../testbed/collector.ts';
import { batch, rttResult } from '../../../testbed/results.ts';
import { push, TOKEN_ENV, twoSites } from '../../../testbed/topologies.ts';
import { type Receiver, startReceiver } from '../../support/receivers.ts';

// Alertmanager re-sends run beside the outbox's deliveries: one that hangs holds up no other notifier.
const KEY = 'wanwatch/rtt_high/a--b';
const ALERTS = '{for: 0s, clear_for: 0s, window: 1m}';

/** Answers the first POST 200 (the firing), then never answers again (a stuck Alertmanager). */
async function stuckAfterFirst(): Promise<{ url: string; posts: () => number; close(): Promise<void> }> {
  let posts = 0;
  const sockets = new Set<Socket>();
  const server = createServer((req, res) => {
    posts++;
    req.resume();
    if (posts === 1) req.on('end', () => res.end('{}'));
  });
  server.on('connection', (s) => sockets.add(s));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    posts: () => posts,
    close: () =>
      new Promise((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}

describe('Alertmanager re-sends', () => {
  const cleanup: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const f of cleanup.splice(0).reverse()) await f();
  });

  it('a re-send that gets no answer does not delay the other notifiers', async () => {
    const am = await stuckAfterFirst();
    cleanup.push(() => am.close());
    const hook: Receiver = await startReceiver();
    cleanup.push(() => hook.close());
    const notify = (max_rtt_ms: number) =>
      twoSites({
        max_rtt_ms,
        alerts: ALERTS,
        notify: `  - {type: alertmanager, url: "${am.url}", resend_interval: 1s}\n  - {type: webhook, url: "${hook.url}/hook"}`,
      });
    // Each request may take 5 s before it times out.
    const c = await startTestCollector(notify(20), { env: TOKEN_ENV, retry: { timeout_ms: 5000 } });
    cleanup.push(() => c.dispose());
    await push(c.url, batch('a', [rttResult('a', 'b', Date.now(), [40, 41, 42])]));
    await eventually(() => (hook.accepted().length === 1 ? true : undefined), 10_000, 'the firing');
    await eventually(() => (am.posts() >= 2 ? true : undefined), 5_000, 'a re-send in flight');

    writeFileSync(c.configPath, notify(500));
    const resolvedAt = Date.now();
    expect(c.reload()).toBe(true);
    await eventually(() => (hook.accepted().length === 2 ? true : undefined), 10_000, 'the resolved');
    const bodies = hook.accepted().map((r) => r.body as { dedup_key: string; status: string });
    expect(bodies.map((b) => [b.dedup_key, b.status])).toEqual([
      [KEY, 'firing'],
      [KEY, 'resolved'],
    ]);
    // Well before the stuck re-send's 5 s timeout.
    expect(Date.now() - resolvedAt).toBeLessThan(2500);
  });
});
