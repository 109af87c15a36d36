import { writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { execa, type ResultPromise } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { alertmanagerPayload } from '../../../collector/notifiers/alertmanager.ts';
import { eventually, startTestCollector, type TestCollector, tempDir } from '../../../testbed/collector.ts';
import { batch, rttResult } from '../../../testbed/results.ts';
import { push, TOKEN_ENV, twoSites } from '../../../testbed/topologies.ts';

// A real Debian prometheus-alertmanager on loopback receives wanwatch's alerts through its v2 API.
async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

interface AmAlert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startsAt: string;
  endsAt: string;
  status: { state: string };
}

let am: ResultPromise;
let amUrl: string;
let c: TestCollector;
const dir = tempDir('alertmanager');

beforeAll(async () => {
  const port = await freePort();
  amUrl = `http://127.0.0.1:${port}`;
  const config = join(dir, 'alertmanager.yml');
  writeFileSync(config, 'route:\n  receiver: none\nreceivers:\n  - name: none\n');
  am = execa(
    'prometheus-alertmanager',
    [
      `--config.file=${config}`,
      `--storage.path=${join(dir, 'am-data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--cluster.listen-address=',
    ],
    { reject: false },
  );
  await eventually(
    async () =>
      (await fetch(`${amUrl}/-/ready`).then(
        (r) => r.ok,
        () => false,
      )) || undefined,
    20_000,
    'Alertmanager to be ready',
  );
  c = await startTestCollector(
    twoSites({ max_rtt_ms: 20, notify: `  - {type: alertmanager, url: "${amUrl}"}` }),
    { env: TOKEN_ENV },
  );
});
afterAll(async () => {
  await c?.dispose();
  am?.kill('SIGTERM');
  await am;
});

const alerts = async (): Promise<AmAlert[]> =>
  (await (
    await fetch(`${amUrl}/api/v2/alerts?active=true&silenced=true&inhibited=true&unprocessed=true`)
  ).json()) as AmAlert[];
const ours = async () => (await alerts()).filter((a) => a.labels.dedup_key === 'wanwatch/rtt_high/a--b');

describe('Alertmanager (real)', () => {
  it('shows the alert in its API after a firing event', async () => {
    await push(c.url, batch('a', [rttResult('a', 'b', Date.now(), [40, 41, 42])]));
    const [a] = await eventually(
      async () => ((await ours()).length > 0 ? ours() : undefined),
      15_000,
      'the alert in Alertmanager',
    );
    expect(a?.labels).toMatchObject({
      alertname: 'wanwatch_rtt_high',
      link: 'a--b',
      severity: 'warning',
    });
    expect(a?.annotations.summary).toBe('p95 RTT 41.9 ms > 20 ms on a ↔ b (a → b 41.9 ms)');
    expect(a?.annotations.directions).toBe('a → b 41.9 ms (breach), b → a n/a');
    expect(a?.status.state).toBe('active');
    expect(Date.parse(a?.endsAt ?? '')).toBeGreaterThan(Date.now() + 3_600_000);
  });

  it('marks it resolved (endsAt in the past, no longer active) after the link recovers', async () => {
    writeFileSync(
      c.configPath,
      twoSites({ max_rtt_ms: 100, notify: `  - {type: alertmanager, url: "${amUrl}"}` }),
    );
    expect(c.reload()).toBe(true);
    await eventually(
      async () => ((await ours()).length === 0 ? true : undefined),
      15_000,
      'the alert to leave the active list',
    );
    // The firing alert's endsAt was hours ahead, so it left the active list only because the resolved
    // event (endsAt = the time it resolved) reached Alertmanager; Alertmanager does not list resolved alerts.
    const row = c.store.outboxRows().filter((o) => o.event.rule === 'rtt_high');
    expect(row.map((r) => [r.event.status, r.status])).toEqual([
      ['firing', 'delivered'],
      ['resolved', 'delivered'],
    ]);
    const sent = alertmanagerPayload(row[1]!.event, {
      now_ms: Date.now(),
      collector_url: c.url,
      repeat_interval_ms: 0,
      secret: null,
    });
    expect(Date.parse(sent[0]!.endsAt)).toBe(row[1]!.event.resolved_at_ms);
    expect(Date.parse(sent[0]!.endsAt)).toBeLessThanOrEqual(Date.now());
  });
});
