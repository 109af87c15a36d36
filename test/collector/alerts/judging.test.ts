// What the rules judge, through the real store and evaluator: Results that could not be measured are
// never evidence (a shutdown-cancelled round, rounds without the ICMP privilege), a site that cannot
// measure raises measurement_failing once per cause (and a reflector that keeps refusing raises it for its
// own site, after alerts.for), failing throughput tests raise throughput_failing
// and leave the goodput stale, and a result dated in the future never hides a present failure.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Evaluator } from '../../../collector/evaluate/evaluator.ts';
import { linksView } from '../../../collector/read.ts';
import { RefusedRows } from '../../../collector/sinks/refused.ts';
import { Store } from '../../../collector/store/store.ts';
import { failedRtt, failedThroughput } from '../../../probes/failed.ts';
import { parseTopology } from '../../../shared/config/load.ts';
import type { ErrorCode, Result, RttResult, ThroughputResult } from '../../../shared/result.ts';
import type { Topology } from '../../../shared/topology/model.ts';
import { deriveLinks } from '../../../shared/topology/requirements.ts';
import { batch, rttResult, throughputResult } from '../../../testbed/results.ts';

// for: 0s and clear_for: 0s: every breach fires at once and every recovery resolves at once, so each
// evaluation shows what the rules make of the results. One link a–b; throughput every minute.
const yaml = (throughput = '{interval: 1m, duration: 5s, omit: 0s, reverse: true}') => `
thresholds: {max_rtt_ms: 80, max_loss_percent: 1, mbps_per_subcluster: 5}
sites:
  a: {address: 127.0.0.1}
  b: {address: 127.0.0.2}
clusters:
  east:
    subclusters:
      sc1: {nodes: {n1: a, n2: b}}
probes:
  heartbeat: {interval: 1h, timeout: 1h}
  throughput: ${throughput}
alerts: {for: 0s, clear_for: 0s, window: 5m}
`;

const NOW = 1_900_000_000_000;
const NO_PRIVILEGE =
  'cannot open a raw ICMP socket (Operation not permitted). ICMP probes need raw sockets: run wanwatch as root, ' +
  'or allow node to open them with `setcap cap_net_raw+ep $(readlink -f $(which node))` (or use --method tcp / udp)';

let dir: string;
let store: Store;
let evaluator: Evaluator;
let topology: Topology;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'wanwatch-judging-'));
  store = Store.open(dir);
  evaluator = new Evaluator(store, NOW - 3_600_000);
  topology = parseTopology(yaml());
});
afterEach(() => {
  store.close();
  rmSync(dir, { recursive: true, force: true });
});

const ingest = (...results: Result[]) => {
  for (const r of results) store.ingestBatch(batch(r.src, [r]), NOW);
};
const evaluate = (now = NOW, t = topology) =>
  evaluator.evaluate({ topology: t, links: deriveLinks(t), notifiers: [] }, now);
const status = (key: string) => evaluator.alertStates().get(key)?.status ?? 'ok';
const direction = (src: string, dst: string, now = NOW) =>
  linksView(topology, deriveLinks(topology), evaluator, now)
    .links.flatMap((l) => l.directions)
    .find((d) => d.src === src && d.dst === dst);

/** Rounds of five answered probes from src to dst, one every 10 s over the 100 s before `until`. */
const goodRounds = (src: string, dst: string, until = NOW) =>
  Array.from({ length: 10 }, (_, i) => rttResult(src, dst, until - 100_000 + i * 10_000, [1, 1, 1, 1, 1]));

const couldNotRun = (
  src: string,
  dst: string,
  time_ms: number,
  code: ErrorCode,
  message: string,
): RttResult => failedRtt('icmp', { src, dst, target: '127.0.0.2', time_ms, duration_ms: 0 }, code, message);

const failedTest = (
  src: string,
  dst: string,
  time_ms: number,
  code: ErrorCode = 'refused',
): ThroughputResult =>
  failedThroughput(
    { src, dst, target: '127.0.0.2:5201', time_ms, duration_ms: 3 },
    code,
    code === 'refused'
      ? 'iperf3 against 127.0.0.2:5201: connection refused: is its iperf3 server running?'
      : code,
  );

