import { describe, expect, it } from 'vitest';
import {
  dedupKey,
  evaluateSubjects,
  type StoredAlertState,
  type Subject,
} from '../../collector/alerts/rules.ts';
import {
  type AlertState,
  type HysteresisSettings,
  INITIAL_STATE,
  type Observation,
  step,
  type Transition,
} from '../../collector/alerts/state.ts';

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
  const subject = (obs: Observation): Subject => ({
    dedup_key: dedupKey('rtt_high', { kind: 'link', src: 'dallas', dst: 'london' }),
    rule: 'rtt_high',
    subject: { kind: 'link', src: 'dallas', dst: 'london' },
    link: {
      sites: ['dallas', 'london'],
      subclusters: ['sc1'],
      required_mbps: 5,
      max_rtt_ms: 80,
      max_loss_percent: 1,
      derivation: '1 × 5 Mbps (sc1) = 5 Mbps',
    },
    observation: obs,
  });

  it('uses a deterministic dedup key per rule and subject', () => {
    expect(subject(ok()).dedup_key).toBe('wanwatch/rtt_high/dallas->london');
    expect(dedupKey('agent_down', { kind: 'agent', site: 'dallas' })).toBe('wanwatch/agent_down/dallas');
  });

  it('emits a firing event with observed, threshold, unit and a summary', () => {
    const settings = { ...S, for_ms: 0 };
    const { events, changes } = evaluateSubjects([subject(breach(83.14))], new Map(), 1000, settings, 'p95');
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({
      dedup_key: 'wanwatch/rtt_high/dallas->london',
      status: 'firing',
      reminder: false,
      severity: 'warning',
      observed: 83.14,
      threshold: 80,
      unit: 'ms',
      summary: 'p95 RTT 83.1 ms > 80 ms on dallas → london',
      started_at_ms: 1000,
      fired_at_ms: 1000,
      resolved_at_ms: null,
    });
    expect(changes.get('wanwatch/rtt_high/dallas->london')?.status).toBe('firing');
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
      subject: { kind: 'link', src: 'x', dst: 'y' },
      link: null,
    };
    const { events, changes } = evaluateSubjects(
      [],
      new Map([['wanwatch/rtt_high/x->y', firing]]),
      90_000,
      S,
      'p95',
    );
    expect(events.map((e) => [e.status, e.summary])).toEqual([
      ['resolved', 'p95 RTT 90 ms ≤ 80 ms on x → y (no longer in the topology)'],
    ]);
    expect(changes.get('wanwatch/rtt_high/x->y')).toBeNull();
  });
});
