// The alert rules: what is observed for each link direction and each agent, and how a transition of
// the state machine (state.ts) becomes an AlertEvent. Pure, given the results handed in.
//
// Rules are observed per direction (each side's agent measures its own view), but alerted per link:
// one state machine per rule and link, fed with the worse of the two directions. Both agents of a slow
// link measure the same round trip; two alerts for it would page twice for one problem.
import type { RttStatistic } from '../../shared/config/schema.ts';
import type { RttResult, ThroughputResult } from '../../shared/result.ts';
import type { Topology } from '../../shared/topology/model.ts';
import type { LinkRequirement } from '../../shared/topology/requirements.ts';
import { LINK_RULES, type LinkRule } from '../../shared/wire.ts';
import {
  type AlertDirection,
  type AlertEvent,
  type AlertLinkContext,
  type AlertRule,
  type AlertSubject,
  linkName,
  subjectText,
} from './event.ts';
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
  /** For a link: the worst direction's observation. */
  observation: Observation;
  /** For a link: each direction's observation (empty for agents). */
  directions: AlertDirection[];
}

/** "wanwatch/<rule>/<siteA>--<siteB>" (sites sorted) for links, "wanwatch/agent_down/<site>" for agents. */
export const dedupKey = (rule: AlertRule, subject: AlertSubject): string =>
  subject.kind === 'link'
    ? `wanwatch/${rule}/${linkName(subject.sites)}`
    : `wanwatch/${rule}/${subject.site}`;

/** The dedup key of a link rule, from the link's two sites in any order. */
export const linkDedupKey = (rule: AlertRule, a: string, b: string): string =>
  dedupKey(rule, { kind: 'link', sites: a < b ? [a, b] : [b, a], worst: null });

const BREACH_RANK = (b: boolean | null): number => (b === null ? 0 : b ? 2 : 1);

/** Whether direction x is worse than y for a rule: breaching first, then the worse value. */
function worse(rule: LinkRule, x: AlertDirection, y: AlertDirection): boolean {
  if (BREACH_RANK(x.breach) !== BREACH_RANK(y.breach)) return BREACH_RANK(x.breach) > BREACH_RANK(y.breach);
  if (x.observed === null) return false;
  if (y.observed === null) return true;
  return rule === 'goodput_low' ? x.observed < y.observed : x.observed > y.observed;
}

/**
 * A link's observation of a rule from its directions: a breach when either direction breaches, the
 * worst direction's value, unknown only when both are unknown.
 */
export function linkObservation(
  rule: LinkRule,
  directions: readonly AlertDirection[],
  threshold: number | null,
): { observation: Observation; worst: AlertDirection | null } {
  let worst: AlertDirection | null = null;
  for (const d of directions) if (worst === null || worse(rule, d, worst)) worst = d;
  if (worst === null || worst.breach === null) {
    return { observation: { breach: null, observed: null, threshold }, worst: null };
  }
  return { observation: { breach: worst.breach, observed: worst.observed, threshold }, worst };
}

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
  const byLink = new Map<LinkRequirement, DirectionView[]>();
  for (const v of views) byLink.set(v.link, [...(byLink.get(v.link) ?? []), v]);
  for (const [requirement, dirs] of byLink) {
    const link = linkContext(requirement);
    const sorted = [...dirs].sort((x, y) => (x.src < y.src ? -1 : x.src > y.src ? 1 : 0));
    for (const rule of LINK_RULES) {
      const directions = sorted.map(
        (v): AlertDirection => ({
          src: v.src,
          dst: v.dst,
          breach: v.observations[rule].breach,
          observed: v.observations[rule].observed,
        }),
      );
      const { observation, worst } = linkObservation(
        rule,
        directions,
        sorted[0]?.observations[rule].threshold ?? null,
      );
      const subject: AlertSubject = {
        kind: 'link',
        sites: link.sites,
        worst: worst === null ? null : { src: worst.src, dst: worst.dst },
      };
      subjects.push({ dedup_key: dedupKey(rule, subject), rule, subject, link, observation, directions });
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
      directions: [],
    });
  }
  return subjects;
}

export interface StoredAlertState extends AlertState {
  /** The subject, kept so a state whose subject left the topology can still be resolved and shown. */
  rule: AlertRule;
  subject: AlertSubject;
  link: AlertLinkContext | null;
  /** Each direction's observation at the last evaluation with data (empty for agents). */
  directions: AlertDirection[];
}