describe('a round cut short by shutdown', () => {
  it('is not loss: the cancelled probes of a stopping agent raise no loss_high', () => {
    // As a stopping agent stores it: two probes answered, three never sent.
    const cut: RttResult = {
      ...rttResult('a', 'b', NOW - 1000, [0.07, 0.07, null, null, null]),
      error: { code: 'cancelled', message: 'round cancelled: the agent is stopping' },
    };
    ingest(...goodRounds('a', 'b', NOW - 2000), cut);
    const events = evaluate();
    expect(events.filter((e) => e.rule === 'loss_high')).toEqual([]);
    expect(status('wanwatch/loss_high/a--b')).toBe('ok');
    expect(direction('a', 'b')?.loss_percent).toBe(0);
    // Not a site that cannot measure either: a restart is not a measurement failure.
    expect(events.map((e) => e.rule)).toEqual([]);
    expect(direction('a', 'b')?.not_measured).toMatchObject({ code: 'cancelled' });
  });
});

describe("a round a peer's reflector refused (the peer's agent restarting)", () => {
  const refusedRound = (src: string, dst: string, time_ms: number): RttResult =>
    failedRtt(
      'udp',
      { src, dst, target: '127.0.0.2:4789', time_ms, duration_ms: 600 },
      'refused',
      'round not measured: all 5 probes were refused: 127.0.0.2:4789 answered "port unreachable": no reflector listens there',
    );

  it('is not evidence: no loss_high, no link_down, nothing for a; the direction shows it as not measured', () => {
    ingest(...goodRounds('a', 'b', NOW - 20_000), refusedRound('a', 'b', NOW - 15_000));
    ingest(refusedRound('a', 'b', NOW - 5000));
    // With for: 0s only b's reflector is alerted on (what lasting refusals raise: see below).
    expect(evaluate().map((e) => e.dedup_key)).toEqual(['wanwatch/measurement_failing/b/refused']);
    expect(direction('a', 'b')).toMatchObject({
      loss_percent: 0,
      rounds_in_window: 10,
      not_measured: { code: 'refused', time_ms: NOW - 5000 },
      state: 'ok',
    });
  });

  it('is skipped by link_down, which judges the latest measured round before it', () => {
    ingest(rttResult('a', 'b', NOW - 20_000, [null, null, null]), refusedRound('a', 'b', NOW - 10_000));
    expect(evaluate().map((e) => e.dedup_key)).toContain('wanwatch/link_down/a--b');
  });

  it('is evidence when the refusals were counted as lost (a tcp_port that is not a reflector): link_down', () => {
    const lostToRst: RttResult = {
      ...rttResult('a', 'b', NOW - 10_000, [null, null, null]),
      method: 'tcp',
      error: { code: 'refused', message: 'all 3 probes lost: 127.0.0.2:22 refused the connection' },
    };
    ingest(lostToRst);
    expect(
      evaluate()
        .map((e) => e.dedup_key)
        .sort(),
    ).toEqual(['wanwatch/link_down/a--b', 'wanwatch/loss_high/a--b']);
  });
});

