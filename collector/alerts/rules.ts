// The alert rules: what is observed for each link direction and each agent, and how a transition of
// the state machine (state.ts) becomes an AlertEvent. Pure, given the results handed in.
import type { RttStatistic } from '../../shared/config/schema.ts';
import type { RttResult, ThroughputResult } from '../../shared/result.ts';
import type { Topology } from '../../shared/topology/model.ts';
import type { LinkRequirement } from '../../shared/topology/requirements.ts';
import type { AlertEvent, AlertLinkContext, AlertRule, AlertSubject } from './event.ts';
import {
  agentObservation,
  goodputObservation,
  linkDownObservation,
  lossObservation,
  rttObservation,
} from './observe.ts';
import {
  type AlertState,
  type HysteresisSettings,
  INITIAL_STATE,
  type Observation,
  step,
  type Transition,
} from './state.ts';

/** What the rules read; the store implements it. */
export interface ResultSource {
  rttResults(src: string, dst: string, fromMs: number): RttResult[];
  latestRtt(src: string, dst: string): RttResult | undefined;
  throughputResults(a: string, b: string, fromMs: number): ThroughputResult[];
}

export const LINK_RULES = ['rtt_high', 'loss_high', 'goodput_low', 'link_down'] as const;
export type LinkRule = (typeof LINK_RULES)[number];

export interface DirectionView {
  src: string;
  dst: string;
  link: LinkRequirement;
  rtt_statistic: RttStatistic;
  rounds: number;
  last_result_ms: number | null;
  last_throughput_ms: number | null;
  observations: Record<LinkRule, Observation>;
}

export interface Subject {
  dedup_key: string;
  rule: AlertRule;
  subject: AlertSubject;
  link: AlertLinkContext | null;
  observation: Observation;
}

export const dedupKey = (rule: AlertRule, subject: AlertSubject): string =>
  subject.kind === 'link'
    ? `wanwatch/${rule}/${subject.src}->${subject.dst}`
    : `wanwatch/${rule}/${subject.site}`;

export function linkContext(l: LinkRequirement): AlertLinkContext {
  return {
    sites: l.sites,
    subclusters: l.subclusters,
    required_mbps: l.required_mbps,
    max_rtt_ms: l.max_rtt_ms,
    max_loss_percent: l.max_loss_percent,
    derivation: l.derivation,
  };
}

/** How far back goodput counts: a test older than two throughput cycles (or the window) is stale. */
export function throughputHorizonMs(topology: Topology): number {
  const t = topology.probes.throughput;
  return Math.max(topology.alerts.window, 2 * t.interval + 2 * (t.duration + t.omit));
}

/** Observes every rule on both directions of every link. */
export function observeLinks(
  topology: Topology,
  links: readonly LinkRequirement[],
  source: ResultSource,
  now: number,
): DirectionView[] {
  const windowStart = now - topology.alerts.window;
  const statistic = topology.thresholds.rtt_statistic;
  const views: DirectionView[] = [];
  for (const link of links) {
    const [a, b] = link.sites;
    const tests = source.throughputResults(a, b, now - throughputHorizonMs(topology));
    for (const [src, dst] of [
      [a, b],
      [b, a],
    ] as const) {
      const rounds = source.rttResults(src, dst, windowStart);
      const latest = source.latestRtt(src, dst);
      const goodput = goodputObservation(tests, src, dst, link.required_mbps * 1e6);
      const flowing = tests.filter((t) => t.throughput && t.error === null);
      views.push({
        src,
        dst,
        link,
        rtt_statistic: statistic,
        rounds: rounds.length,
        last_result_ms: latest?.time_ms ?? null,
        last_throughput_ms: flowing.length > 0 ? Math.max(...flowing.map((t) => t.time_ms)) : null,
        observations: {
          rtt_high: rttObservation(rounds, statistic, link.max_rtt_ms),
          loss_high: lossObservation(rounds, link.max_loss_percent),
          goodput_low: goodput,
          link_down: linkDownObservation(latest, windowStart),
        },
      });
    }
  }
  return views;
}

export function subjectsOf(
  topology: Topology,
  views: readonly DirectionView[],
  heartbeats: ReadonlyMap<string, number>,
  startedAtMs: number,
  now: number,
): Subject[] {
  const subjects: Subject[] = [];
  for (const v of views) {
    const subject: AlertSubject = { kind: 'link', src: v.src, dst: v.dst };
    const link = linkContext(v.link);
    for (const rule of LINK_RULES) {
      subjects.push({
        dedup_key: dedupKey(rule, subject),
        rule,
        subject,
        link,
        observation: v.observations[rule],
      });
    }
  }
  const hb = topology.probes.heartbeat;
  for (const site of topology.sites.keys()) {
    const subject: AlertSubject = { kind: 'agent', site };
    subjects.push({
      dedup_key: dedupKey('agent_down', subject),
      rule: 'agent_down',
      subject,
      link: null,
      observation: agentObservation(heartbeats.get(site) ?? null, startedAtMs, now, hb.interval + hb.timeout),
    });
  }
  return subjects;
}