/**
 * Steps every subject's state machine. States whose subject is gone from the topology are dropped,
 * resolving them first when they were firing. That includes states kept by an older collector under
 * another key (per direction, "wanwatch/rtt_high/a->b"): they resolve under their own key, so a
 * receiver closes what it opened, and the link's alert goes on under the new key.
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
    // No data changes nothing, not even which direction the alert last reported.
    const keep = s.observation.breach === null && before !== undefined;
    const after: StoredAlertState = {
      ...state,
      rule: s.rule,
      subject: keep ? before.subject : s.subject,
      link: s.link,
      directions: keep ? before.directions : s.directions,
    };
    if (!before || JSON.stringify(before) !== JSON.stringify(after)) changes.set(s.dedup_key, after);
    for (const t of transitions) events.push(alertEvent(s.dedup_key, after, t, now, statistic));
  }
  const present = new Set(subjects.map((s) => s.dedup_key));
  for (const [key, state] of states) {
    if (present.has(key)) continue;
    if (state.status === 'firing') {
      const resolved: StoredAlertState = { ...state, status: 'resolved', resolved_at_ms: now };
      const successor = state.subject.kind === 'link' ? dedupKey(state.rule, state.subject) : null;
      const note =
        successor !== null && successor !== key && present.has(successor)
          ? `now alerted per link as ${successor}`
          : 'no longer in the topology';
      events.push(alertEvent(key, resolved, 'resolved', now, statistic, note));
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
  const directions = state.directions;
  const summary = summarize(
    state.rule,
    state.subject,
    status,
    state.observed,
    state.threshold,
    statistic,
    directions,
  );
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
    directions,
    summary: note ? `${summary} (${note})` : summary,
    link: state.link,
  };
}

const num = (n: number | null, digits = 1): string =>
  n === null ? '?' : String(Math.round(n * 10 ** digits) / 10 ** digits);
const mbps = (bps: number | null): string => (bps === null ? '?' : `${num(bps / 1e6, 2)} Mbps`);

const VALUE: Record<AlertRule, (v: number | null) => string> = {
  rtt_high: (v) => `${num(v)} ms`,
  loss_high: (v) => `${num(v, 2)} %`,
  goodput_low: mbps,
  link_down: () => '',
  agent_down: (v) => `${num(v, 0)} s`,
};

/**
 * The directions behind a link alert, in parentheses: while firing the breaching ones, when resolved
 * every direction with data ("(A → C 90.3 ms, C → A 90.1 ms)"); empty when there are none.
 */
function directionsText(rule: AlertRule, status: 'firing' | 'resolved', dirs: readonly AlertDirection[]) {
  const shown = dirs.filter((d) => (status === 'firing' ? d.breach === true : d.breach !== null));
  if (shown.length === 0) return '';
  return ` (${shown.map((d) => `${d.src} → ${d.dst} ${VALUE[rule](d.observed)}`.trimEnd()).join(', ')})`;
}

/** One line for people, e.g. "p95 RTT 83.1 ms > 80 ms on dallas ↔ london (dallas → london 83.1 ms)". */
export function summarize(
  rule: AlertRule,
  subject: AlertSubject,
  status: 'firing' | 'resolved',
  observed: number | null,
  threshold: number | null,
  statistic: RttStatistic,
  directions: readonly AlertDirection[] = [],
): string {
  const on = subjectText(subject);
  const firing = status === 'firing';
  const dirs = directionsText(rule, status, directions);
  switch (rule) {
    case 'rtt_high':
      return `${statistic} RTT ${num(observed)} ms ${firing ? '>' : '≤'} ${num(threshold)} ms on ${on}${dirs}`;
    case 'loss_high':
      return `loss ${num(observed, 2)} % ${firing ? '>' : '≤'} ${num(threshold, 2)} % on ${on}${dirs}`;
    case 'goodput_low':
      return `goodput ${mbps(observed)} ${firing ? '<' : '≥'} ${mbps(threshold)} required on ${on}${dirs}`;
    case 'link_down':
      return firing ? `${on} is down: the latest RTT round lost every probe${dirs}` : `${on} is up again`;
    case 'agent_down':
      return firing
        ? `the agent at ${on} sent no heartbeat for ${num(observed, 0)} s (limit ${num(threshold, 0)} s)`
        : `the agent at ${on} is sending heartbeats again`;
  }
}