describe('a reflector that stays away (its port taken, a firewall rejecting, a crashed reflector)', () => {
  // The default hysteresis (alerts.for, alerts.clear_for): what keeps a peer's restart from paging.
  const defaults = () =>
    parseTopology(yaml().replace('alerts: {for: 0s, clear_for: 0s, window: 5m}', 'alerts: {window: 5m}'));
  const REFUSED =
    'round not measured: all 5 probes were refused: 127.0.0.2:4789 answered "port unreachable": no reflector listens ' +
    'there (its agent is restarting or stopped, or `wanwatch reflector` is not running on that host); a refusal is not loss';
  const refusedRound = (time_ms: number): RttResult =>
    failedRtt(
      'udp',
      { src: 'a', dst: 'b', target: '127.0.0.2:4789', time_ms, duration_ms: 600 },
      'refused',
      REFUSED,
    );
  const answered = (time_ms: number): RttResult => rttResult('a', 'b', time_ms, [1, 1, 1, 1, 1]);
  /** The first of run()'s evaluations (every 5 s) at or after `t`. */
  const evaluatedAt = (t: number) => Math.ceil(t / 5000) * 5000;

  /**
   * a's rounds towards b every 10 s from `from` (ms after NOW) until `to`, refused while `refused(t)`,
   * each evaluated as it arrives and every 5 s between (the loop's interval): every event, in order.
   */
  const run = (from: number, to: number, refused: (t: number) => boolean) => {
    const events = [];
    for (let t = from; t < to; t += 5000) {
      if (t % 10_000 === 0) ingest(refused(t) ? refusedRound(NOW + t) : answered(NOW + t));
      events.push(...evaluate(NOW + t));
    }
    return events;
  };

  beforeEach(() => {
    topology = defaults();
    ingest(...goodRounds('a', 'b'));
  });

  it('raises measurement_failing for b, the site whose reflector refuses, once refusals last alerts.for', () => {
    const events = run(10_000, 100_000, (t) => t >= 10_000);
    expect(events.map((e) => [e.dedup_key, e.status, e.severity, e.time_ms - NOW])).toEqual([
      [
        'wanwatch/measurement_failing/b/refused',
        'firing',
        'critical',
        evaluatedAt(10_000 + topology.alerts.for),
      ],
    ]);
    expect(events[0]).toMatchObject({
      rule: 'measurement_failing',
      subject: { kind: 'agent', site: 'b' },
      started_at_ms: NOW + 10_000,
      observed: 100,
      threshold: 0,
      unit: 'percent',
      cause: { code: 'refused', message: REFUSED },
      summary: `the reflector at b refuses its peers' probes (100 % of their latest rounds towards it): refused: ${REFUSED}`,
    });
    // a measures as ever: none of its own causes, no link alert.
    expect([...evaluator.alertStates()].filter(([, s]) => s.status !== 'ok').map(([k]) => k)).toEqual([
      'wanwatch/measurement_failing/b/refused',
    ]);
    expect(direction('a', 'b', NOW + 95_000)).toMatchObject({ not_measured: { code: 'refused' } });
  });

  it('pages nobody for a restart: refusals shorter than alerts.for return to ok silently', () => {
    // Two rounds refused (a restart of up to 20 s), answered again from then on: pending, never firing.
    const restart = (t: number) => t === 10_000 || t === 20_000;
    expect(run(10_000, 30_000, restart)).toEqual([]);
    expect(status('wanwatch/measurement_failing/b/refused')).toBe('pending');
    expect(run(30_000, 200_000, restart)).toEqual([]);
    expect(status('wanwatch/measurement_failing/b/refused')).toBe('ok');
  });

  it('resolves once the rounds towards b are answered again (after clear_for)', () => {
    expect(run(10_000, 80_000, () => true).map((e) => e.status)).toEqual(['firing']);
    const events = run(80_000, 220_000, () => false);
    expect(events.map((e) => [e.dedup_key, e.status, e.summary, e.time_ms - NOW])).toEqual([
      [
        'wanwatch/measurement_failing/b/refused',
        'resolved',
        'the reflector at b answers its peers again (no more refused)',
        evaluatedAt(80_000 + topology.alerts.clear_for),
      ],
    ]);
  });
});

