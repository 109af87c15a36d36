import { describe, expect, it } from 'vitest';
import type { AlertDirection, AlertSubject } from '../../../collector/alerts/event.ts';
import {
  type DirectionView,
  dedupKey,
  evaluateSubjects,
  linkDedupKey,
  type StoredAlertState,
  type Subject,
  subjectsOf,
} from '../../../collector/alerts/rules.ts';
import {
  type AlertState,
  type HysteresisSettings,
  INITIAL_STATE,
  type Observation,
  step,
  type Transition,
} from '../../../collector/alerts/state.ts';
import { summarize } from '../../../collector/alerts/summary.ts';
import { parseTopology } from '../../../shared/config/load.ts';
import { deriveLinks } from '../../../shared/topology/requirements.ts';
import { twoSites } from '../../../testbed/topologies.ts';

const S: HysteresisSettings = { for_ms: 60_000, clear_for_ms: 120_000, repeat_interval_ms: 3_600_000 };
const breach = (v = 90): Observation => ({ breach: true, observed: v, threshold: 80 });
const ok = (v = 20): Observation => ({ breach: false, observed: v, threshold: 80 });
const unknown: Observation = { breach: null, observed: null, threshold: 80 };

/** Runs observations at the given times (ms) and collects every event with its time. */
function run(seq: [number, Observation][], settings = S, from: AlertState = INITIAL_STATE) {
  let state = from;
  const events: [number, Transition][] = [];
  const statuses: string[] = [];
  for (const [t, o] of seq) {
    const r = step(state, o, t, settings);
    state = r.state;
    for (const e of r.events) events.push([t, e]);
    statuses.push(state.status);
  }
  return { state, events, statuses };
}

describe('alert state machine', () => {
  it('goes pending on a breach and fires once the breach has lasted `for`', () => {
    const r = run([
      [0, breach()],
      [30_000, breach()],
      [59_999, breach()],
      [60_000, breach(95)],
      [90_000, breach()],
    ]);
    expect(r.statuses).toEqual(['pending', 'pending', 'pending', 'firing', 'firing']);
    expect(r.events).toEqual([[60_000, 'firing']]);
    expect(r.state).toMatchObject({ since_ms: 0, fired_at_ms: 60_000, observed: 90 });
  });

  it('does not page for a breach shorter than `for`, however often it flaps', () => {
    const seq: [number, Observation][] = [];
    for (let t = 0; t < 3_600_000; t += 10_000) seq.push([t, (t / 10_000) % 4 < 3 ? breach() : ok()]);
    const r = run(seq);
    expect(r.events).toEqual([]);
    expect(new Set(r.statuses)).toEqual(new Set(['pending', 'ok']));
  });

  it('does not page twice for a firing link that flaps: recovery must last clear_for', () => {
    const seq: [number, Observation][] = [
      [0, breach()],
      [60_000, breach()],
    ];
    // 30 minutes of 1 minute up, 1 minute down.
    for (let t = 120_000; t < 1_920_000; t += 60_000) seq.push([t, (t / 60_000) % 2 === 0 ? ok() : breach()]);
    const r = run(seq);
    expect(r.events).toEqual([[60_000, 'firing']]);
    expect(r.state.status).toBe('firing');
  });

  it('resolves once recovery has lasted clear_for, and a breach during recovery restarts it', () => {
    const r = run([
      [0, breach()],
      [60_000, breach()],
      [100_000, ok()],
      [200_000, breach()], // recovery interrupted
      [210_000, ok()],
      [329_999, ok()],
      [330_000, ok(15)],
      [340_000, ok()],
    ]);
    expect(r.events).toEqual([
      [60_000, 'firing'],
      [330_000, 'resolved'],
    ]);
    expect(r.statuses.slice(-2)).toEqual(['resolved', 'resolved']);
    expect(r.state).toMatchObject({ resolved_at_ms: 330_000, observed: 20 });
  });

  it('reminds every repeat_interval while firing', () => {
    const seq: [number, Observation][] = [];
    for (let t = 0; t <= 4 * 3_600_000 + 60_000; t += 60_000) seq.push([t, breach()]);
    const r = run(seq);
    expect(r.events).toEqual([
      [60_000, 'firing'],
      [3_660_000, 'reminder'],
      [7_260_000, 'reminder'],
      [10_860_000, 'reminder'],
      [14_460_000, 'reminder'],
    ]);
  });

  it('treats missing data as no change: it neither fires nor resolves', () => {
    const pending = run([
      [0, breach()],
      [70_000, unknown],
    ]);
    expect(pending.statuses).toEqual(['pending', 'pending']);
    const firing = run([
      [0, breach()],
      [60_000, breach()],
      [100_000, ok()],
      [500_000, unknown],
    ]);
    expect(firing.events).toEqual([[60_000, 'firing']]);
  });

  it('fires at once with for = 0 and resolves at once with clear_for = 0', () => {
    const r = run(
      [
        [0, breach()],
        [1, ok()],
      ],
      { for_ms: 0, clear_for_ms: 0, repeat_interval_ms: 1000 },
    );
    expect(r.events).toEqual([
      [0, 'firing'],
      [1, 'resolved'],
    ]);
  });

  it('starts a new pending period after a resolved alert breaches again', () => {
    const r = run([
      [0, breach()],
      [60_000, breach()],
      [61_000, ok()],
      [181_000, ok()],
      [200_000, breach()],
      [260_000, breach()],
    ]);
    expect(r.events.map((e) => e[1])).toEqual(['firing', 'resolved', 'firing']);
    expect(r.state).toMatchObject({ since_ms: 200_000, fired_at_ms: 260_000, resolved_at_ms: null });
  });
});