export interface StoredAlertState extends AlertState {
  /** The subject, kept so a state whose subject left the topology can still be resolved and shown. */
  rule: AlertRule;
  subject: AlertSubject;
  link: AlertLinkContext | null;
}

/**
 * Steps every subject's state machine. States whose subject is gone from the topology are dropped,
 * resolving them first when they were firing.
 */
export function evaluateSubjects(
  subjects: readonly Subject[],
  states: ReadonlyMap<string, StoredAlertState>,
  now: number,
  settings: HysteresisSettings,
  statistic: RttStatistic,
): { changes: Map<string, StoredAlertState | null>; events: AlertEvent[] } {
  const changes = new Map<string, StoredAlertState | null>();
  const events: AlertEvent[] = [];
  for (const s of subjects) {
    const before = states.get(s.dedup_key);
    const { state, events: transitions } = step(before ?? INITIAL_STATE, s.observation, now, settings);
    const after: StoredAlertState = { ...state, rule: s.rule, subject: s.subject, link: s.link };
    if (!before || JSON.stringify(before) !== JSON.stringify(after)) changes.set(s.dedup_key, after);
    for (const t of transitions) events.push(alertEvent(s.dedup_key, after, t, now, statistic));
  }
  const present = new Set(subjects.map((s) => s.dedup_key));
  for (const [key, state] of states) {
    if (present.has(key)) continue;
    if (state.status === 'firing') {
      const resolved: StoredAlertState = { ...state, status: 'resolved', resolved_at_ms: now };
      events.push(alertEvent(key, resolved, 'resolved', now, statistic, 'no longer in the topology'));
    }
    changes.set(key, null);
  }
  return { changes, events };
}

const SEVERITY: Record<AlertRule, AlertEvent['severity']> = {
  rtt_high: 'warning',
  loss_high: 'warning',
  goodput_low: 'warning',
  link_down: 'critical',
  agent_down: 'critical',
};

const UNIT: Record<AlertRule, AlertEvent['unit']> = {
  rtt_high: 'ms',
  loss_high: 'percent',
  goodput_low: 'bps',
  link_down: 'percent',
  agent_down: 's',
};

export function alertEvent(
  dedup_key: string,
  state: StoredAlertState,
  transition: Transition,
  now: number,
  statistic: RttStatistic,
  note?: string,
): AlertEvent {
  const status = transition === 'resolved' ? 'resolved' : 'firing';
  const summary = summarize(state.rule, state.subject, status, state.observed, state.threshold, statistic);
  return {
    dedup_key,
    rule: state.rule,
    status,
    reminder: transition === 'reminder',
    severity: SEVERITY[state.rule],
    subject: state.subject,
    started_at_ms: state.since_ms ?? now,
    fired_at_ms: state.fired_at_ms ?? now,
    resolved_at_ms: status === 'resolved' ? (state.resolved_at_ms ?? now) : null,
    time_ms: now,
    observed: state.observed,
    threshold: state.threshold,
    unit: UNIT[state.rule],
    summary: note ? `${summary} (${note})` : summary,
    link: state.link,
  };
}

const num = (n: number | null, digits = 1): string =>
  n === null ? '?' : String(Math.round(n * 10 ** digits) / 10 ** digits);
const mbps = (bps: number | null): string => (bps === null ? '?' : `${num(bps / 1e6, 2)} Mbps`);

/** One line for people, e.g. "p95 RTT 83.1 ms > 80 ms on dallas → london". */
export function summarize(
  rule: AlertRule,
  subject: AlertSubject,
  status: 'firing' | 'resolved',
  observed: number | null,
  threshold: number | null,
  statistic: RttStatistic,
): string {
  const on = subject.kind === 'link' ? `${subject.src} → ${subject.dst}` : subject.site;
  const firing = status === 'firing';
  switch (rule) {
    case 'rtt_high':
      return `${statistic} RTT ${num(observed)} ms ${firing ? '>' : '≤'} ${num(threshold)} ms on ${on}`;
    case 'loss_high':
      return `loss ${num(observed, 2)} % ${firing ? '>' : '≤'} ${num(threshold, 2)} % on ${on}`;
    case 'goodput_low':
      return `goodput ${mbps(observed)} ${firing ? '<' : '≥'} ${mbps(threshold)} required on ${on}`;
    case 'link_down':
      return firing ? `${on} is down: the latest RTT round lost every probe` : `${on} is up again`;
    case 'agent_down':
      return firing
        ? `the agent at ${on} sent no heartbeat for ${num(observed, 0)} s (limit ${num(threshold, 0)} s)`
        : `the agent at ${on} is sending heartbeats again`;
  }
}