describe('an agent without the ICMP privilege', () => {
  it('raises one measurement_failing for its site naming permission_denied and what to do, and no link alert', () => {
    ingest(
      ...[30_000, 20_000, 10_000].map((ago) =>
        couldNotRun('a', 'b', NOW - ago, 'permission_denied', NO_PRIVILEGE),
      ),
      ...goodRounds('b', 'a'),
    );
    const events = evaluate();
    expect(events.map((e) => [e.dedup_key, e.status, e.severity])).toEqual([
      ['wanwatch/measurement_failing/a/permission_denied', 'firing', 'critical'],
    ]);
    expect(events[0]).toMatchObject({
      rule: 'measurement_failing',
      subject: { kind: 'agent', site: 'a' },
      observed: 100,
      threshold: 0,
      unit: 'percent',
      cause: { code: 'permission_denied', message: NO_PRIVILEGE },
      summary: `the agent at a cannot measure (100 % of its latest measurements): permission_denied: ${NO_PRIVILEGE}`,
    });
    for (const rule of ['link_down', 'loss_high', 'rtt_high'])
      expect(status(`wanwatch/${rule}/a--b`)).toBe('ok');
    expect(direction('a', 'b')).toMatchObject({
      state: 'unknown',
      rounds_in_window: 0,
      not_measured: { code: 'permission_denied', message: NO_PRIVILEGE, time_ms: NOW - 10_000 },
    });
  });

  it('resolves once the site measures again', () => {
    ingest(couldNotRun('a', 'b', NOW - 20_000, 'permission_denied', NO_PRIVILEGE));
    expect(evaluate().map((e) => e.status)).toEqual(['firing']);
    ingest(rttResult('a', 'b', NOW + 5000, [1, 1, 1]));
    const events = evaluate(NOW + 10_000);
    expect(events.map((e) => [e.dedup_key, e.status, e.summary])).toEqual([
      [
        'wanwatch/measurement_failing/a/permission_denied',
        'resolved',
        'the agent at a measures again (no more permission_denied)',
      ],
    ]);
  });

  it('treats a name that does not resolve as not measured: measurement_failing names dns, link_down stays ok', () => {
    ingest(
      couldNotRun('a', 'b', NOW - 10_000, 'dns', 'cannot resolve "b.example.net": getaddrinfo ENOTFOUND'),
    );
    expect(evaluate().map((e) => e.dedup_key)).toEqual(['wanwatch/measurement_failing/a/dns']);
    expect(status('wanwatch/link_down/a--b')).toBe('ok');
  });

  it('still pages link_down when the latest measured round lost every probe, whatever came after unmeasured', () => {
    ingest(
      rttResult('a', 'b', NOW - 20_000, [null, null, null]),
      couldNotRun('a', 'b', NOW - 10_000, 'internal', 'icmp probe threw: a bug'),
    );
    const events = evaluate();
    expect(events.map((e) => e.dedup_key).sort()).toEqual([
      'wanwatch/link_down/a--b',
      'wanwatch/loss_high/a--b',
      'wanwatch/measurement_failing/a/internal',
    ]);
  });
});

