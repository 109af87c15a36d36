import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { alertmanagerPayload } from '../../../collector/notifiers/alertmanager.ts';
import { eventually, startTestCollector, type TestCollector, tempDir } from '../../../testbed/collector.ts';
import { batch, rttResult } from '../../../testbed/results.ts';
import { push, TOKEN_ENV, twoSites } from '../../../testbed/topologies.ts';
import { type Alertmanager, startAlertmanager } from './alertmanager-server.ts';

// A real Debian prometheus-alertmanager (0.25) on loopback receives wanwatch's alerts through its v2
// API. It keeps alerts in memory only, so the notifier re-sends every firing alert each
// resend_interval; 2 s here, so that restarts and timeouts show within seconds.
const RESEND_MS = 2000;

let am: Alertmanager;
let c: TestCollector;
const dir = tempDir('alertmanager');

const topology = (max_rtt_ms: number) =>
  twoSites({
    max_rtt_ms,
    notify: `  - {type: alertmanager, url: "${am.url}", resend_interval: ${RESEND_MS / 1000}s}`,
  });

beforeAll(async () => {
  am = await startAlertmanager(join(dir, 'am'));
  c = await startTestCollector(topology(20), { env: TOKEN_ENV });
});
afterAll(async () => {
  await c?.dispose();
  await am?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const ours = async () => (await am.alerts()).filter((a) => a.labels.dedup_key === 'wanwatch/rtt_high/a--b');
const listed = (timeoutMs: number, what: string) =>
  eventually(async () => ((await ours()).length > 0 ? ours() : undefined), timeoutMs, what);
const rttRows = () => c.store.outboxRows().filter((o) => o.event.rule === 'rtt_high');

describe('Alertmanager (real)', () => {
  it('shows the alert in its API after a firing event, ending a few resend intervals ahead', async () => {
    await push(c.url, batch('a', [rttResult('a', 'b', Date.now(), [40, 41, 42])]));
    const [a] = await listed(15_000, 'the alert in Alertmanager');
    expect(a?.labels).toMatchObject({
      alertname: 'wanwatch_rtt_high',
      link: 'a--b',
      severity: 'warning',
    });
    expect(a?.annotations.summary).toBe('p95 RTT 41.9 ms > 20 ms on a ↔ b (a → b 41.9 ms)');
    expect(a?.annotations.directions).toBe('a → b 41.9 ms (breach), b → a n/a');
    expect(a?.status.state).toBe('active');
    const ahead = Date.parse(a?.endsAt ?? '') - Date.now();
    expect(ahead).toBeGreaterThan(RESEND_MS);
    expect(ahead).toBeLessThanOrEqual(3 * RESEND_MS + 1000);
  });

  it('re-sends it every resend_interval, pushing endsAt on, without adding outbox rows', async () => {
    const rows = rttRows().length;
    const [before] = await ours();
    await new Promise((r) => setTimeout(r, 2 * RESEND_MS + 500));
    const [after] = await ours();
    expect(Date.parse(after?.endsAt ?? '')).toBeGreaterThanOrEqual(
      Date.parse(before?.endsAt ?? '') + RESEND_MS,
    );
    expect(rttRows()).toHaveLength(rows);
  });

  it('lists the alert again soon after Alertmanager restarts (it keeps alerts in memory only)', async () => {
    await am.restart();
    const restarted = Date.now();
    // One interval until the next re-send, plus the time to send it.
    await listed(RESEND_MS + 3000, 'the alert to be listed again after the restart');
    expect(Date.now() - restarted).toBeLessThanOrEqual(RESEND_MS + 3000);
    expect(rttRows().map((r) => r.event.status)).toEqual(['firing']);
  });

  it('marks it resolved (endsAt in the past, no longer active) after the link recovers', async () => {
    writeFileSync(c.configPath, topology(100));
    expect(c.reload()).toBe(true);
    await eventually(
      async () => ((await ours()).length === 0 ? true : undefined),
      15_000,
      'the alert to leave the active list',
    );
    const row = rttRows();
    expect(row.map((r) => [r.event.status, r.status])).toEqual([
      ['firing', 'delivered'],
      ['resolved', 'delivered'],
    ]);
    const sent = alertmanagerPayload(row[1]!.event, {
      now_ms: Date.now(),
      collector_url: c.url,
      secret: null,
    });
    expect(Date.parse(sent[0]!.endsAt)).toBe(row[1]!.event.resolved_at_ms);
    expect(Date.parse(sent[0]!.endsAt)).toBeLessThanOrEqual(Date.now());
    // A resolved alert is not re-sent as firing.
    await new Promise((r) => setTimeout(r, 2 * RESEND_MS));
    expect(await ours()).toEqual([]);
  });

  it('a collector that stops: its firing alert ends within three resend intervals', async () => {
    writeFileSync(c.configPath, topology(20));
    expect(c.reload()).toBe(true);
    await push(c.url, batch('a', [rttResult('a', 'b', Date.now(), [40, 41, 42])]));
    await listed(15_000, 'the alert firing again');
    await c.close();
    const stopped = Date.now();
    const [last] = await ours();
    expect(Date.parse(last?.endsAt ?? '')).toBeLessThanOrEqual(stopped + 3 * RESEND_MS + 500);
    await eventually(
      async () => ((await ours()).length === 0 ? true : undefined),
      3 * RESEND_MS + 5000,
      'Alertmanager to end the alert nobody re-sends',
    );
    expect(Date.now() - stopped).toBeLessThanOrEqual(3 * RESEND_MS + 5000);
  });
});
