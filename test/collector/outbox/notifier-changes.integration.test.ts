import { rmSync, writeFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { eventually, startTestCollector, type TestCollector, tempDir } from '../../../testbed/collector.ts';
import { freePort } from '../../../testbed/ports.ts';
import { batch, rttResult } from '../../../testbed/results.ts';
import { push, TOKEN_ENV, twoSites } from '../../../testbed/topologies.ts';
import { type Receiver, startReceiver } from '../../support/receivers.ts';

// The real collector, real HTTP receivers on loopback, and the topology file edited while an alert fires.
const KEY = 'wanwatch/rtt_high/a--b';
const ALERTS = '{for: 0s, clear_for: 0s, window: 1m}';
const webhook = (url: string, name?: string) =>
  `  - {type: webhook, ${name ? `name: ${name}, ` : ''}url: "${url}/hook"}`;

/** What a receiver accepted for the test's alert, in order: ["firing", "resolved"]. */
const statuses = (r: Receiver) =>
  r
    .accepted()
    .map((x) => x.body as { dedup_key: string; status: string; reminder: boolean })
    .filter((b) => b.dedup_key === KEY)
    .map((b) => b.status);

describe('notifiers edited while an alert fires', () => {
  const cleanup: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const f of cleanup.splice(0).reverse()) await f();
  });

  async function receiver(): Promise<Receiver> {
    const r = await startReceiver();
    cleanup.push(() => r.close());
    return r;
  }
  async function collector(notify: string, dir?: string): Promise<TestCollector> {
    const c = await startTestCollector(twoSites({ max_rtt_ms: 20, notify, alerts: ALERTS }), {
      env: TOKEN_ENV,
      ...(dir ? { dir } : {}),
    });
    cleanup.push(() => c.dispose());
    return c;
  }
  /** Rewrites the topology file (the link's limit decides whether the alert fires) and reloads it. */
  function edit(c: TestCollector, notify: string, max_rtt_ms = 20): void {
    writeFileSync(c.configPath, twoSites({ max_rtt_ms, notify, alerts: ALERTS }));
    expect(c.reload()).toBe(true);
  }
  async function fire(c: TestCollector): Promise<void> {
    const r = await push(c.url, batch('a', [rttResult('a', 'b', Date.now(), [40, 41, 42])]));
    expect(r.status).toBe(200);
    await eventually(
      () => (c.store.outboxRows().some((o) => o.event.dedup_key === KEY) ? true : undefined),
      10_000,
      'the alert to fire',
    );
  }

  it('a URL corrected while the alert fires: the corrected receiver gets its firing, then its resolved', async () => {
    const closed = `http://127.0.0.1:${await freePort()}`;
    const right = await receiver();
    const c = await collector(webhook(closed));
    await fire(c);
    const row = await eventually(
      () => c.store.outboxRows().find((o) => o.event.dedup_key === KEY && o.attempts >= 2),
      10_000,
      'two refused attempts at the closed port',
    );
    expect(row.last_error).toMatch(/ECONNREFUSED/);

    edit(c, webhook(right.url));
    await eventually(() => (statuses(right).length === 1 ? true : undefined), 10_000, 'the firing');
    edit(c, webhook(right.url), 500);
    await eventually(() => (statuses(right).length === 2 ? true : undefined), 10_000, 'the resolved');

    expect(statuses(right)).toEqual(['firing', 'resolved']);
    // The same outbox row was delivered, with the new URL: nothing was dropped or queued twice.
    const rows = c.store.outboxRows().filter((o) => o.event.dedup_key === KEY);
    expect(rows.map((o) => [o.notifier, o.event.status, o.status])).toEqual([
      ['webhook', 'firing', 'delivered'],
      ['webhook', 'resolved', 'delivered'],
    ]);
    expect(c.logs.join('')).not.toMatch(/dropped/);
    expect(c.logs.join('')).toMatch(
      /notifier webhook changed; its pending notifications go out with the new settings/,
    );
  });

  it('a corrected URL after the receiver refused (404): the firing is sent again to the corrected one', async () => {
    const wrong = await receiver();
    wrong.answer = () => ({ status: 404 });
    const right = await receiver();
    const c = await collector(webhook(wrong.url, 'ops'));
    await fire(c);
    await eventually(
      () => c.store.outboxRows().find((o) => o.event.dedup_key === KEY && o.status === 'failed'),
      10_000,
      'the refused firing',
    );
    edit(c, webhook(right.url, 'ops'));
    await eventually(() => (statuses(right).length === 1 ? true : undefined), 10_000, 'the firing');
    expect(statuses(right)).toEqual(['firing']);
  });

  it('a notifier added while the alert fires gets it as firing, and later its resolved', async () => {
    const first = await receiver();
    const late = await receiver();
    const c = await collector(webhook(first.url, 'first'));
    await fire(c);
    await eventually(() => (statuses(first).length === 1 ? true : undefined), 10_000, 'the first firing');

    edit(c, `${webhook(first.url, 'first')}\n${webhook(late.url, 'late')}`);
    await eventually(() => (statuses(late).length === 1 ? true : undefined), 10_000, "the late one's firing");
    const [body] = late
      .accepted()
      .map((x) => x.body as { status: string; reminder: boolean; fired_at: string });
    const [opened] = first.accepted().map((x) => x.body as { fired_at: string });
    // The alert's own firing (not a reminder), the same the first receiver had.
    expect(body).toMatchObject({ status: 'firing', reminder: false, fired_at: opened?.fired_at });

    edit(c, `${webhook(first.url, 'first')}\n${webhook(late.url, 'late')}`, 500);
    await eventually(() => (statuses(late).length === 2 ? true : undefined), 10_000, 'the resolved');
    expect(statuses(first)).toEqual(['firing', 'resolved']);
    expect(statuses(late)).toEqual(['firing', 'resolved']);
  });

  it('a notifier added while the collector was stopped gets the alerts firing when it starts', async () => {
    const dir = tempDir('notifier-added-offline');
    cleanup.push(async () => rmSync(dir, { recursive: true, force: true }));
    const first = await receiver();
    const late = await receiver();
    writeFileSync(
      `${dir}/topology.yaml`,
      twoSites({ max_rtt_ms: 20, notify: webhook(first.url, 'first'), alerts: ALERTS }),
    );
    const c = await collector(webhook(first.url, 'first'), dir);
    await fire(c);
    await eventually(() => (statuses(first).length === 1 ? true : undefined), 10_000, 'the first firing');
    await c.dispose();

    writeFileSync(
      `${dir}/topology.yaml`,
      twoSites({
        max_rtt_ms: 20,
        notify: `${webhook(first.url, 'first')}\n${webhook(late.url, 'late')}`,
        alerts: ALERTS,
      }),
    );
    await collector('', dir);
    await eventually(() => (statuses(late).length === 1 ? true : undefined), 10_000, "the late one's firing");
    await new Promise((r) => setTimeout(r, 500));
    // The first one is not sent its firing again.
    expect(statuses(first)).toEqual(['firing']);
    expect(statuses(late)).toEqual(['firing']);
  });

  it('a notifier removed: its pending notifications are dropped, one log line each', async () => {
    const closed = `http://127.0.0.1:${await freePort()}`;
    const stays = await receiver();
    const c = await collector(`${webhook(closed, 'gone')}\n${webhook(stays.url, 'stays')}`);
    await fire(c);
    await eventually(() => (statuses(stays).length === 1 ? true : undefined), 10_000, 'the firing');
    edit(c, webhook(stays.url, 'stays'));
    const row = await eventually(
      () => c.store.outboxRows().find((o) => o.notifier === 'gone' && o.status === 'failed'),
      5_000,
      "the removed notifier's row to be dropped",
    );
    expect(row.last_error).toBe('not delivered: notifier gone was removed from notify:');
    const lines = c.logs.filter((l) => l.includes('dropped a pending'));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain(
      `dropped a pending firing notification of ${KEY}: notifier gone was removed from notify:`,
    );
  });
});