describe('failing throughput tests', () => {
  /** A slot of the plan: a forward and a reverse test of a towards b. */
  const slot = (time_ms: number, ok: boolean) =>
    ok
      ? [
          throughputResult('a', 'b', time_ms, 9e6, 'forward'),
          throughputResult('a', 'b', time_ms + 6000, 8e6, 'reverse'),
        ]
      : [failedTest('a', 'b', time_ms), failedTest('a', 'b', time_ms + 6000)];

  it('fire throughput_failing after three failed tests, show the goodput as stale with the failure, and resolve on success', () => {
    ingest(...slot(NOW - 230_000, true), ...slot(NOW - 120_000, false));
    expect(evaluate().filter((e) => e.rule === 'throughput_failing')).toEqual([]);
    expect(status('wanwatch/throughput_failing/a--b')).toBe('ok');
    ingest(...slot(NOW - 60_000, false));
    const [firing, ...others] = evaluate();
    expect(others).toEqual([]);
    expect(firing).toMatchObject({
      dedup_key: 'wanwatch/throughput_failing/a--b',
      status: 'firing',
      severity: 'warning',
      observed: 100,
      cause: { code: 'refused' },
      summary:
        'throughput tests keep failing on a ↔ b (a → b 100 % failed, b → a 100 % failed): refused: ' +
        'iperf3 against 127.0.0.2:5201: connection refused: is its iperf3 server running?',
    });
    // The last goodput is 230 s old: more than three 60 s cycles, shown but stale, and no longer judged.
    expect(direction('a', 'b')).toMatchObject({
      goodput_bps: 9e6,
      goodput_stale: true,
      last_throughput_ms: NOW - 230_000,
      throughput_failure: { code: 'refused', consecutive: 4, time_ms: NOW - 54_000 },
      alerts: { throughput_failing: 'firing', goodput_low: 'ok' },
    });
    ingest(...slot(NOW - 5000, true));
    expect(evaluate(NOW + 5000).map((e) => [e.dedup_key, e.status, e.summary])).toEqual([
      ['wanwatch/throughput_failing/a--b', 'resolved', 'throughput tests succeed again on a ↔ b'],
    ]);
    expect(direction('a', 'b', NOW + 5000)).toMatchObject({ goodput_stale: false, throughput_failure: null });
  });

  it('counts a test cut short by shutdown neither as failed nor as a success', () => {
    ingest(
      ...slot(NOW - 200_000, true),
      failedTest('a', 'b', NOW - 130_000),
      failedTest('a', 'b', NOW - 124_000, 'cancelled'),
      failedTest('a', 'b', NOW - 60_000),
    );
    expect(status('wanwatch/throughput_failing/a--b')).toBe('ok');
    evaluate();
    expect(status('wanwatch/throughput_failing/a--b')).toBe('ok');
    ingest(failedTest('a', 'b', NOW - 54_000));
    evaluate();
    expect(status('wanwatch/throughput_failing/a--b')).toBe('firing');
  });

  it('fire for the direction whose tests fail, though the other site’s tests succeed (tests without -R)', () => {
    topology = parseTopology(yaml('{interval: 1m, duration: 5s, omit: 0s, reverse: false}'));
    for (const ago of [180_000, 120_000, 60_000])
      ingest(failedTest('a', 'b', NOW - ago), throughputResult('b', 'a', NOW - ago + 10_000, 9e6, 'forward'));
    const events = evaluate();
    expect(events.map((e) => [e.dedup_key, e.subject])).toEqual([
      [
        'wanwatch/throughput_failing/a--b',
        { kind: 'link', sites: ['a', 'b'], worst: { src: 'a', dst: 'b' } },
      ],
    ]);
    expect(events[0]?.directions).toEqual([
      { src: 'a', dst: 'b', breach: true, observed: 100 },
      { src: 'b', dst: 'a', breach: false, observed: 0 },
    ]);
  });

  it('fire after as many failed tests as alerts.throughput_failures says, a whole number from 1', () => {
    topology = parseTopology(yaml().replace('window: 5m}', 'window: 5m, throughput_failures: 1}'));
    ingest(...slot(NOW - 120_000, true), failedTest('a', 'b', NOW - 60_000));
    expect(evaluate().map((e) => e.dedup_key)).toEqual(['wanwatch/throughput_failing/a--b']);
    expect(() => parseTopology(yaml().replace('window: 5m}', 'window: 5m, throughput_failures: 0}'))).toThrow(
      /alerts\.throughput_failures/,
    );
  });

  it('resolve a firing throughput_failing when throughput tests are turned off', () => {
    ingest(...slot(NOW - 120_000, false), ...slot(NOW - 60_000, false));
    evaluate();
    expect(status('wanwatch/throughput_failing/a--b')).toBe('firing');
    const off = parseTopology(yaml('{enabled: false}'));
    expect(evaluate(NOW + 1000, off).map((e) => [e.dedup_key, e.status, e.summary])).toEqual([
      [
        'wanwatch/throughput_failing/a--b',
        'resolved',
        'throughput tests succeed again on a ↔ b (throughput tests are off)',
      ],
    ]);
  });

  it('raise measurement_failing for a test that could not run only when the one before it failed the same way', () => {
    ingest(
      ...goodRounds('a', 'b'),
      ...slot(NOW - 120_000, true),
      failedTest('a', 'b', NOW - 60_000, 'internal'),
    );
    expect(evaluate()).toEqual([]);
    ingest(failedTest('a', 'b', NOW - 54_000, 'internal'));
    expect(evaluate().map((e) => [e.dedup_key, e.observed])).toEqual([
      ['wanwatch/measurement_failing/a/internal', 50],
    ]);
  });
});

