import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { tempDir } from '../../testbed/collector.ts';
import { freePort } from '../../testbed/ports.ts';
import { twoSites } from '../../testbed/topologies.ts';
import { type Alertmanager, startAlertmanager } from '../collector/notifiers/alertmanager-server.ts';
import { wanwatch } from '../support/cli.ts';
import {
  type Receiver,
  startReceiver,
  validatePagerDuty,
  validateSlack,
  validateTeams,
} from '../support/receivers.ts';

// `wanwatch notify test` run as a user would, against a plain webhook receiver, fakes of Slack, Teams
// and PagerDuty that check the documented payloads (and answer as those services do), and Debian's
// real Alertmanager.
const dir = tempDir('notify-test');
const SUMMARY = 'wanwatch test notification — no action needed';
let am: Alertmanager;
let hook: Receiver;
let slack: Receiver;
let teams: Receiver;
let pagerduty: Receiver;

const topology = (notify: string[]) => {
  const file = join(dir, `topology-${Math.random().toString(36).slice(2)}.yaml`);
  writeFileSync(file, twoSites({ notify: notify.map((n) => `  - ${n}`).join('\n') }));
  return file;
};
const ALL = () => [
  `{type: webhook, name: ops-hook, url: "${hook.url}/hook", secret_env: HOOK_SECRET}`,
  `{type: slack, url: "${slack.url}/services/T/B/X"}`,
  `{type: teams, url: "${teams.url}/workflows/1"}`,
  `{type: pagerduty, name: pd, routing_key_env: PD_KEY, url: "${pagerduty.url}/v2/enqueue"}`,
  `{type: alertmanager, name: am, url: "${am.url}", resend_interval: 20s}`,
];
const ENV = { HOOK_SECRET: 's3cret', PD_KEY: 'R0UT1NG' };

beforeAll(async () => {
  am = await startAlertmanager(join(dir, 'am'));
  hook = await startReceiver();
  slack = await startReceiver(validateSlack);
  teams = await startReceiver(validateTeams);
  pagerduty = await startReceiver(validatePagerDuty, 202);
});
afterAll(async () => {
  await Promise.all([hook, slack, teams, pagerduty].map((r) => r?.close()));
  await am?.stop();
  rmSync(dir, { recursive: true, force: true });
});
beforeEach(() => {
  for (const r of [hook, slack, teams, pagerduty]) {
    r.received.length = 0;
    r.answer = () => undefined;
  }
});