describe('evaluating subjects into alert events', () => {
  const link = {
    sites: ['dallas', 'london'] as [string, string],
    subclusters: ['sc1'],
    required_mbps: 5,
    max_rtt_ms: 80,
    max_loss_percent: 1,
    derivation: '1 × 5 Mbps (sc1) = 5 Mbps',
  };
  const subject = (obs: Observation): Subject => ({
    dedup_key: dedupKey('rtt_high', { kind: 'link', sites: ['dallas', 'london'], worst: null }),
    rule: 'rtt_high',
    subject: { kind: 'link', sites: ['dallas', 'london'], worst: { src: 'dallas', dst: 'london' } },
    link,
    observation: obs,
    directions: [
      { src: 'dallas', dst: 'london', breach: obs.breach, observed: obs.observed },
      { src: 'london', dst: 'dallas', breach: false, observed: 79.4 },
    ],
  });

  it('uses a deterministic dedup key per rule and link (sites sorted), or per rule and agent', () => {
    expect(subject(ok()).dedup_key).toBe('wanwatch/rtt_high/dallas--london');
    expect(linkDedupKey('rtt_high', 'london', 'dallas')).toBe('wanwatch/rtt_high/dallas--london');
    expect(dedupKey('agent_down', { kind: 'agent', site: 'dallas' })).toBe('wanwatch/agent_down/dallas');
  });

  it('emits a firing event with observed, threshold, unit, each direction and a summary naming the breaching one', () => {
    const settings = { ...S, for_ms: 0 };
    const { events, changes } = evaluateSubjects([subject(breach(83.14))], new Map(), 1000, settings, 'p95');
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({
      dedup_key: 'wanwatch/rtt_high/dallas--london',
      status: 'firing',
      reminder: false,
      severity: 'warning',
      subject: { kind: 'link', sites: ['dallas', 'london'], worst: { src: 'dallas', dst: 'london' } },
      observed: 83.14,
      threshold: 80,
      unit: 'ms',
      directions: [
        { src: 'dallas', dst: 'london', breach: true, observed: 83.14 },
        { src: 'london', dst: 'dallas', breach: false, observed: 79.4 },
      ],
      summary: 'p95 RTT 83.1 ms > 80 ms on dallas ↔ london (dallas → london 83.1 ms)',
      started_at_ms: 1000,
      fired_at_ms: 1000,
      resolved_at_ms: null,
    });
    expect(changes.get('wanwatch/rtt_high/dallas--london')?.status).toBe('firing');
  });

  it('keeps the direction an alert last reported while neither direction has data', () => {
    const settings = { ...S, for_ms: 0 };
    const first = evaluateSubjects([subject(breach(90))], new Map(), 1000, settings, 'p95');
    const states = new Map([...first.changes].map(([k, v]) => [k, v as StoredAlertState]));
    const silent: Subject = {
      ...subject(unknown),
      subject: { kind: 'link', sites: ['dallas', 'london'], worst: null },
      directions: [
        { src: 'dallas', dst: 'london', breach: null, observed: null },
        { src: 'london', dst: 'dallas', breach: null, observed: null },
      ],
    };
    const { changes, events } = evaluateSubjects([silent], states, 2000, settings, 'p95');
    expect(events).toEqual([]);
    expect(changes.size).toBe(0);
  });

  it('resolves a firing alert whose subject left the topology, and forgets it', () => {
    const firing: StoredAlertState = {
      ...INITIAL_STATE,
      status: 'firing',
      since_ms: 0,
      fired_at_ms: 60_000,
      last_notified_ms: 60_000,
      observed: 90,
      threshold: 80,
      rule: 'rtt_high',
      subject: { kind: 'link', sites: ['x', 'y'], worst: { src: 'x', dst: 'y' } },
      link: null,
      directions: [],
    };
    const { events, changes } = evaluateSubjects(
      [],
      new Map([['wanwatch/rtt_high/x--y', firing]]),
      90_000,
      S,
      'p95',
    );
    expect(events.map((e) => [e.status, e.summary])).toEqual([
      ['resolved', 'p95 RTT 90 ms ≤ 80 ms on x ↔ y (no longer in the topology)'],
    ]);
    expect(changes.get('wanwatch/rtt_high/x--y')).toBeNull();
  });

  it('resolves a per-direction alert kept by an older collector under its old key, naming the per-link key', () => {
    // The shape migration 3 gives a state stored as "wanwatch/rtt_high/london->dallas".
    const legacy: StoredAlertState = {
      ...INITIAL_STATE,
      status: 'firing',
      since_ms: 0,
      fired_at_ms: 60_000,
      last_notified_ms: 60_000,
      observed: 90,
      threshold: 80,
      rule: 'rtt_high',
      subject: { kind: 'link', sites: ['dallas', 'london'], worst: { src: 'london', dst: 'dallas' } },
      link,
      directions: [],
    };
    const { events, changes } = evaluateSubjects(
      [subject(breach(90))],
      new Map([['wanwatch/rtt_high/london->dallas', legacy]]),
      90_000,
      S,
      'p95',
    );
    expect(events.map((e) => [e.dedup_key, e.status, e.summary])).toEqual([
      [
        'wanwatch/rtt_high/london->dallas',
        'resolved',
        'p95 RTT 90 ms ≤ 80 ms on dallas ↔ london (now alerted per link as wanwatch/rtt_high/dallas--london)',
      ],
    ]);
    expect(changes.get('wanwatch/rtt_high/london->dallas')).toBeNull();
    expect(changes.get('wanwatch/rtt_high/dallas--london')?.status).toBe('pending');
  });
});