describe('a result dated in the future', () => {
  it('never hides a present failure: a round a year ahead, then rounds that lose every probe, raise link_down', () => {
    const year = 365 * 86_400_000;
    ingest(rttResult('a', 'b', NOW + year, [1, 1, 1]));
    ingest(...[30_000, 20_000, 10_000].map((ago) => rttResult('a', 'b', NOW - ago, [null, null, null])));
    const events = evaluate();
    expect(events.map((e) => e.dedup_key).sort()).toEqual([
      'wanwatch/link_down/a--b',
      'wanwatch/loss_high/a--b',
    ]);
    // Windows end at now: the future round's samples count nowhere, and it is not "the latest result".
    expect(direction('a', 'b')).toMatchObject({
      loss_percent: 100,
      rtt_ms: null,
      rounds_in_window: 3,
      last_result_ms: NOW - 10_000,
    });
  });

  it('does not stand as goodput before its time', () => {
    ingest(throughputResult('a', 'b', NOW - 60_000, 2e6), throughputResult('a', 'b', NOW + 86_400_000, 9e6));
    const [goodput] = evaluate();
    expect(goodput).toMatchObject({ dedup_key: 'wanwatch/goodput_low/a--b', observed: 2e6 });
  });
});

describe('rows an InfluxDB output refused', () => {
  // Two outputs: one named, one known by its URL and database.
  const withOutputs = () =>
    parseTopology(`${yaml()}outputs:
  - {type: influxdb, version: 1, url: "http://127.0.0.1:8086", db: wanwatch, name: tsdb}
  - {type: influxdb, version: 1, url: "http://127.0.0.1:8086/", db: other}
`);
  const setAside = (sink: string, seq: number, time_ms: number) =>
    new RefusedRows(store.db).add({
      sink,
      stream: 'results',
      seq,
      time_ms,
      reason: 'not written: its time 2300-01-01T00:00:00.000Z is outside what InfluxDB can store',
      line: null,
    });

  it('raise output_rows_refused for that output, a warning, while any was set aside within the window', () => {
    const t = withOutputs();
    expect(evaluate(NOW, t)).toEqual([]);
    setAside('tsdb', 7, NOW - 4 * 60_000);
    setAside('tsdb', 9, NOW - 60_000);
    const events = evaluate(NOW, t);
    expect(events.map((e) => [e.dedup_key, e.status, e.severity])).toEqual([
      ['wanwatch/output_rows_refused/tsdb', 'firing', 'warning'],
    ]);
    expect(events[0]).toMatchObject({
      rule: 'output_rows_refused',
      subject: { kind: 'output', output: 'tsdb' },
      link: null,
      directions: [],
      observed: 2,
      threshold: 0,
      unit: 'rows',
      summary:
        'output tsdb: InfluxDB refused 2 rows in the alert window; they are set aside, not written ' +
        '(GET /api/v1/outputs shows each and why), and the rows after them go on',
    });
    expect(status('wanwatch/output_rows_refused/influxdb:http://127.0.0.1:8086?db=other')).toBe('ok');
  });

  it('resolve once none was set aside for a whole window (set-asides dated after now do not count yet)', () => {
    const t = withOutputs();
    setAside('influxdb:http://127.0.0.1:8086?db=other', 3, NOW - 1000);
    expect(evaluate(NOW, t).map((e) => [e.dedup_key, e.status])).toEqual([
      ['wanwatch/output_rows_refused/influxdb:http://127.0.0.1:8086?db=other', 'firing'],
    ]);
    // Still inside the 5-minute window: still firing.
    expect(evaluate(NOW + 4 * 60_000, t)).toEqual([]);
    const later = evaluate(NOW + 5 * 60_000, t);
    expect(later.map((e) => [e.dedup_key, e.status, e.summary])).toEqual([
      [
        'wanwatch/output_rows_refused/influxdb:http://127.0.0.1:8086?db=other',
        'resolved',
        'output influxdb:http://127.0.0.1:8086?db=other: InfluxDB refused no rows for the alert window',
      ],
    ]);
    setAside('tsdb', 1, NOW + 10 * 60_000);
    expect(evaluate(NOW + 6 * 60_000, t)).toEqual([]);
  });

  it('resolve a firing alert when its output leaves outputs:', () => {
    setAside('tsdb', 1, NOW - 1000);
    expect(evaluate(NOW, withOutputs()).map((e) => e.status)).toEqual(['firing']);
    expect(evaluate(NOW + 1000).map((e) => [e.dedup_key, e.status])).toEqual([
      ['wanwatch/output_rows_refused/tsdb', 'resolved'],
    ]);
  });
});