describe('wanwatch notify test', () => {
  it('sends each receiver a marked test notification and prints each answer; exit 0 when all accepted', async () => {
    const started = Date.now();
    const r = await wanwatch(['notify', 'test', '-c', topology(ALL())], { env: ENV });
    expect(r.stderr).toBe('');
    expect(r.exitCode).toBe(0);
    const lines = r.stdout.split('\n');
    expect(lines[0]).toMatch(/^NOTIFIER\s+TYPE\s+RECEIVER\s+RESULT\s+ANSWER$/);
    expect(lines.slice(1).map((l) => l.split(/\s{2,}/))).toEqual([
      ['ops-hook', 'webhook', hook.url, 'accepted', 'HTTP 200'],
      ['slack', 'slack', slack.url, 'accepted', 'HTTP 200'],
      ['teams', 'teams', teams.url, 'accepted', 'HTTP 200'],
      ['pd', 'pagerduty', pagerduty.url, 'accepted', 'trigger HTTP 202, resolve HTTP 202'],
      ['am', 'alertmanager', am.url, 'accepted', 'HTTP 200 (ends by itself in 1m)'],
    ]);

    // The webhook: version 2, rule "test", severity info, signed like every notification.
    const [w] = hook.accepted();
    expect(w?.body).toMatchObject({
      version: 2,
      status: 'firing',
      rule: 'test',
      severity: 'info',
      summary: `${SUMMARY} (sent by wanwatch notify test from ${hostname()})`,
      subject: { kind: 'agent', site: hostname() },
    });
    expect(w?.headers['x-wanwatch-signature']).toMatch(/^sha256=[0-9a-f]{64}$/);

    // Slack and Teams: the documented shapes (the fakes answer 400 otherwise), marked TEST.
    expect(slack.received.map((x) => x.problems)).toEqual([[]]);
    expect((slack.accepted()[0]?.body as { text?: string } | undefined)?.text).toBe(
      `:information_source: TEST: ${SUMMARY} (sent by wanwatch notify test from ${hostname()})`,
    );
    expect(teams.received.map((x) => x.problems)).toEqual([[]]);
    expect(JSON.stringify(teams.accepted()[0]?.body)).toContain(`"text":"TEST · test · ${hostname()}"`);

    // PagerDuty: a trigger with severity info, then a resolve of the same dedup_key.
    const pd = pagerduty.accepted().map((x) => x.body as Record<string, unknown>);
    expect(pd.map((b) => b.event_action)).toEqual(['trigger', 'resolve']);
    expect(pd[0]).toMatchObject({ routing_key: 'R0UT1NG', payload: { severity: 'info', class: 'test' } });
    expect(pd[1]).toEqual({ routing_key: 'R0UT1NG', event_action: 'resolve', dedup_key: pd[0]?.dedup_key });

    // Alertmanager lists the test alert, which ends by itself 3 × resend_interval later.
    const [a] = (await am.alerts()).filter((x) => x.labels.rule === 'test');
    expect(a?.labels).toMatchObject({ alertname: 'wanwatch_test', severity: 'info', site: hostname() });
    expect(a?.annotations.summary).toContain(SUMMARY);
    const ends = Date.parse(a?.endsAt ?? '');
    expect(ends).toBeGreaterThanOrEqual(started + 60_000);
    expect(ends).toBeLessThanOrEqual(Date.now() + 60_000);
  });

  it('--notifier NAME sends to that one only', async () => {
    const r = await wanwatch(['notify', 'test', '-c', topology(ALL()), '--notifier', 'pd'], { env: ENV });
    expect(r.exitCode).toBe(0);
    expect(r.stdout.split('\n')).toHaveLength(2);
    expect(pagerduty.accepted()).toHaveLength(2);
    expect([hook, slack, teams].map((x) => x.received.length)).toEqual([0, 0, 0]);
  });

  it('exit 1 when a receiver refuses, cannot be reached, or its secret is not set; the others are still sent', async () => {
    slack.answer = () => ({ status: 404 });
    const closed = `http://127.0.0.1:${await freePort()}`;
    const file = topology([
      `{type: slack, url: "${slack.url}/services/T/B/X"}`,
      `{type: webhook, name: nobody, url: "${closed}/hook"}`,
      `{type: pagerduty, name: pd, routing_key_env: PD_KEY_UNSET, url: "${pagerduty.url}/v2/enqueue"}`,
      `{type: teams, url: "${teams.url}/workflows/1"}`,
    ]);
    const r = await wanwatch(['notify', 'test', '-c', file, '--timeout', '3s']);
    expect(r.exitCode).toBe(1);
    const rows = r.stdout.split('\n').slice(1);
    expect(rows[0]).toMatch(
      new RegExp(`^slack\\s+slack\\s+${slack.url}\\s+NOT ACCEPTED\\s+HTTP 404 from ${slack.url}`),
    );
    expect(rows[1]).toMatch(
      /^nobody\s+webhook\s+\S+\s+NOT ACCEPTED\s+POST http:\/\/127\.0\.0\.1:\d+ failed: ECONNREFUSED$/,
    );
    expect(rows[2]).toMatch(
      /^pd\s+pagerduty\s+\S+\s+NOT ACCEPTED\s+trigger not sent: environment variable PD_KEY_UNSET \(the notifier's routing_key_env\) is not set/,
    );
    expect(rows[3]).toMatch(/^teams\s+teams\s+\S+\s+accepted\s+HTTP 200$/);
    expect(pagerduty.received).toEqual([]);
    expect(teams.accepted()).toHaveLength(1);
  });

  it('PagerDuty: no resolve is sent after a refused trigger', async () => {
    pagerduty.answer = () => ({ status: 400 });
    const r = await wanwatch(
      [
        'notify',
        'test',
        '-c',
        topology([`{type: pagerduty, routing_key_env: PD_KEY, url: "${pagerduty.url}/v2/enqueue"}`]),
      ],
      { env: ENV },
    );
    expect(r.exitCode).toBe(1);
    expect(r.stdout).toMatch(/trigger HTTP 400 from/);
    expect(pagerduty.received).toHaveLength(1);
  });

  it('exit 2 on bad input: an unknown --notifier, no notifiers, a broken topology file, a bad --timeout', async () => {
    const file = topology(ALL());
    const unknown = await wanwatch(['notify', 'test', '-c', file, '--notifier', 'pager']);
    expect(unknown.exitCode).toBe(2);
    expect(unknown.stderr).toContain(
      `wanwatch: --notifier: ${file} has no notifier "pager"; its notifiers: ops-hook, slack, teams, pd, am`,
    );
    const none = join(dir, 'no-notifiers.yaml');
    writeFileSync(none, readFileSync(file, 'utf8').replace(/notify:[\s\S]*$/, ''));
    const empty = await wanwatch(['notify', 'test', '-c', none]);
    expect(empty.exitCode).toBe(2);
    expect(empty.stderr).toContain('has no notify: entries; there is nothing to test');
    const broken = await wanwatch(['notify', 'test', '-c', topology(['{type: webhook, url: not-a-url}'])]);
    expect(broken.exitCode).toBe(2);
    expect(broken.stderr).toMatch(/notify\[0\]\.url: expected an http\(s\) URL/);
    const timeout = await wanwatch(['notify', 'test', '-c', file, '--timeout', 'soon']);
    expect(timeout.exitCode).toBe(2);
    expect([hook, slack, teams, pagerduty].map((x) => x.received.length)).toEqual([0, 0, 0, 0]);
  });

  it('--help says what is sent, the exit codes and the true default timeout', async () => {
    const r = await wanwatch(['notify', 'test', '--help']);
    expect(r.exitCode).toBe(0);
    const text = r.stdout.replace(/\s+/g, ' ');
    expect(text).toContain('severity info');
    expect(text).toContain('resolve right after it');
    expect(text).toContain('Exit code 0 when every receiver accepted (2xx), 1 when one refused');
    expect(text).toContain('(default: 10s, as the collector)');
  });
});