describe('one alert per rule and link, observed in both directions', () => {
  const topology = parseTopology(twoSites());
  const [ab] = deriveLinks(topology);
  const view = (src: string, dst: string, rtt: number | null, goodput: number | null): DirectionView => ({
    src,
    dst,
    link: ab!,
    rtt_statistic: 'p95',
    rounds: 10,
    last_result_ms: 0,
    not_measured: null,
    goodput_bps: goodput,
    last_throughput_ms: null,
    goodput_stale: false,
    throughput_failure: null,
    latest: [],
    reflector_round: null,
    observations: {
      rtt_high: { breach: rtt === null ? null : rtt > 80, observed: rtt, threshold: 80 },
      loss_high: { breach: false, observed: 0, threshold: 50 },
      goodput_low: { breach: goodput === null ? null : goodput < 5e6, observed: goodput, threshold: 5e6 },
      link_down: { breach: false, observed: 0, threshold: 100 },
      throughput_failing: { breach: null, observed: null, threshold: 100 },
    },
  });
  const subjects = (views: DirectionView[]) =>
    subjectsOf(topology, views, new Map(), 0, 0).filter((s) => s.subject.kind === 'link');

  it('has one subject per link rule for a link, not one per direction', () => {
    const s = subjects([view('a', 'b', 20, null), view('b', 'a', 21, null)]);
    expect(s.map((x) => x.dedup_key)).toEqual([
      'wanwatch/rtt_high/a--b',
      'wanwatch/loss_high/a--b',
      'wanwatch/goodput_low/a--b',
      'wanwatch/link_down/a--b',
      'wanwatch/throughput_failing/a--b',
    ]);
  });

  it('breaches when either direction breaches, and reports the worse direction', () => {
    const [, , goodput] = subjects([view('a', 'b', 20, 4e6), view('b', 'a', 21, 6e6)]);
    expect(goodput?.observation).toEqual({ breach: true, observed: 4e6, threshold: 5e6 });
    expect(goodput?.subject).toEqual({ kind: 'link', sites: ['a', 'b'], worst: { src: 'a', dst: 'b' } });
    const [rtt] = subjects([view('a', 'b', 90.1, null), view('b', 'a', 90.3, null)]);
    expect(rtt?.observation).toEqual({ breach: true, observed: 90.3, threshold: 80 });
    expect(rtt?.subject).toMatchObject({ worst: { src: 'b', dst: 'a' } });
  });

  it('takes the worse value when neither breaches, the known one when one is unknown, and is unknown only when both are', () => {
    const [rtt, , goodput] = subjects([view('a', 'b', 30, 9e6), view('b', 'a', 25, 7e6)]);
    expect(rtt?.observation).toEqual({ breach: false, observed: 30, threshold: 80 });
    expect(goodput?.observation).toEqual({ breach: false, observed: 7e6, threshold: 5e6 });
    const [half] = subjects([view('a', 'b', null, null), view('b', 'a', 95, null)]);
    expect(half?.observation).toEqual({ breach: true, observed: 95, threshold: 80 });
    const [, , none] = subjects([view('a', 'b', null, null), view('b', 'a', null, null)]);
    expect(none?.observation).toEqual({ breach: null, observed: null, threshold: 5e6 });
    expect(none?.subject).toMatchObject({ worst: null });
  });

  it('names every breaching direction in the summary of one firing event', () => {
    const [rtt] = subjects([view('a', 'b', 90.3, null), view('b', 'a', 90.1, null)]);
    const { events } = evaluateSubjects([rtt!], new Map(), 0, { ...S, for_ms: 0 }, 'p95');
    expect(events.map((e) => e.summary)).toEqual([
      'p95 RTT 90.3 ms > 80 ms on a ↔ b (a → b 90.3 ms, b → a 90.1 ms)',
    ]);
  });

  it('summarises goodput, loss and link down per link', () => {
    const dirs: AlertDirection[] = [
      { src: 'b', dst: 'c', breach: true, observed: 7_720_000 },
      { src: 'c', dst: 'b', breach: false, observed: 10_500_000 },
    ];
    const bc: AlertSubject = { kind: 'link', sites: ['b', 'c'], worst: { src: 'b', dst: 'c' } };
    expect(summarize('goodput_low', bc, 'firing', 7_720_000, 10e6, 'p95', dirs)).toBe(
      'goodput 7.72 Mbps < 10 Mbps required on b ↔ c (b → c 7.72 Mbps)',
    );
    expect(
      summarize('goodput_low', bc, 'resolved', 10.2e6, 10e6, 'p95', [
        { ...dirs[0]!, breach: false, observed: 10.2e6 },
        dirs[1]!,
      ]),
    ).toBe('goodput 10.2 Mbps ≥ 10 Mbps required on b ↔ c (b → c 10.2 Mbps, c → b 10.5 Mbps)');
    expect(summarize('loss_high', bc, 'firing', 2.5, 1, 'p95', [{ ...dirs[0]!, observed: 2.5 }])).toBe(
      'loss 2.5 % > 1 % on b ↔ c (b → c 2.5 %)',
    );
    expect(summarize('link_down', bc, 'firing', 100, 100, 'p95', [{ ...dirs[0]!, observed: 100 }])).toBe(
      'b ↔ c is down: the latest RTT round lost every probe (b → c)',
    );
    expect(summarize('link_down', bc, 'resolved', 0, 100, 'p95', dirs)).toBe('b ↔ c is up again');
  });
});
