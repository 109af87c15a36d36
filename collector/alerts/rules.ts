// The alert rules: the subjects alerted on (each link, each site) with their observations, and how
// each subject's state machine (state.ts) steps into AlertEvents (summary.ts). Pure, given the
// observations handed in (directions.ts).
//
// Rules are observed per direction (each side's agent measures its own view), but alerted per link:
// one state machine per rule and link, fed with the worse of the two directions. Both agents of a slow
// link measure the same round trip; two alerts for it would page twice for one problem. Per site:
// agent_down, and measurement_failing once per cause (measured.ts): the site's own causes, and `refused`
// when its reflector refuses its peers' probes. Per output: output_rows_refused.
import { outputName, type RttStatistic } from '../../shared/config/schema.ts';
import type { Topology } from '../../shared/topology/model.ts';
import type { LinkRequirement } from '../../shared/topology/requirements.ts';
import { type AlertCause, LINK_RULES, type LinkRule } from '../../shared/wire.ts';
import type { DirectionView } from './directions.ts';
import {
  type AlertDirection,
  type AlertEvent,
  type AlertLinkContext,
  type AlertRule,
  type AlertSubject,
  linkName,
  subjectName,
} from './event.ts';
import {
  MEASUREMENT_CAUSES,
  type MeasurementObservation,
  measurementObservation,
  REFLECTOR_CAUSE,
  reflectorObservation,
} from './measured.ts';
import { agentObservation, outputObservation } from './observe.ts';
import { type HysteresisSettings, INITIAL_STATE, type Observation, step } from './state.ts';
import { alertEvent, type StoredAlertState } from './summary.ts';

export type { DirectionView, ResultSource } from './directions.ts';
export type { StoredAlertState } from './summary.ts';

export interface Subject {
  dedup_key: string;
  rule: AlertRule;
  subject: AlertSubject;
  link: AlertLinkContext | null;
  /** For a link: the worst direction's observation. */
  observation: Observation;
  /** For a link: each direction's observation (empty for agents). */
  directions: AlertDirection[];
  /** measurement_failing, throughput_failing: the failure behind the observation, if any. */
  cause?: AlertCause | undefined;
}

/**
 * "wanwatch/<rule>/<siteA>--<siteB>" (sites sorted) for links, "wanwatch/agent_down/<site>" for agents,
 * "wanwatch/output_rows_refused/<output name>" for outputs.
 */
export const dedupKey = (rule: AlertRule, subject: AlertSubject): string =>
  `wanwatch/${rule}/${subjectName(subject)}`;

/** "wanwatch/measurement_failing/<site>/<code>": one alert per site and cause. */
export const measurementDedupKey = (site: string, code: string): string =>
  `${dedupKey('measurement_failing', { kind: 'agent', site })}/${code}`;

/** The dedup key of a link rule, from the link's two sites in any order. */
export const linkDedupKey = (rule: AlertRule, a: string, b: string): string =>
  `wanwatch/${rule}/${linkName(a < b ? [a, b] : [b, a])}`;

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

/**
 * Every subject with its observation at `now`. `refusedRows` holds, by output name, the rows each output
 * set aside within the alert window (an output it does not name set none aside); without it, the
 * outputs have no data (no change).
 */
export function subjectsOf(
  topology: Topology,
  views: readonly DirectionView[],
  heartbeats: ReadonlyMap<string, number>,
  startedAtMs: number,
  now: number,
  refusedRows: ReadonlyMap<string, number> | null = null,
): Subject[] {
  const subjects: Subject[] = [];
  const byLink = new Map<LinkRequirement, DirectionView[]>();
  for (const v of views) byLink.set(v.link, [...(byLink.get(v.link) ?? []), v]);
  for (const [requirement, dirs] of byLink) subjects.push(...linkSubjects(topology, requirement, dirs));
  for (const site of topology.sites.keys()) {
    subjects.push(agentSubject(topology, site, heartbeats, startedAtMs, now));
    subjects.push(
      ...siteSubjects(
        site,
        views.filter((v) => v.src === site),
        views.filter((v) => v.dst === site),
      ),
    );
  }
  subjects.push(...outputSubjects(topology, refusedRows));
  return subjects;
}

/** A link's subjects, one per link rule, from its directions' views. */
export function linkSubjects(
  topology: Topology,
  requirement: LinkRequirement,
  dirs: readonly DirectionView[],
): Subject[] {
  const subjects: Subject[] = [];
  const link = linkContext(requirement);
  const sorted = [...dirs].sort((x, y) => (x.src < y.src ? -1 : x.src > y.src ? 1 : 0));
  for (const rule of LINK_RULES) {
    // No tests, nothing to fail: a throughput_failing still firing resolves (see evaluateSubjects).
    if (rule === 'throughput_failing' && !topology.probes.throughput.enabled) continue;
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
    const failed = sorted.find((v) => v.src === worst?.src && v.dst === worst.dst)?.throughput_failure;
    const cause =
      rule === 'throughput_failing' && failed ? { code: failed.code, message: failed.message } : undefined;
    subjects.push({
      dedup_key: dedupKey(rule, subject),
      rule,
      subject,
      link,
      observation,
      directions,
      cause,
    });
  }
  return subjects;
}

/** agent_down for a site. */
export function agentSubject(
  topology: Topology,
  site: string,
  heartbeats: ReadonlyMap<string, number>,
  startedAtMs: number,
  now: number,
): Subject {
  const hb = topology.probes.heartbeat;
  const subject: AlertSubject = { kind: 'agent', site };
  return {
    dedup_key: dedupKey('agent_down', subject),
    rule: 'agent_down',
    subject,
    link: null,
    observation: agentObservation(heartbeats.get(site) ?? null, startedAtMs, now, hb.interval + hb.timeout),
    directions: [],
  };
}

/**
 * measurement_failing for a site, once per cause: from the directions it measures (`from`), and from
 * its peers' rounds towards it (`towards`) for its reflector.
 */
export function siteSubjects(
  site: string,
  from: readonly DirectionView[],
  towards: readonly DirectionView[],
): Subject[] {
  const subject: AlertSubject = { kind: 'agent', site };
  const latest = from.flatMap((v) => v.latest);
  // The site's reflector refusing its peers: judged on their rounds towards it, not on its own.
  const reflected = towards.flatMap((v) => v.reflector_round ?? []);
  const failing: [string, MeasurementObservation][] = [
    ...MEASUREMENT_CAUSES.map((code): [string, MeasurementObservation] => [
      code,
      measurementObservation(latest, code),
    ]),
    [REFLECTOR_CAUSE, reflectorObservation(reflected)],
  ];
  return failing.map(([code, { cause, ...observation }]) => ({
    dedup_key: measurementDedupKey(site, code),
    rule: 'measurement_failing',
    subject,
    link: null,
    observation,
    directions: [],
    cause,
  }));
}

/** output_rows_refused for each output (see subjectsOf). */
export function outputSubjects(
  topology: Topology,
  refusedRows: ReadonlyMap<string, number> | null,
): Subject[] {
  return topology.outputs.map((output): Subject => {
    const subject: AlertSubject = { kind: 'output', output: outputName(output) };
    return {
      dedup_key: dedupKey('output_rows_refused', subject),
      rule: 'output_rows_refused',
      subject,
      link: null,
      observation: outputObservation(
        refusedRows === null ? undefined : (refusedRows.get(subject.output) ?? 0),
      ),
      directions: [],
    };
  });
}

const quiescent = (s: StoredAlertState): boolean => s.status === 'ok' || s.status === 'resolved';

/**
 * Whether two plain values would serialize alike (undefined members count as absent, key order does
 * not matter): what a state change is, without serializing both states at every step.
 */
export function sameJson(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false;
    return a.every((x, i) => sameJson(x, b[i]));
  }
  const x = a as Record<string, unknown>;
  const y = b as Record<string, unknown>;
  const kx = Object.keys(x).filter((k) => x[k] !== undefined);
  if (kx.length !== Object.keys(y).filter((k) => y[k] !== undefined).length) return false;
  return kx.every((k) => sameJson(x[k], y[k]));
}

/**
 * Steps every subject's state machine. With `complete` (every subject of the topology is handed in),
 * states whose subject is gone from the topology are dropped, resolving them first when they were
 * firing; an incremental evaluation hands in only the subjects that can change and passes false. That includes states kept by an older collector under
 * another key (per direction, "wanwatch/rtt_high/a->b"): they resolve under their own key, so a
 * receiver closes what it opened, and the link's alert goes on under the new key.
 */
export function evaluateSubjects(
  subjects: readonly Subject[],
  states: ReadonlyMap<string, StoredAlertState>,
  now: number,
  settings: HysteresisSettings,
  statistic: RttStatistic,
  complete = true,
): { changes: Map<string, StoredAlertState | null>; events: AlertEvent[] } {
  const changes = new Map<string, StoredAlertState | null>();
  const events: AlertEvent[] = [];
  for (const s of subjects) {
    const before = states.get(s.dedup_key);
    // Within limits and staying so: nothing a reader sees changes (an ok or resolved alert shows only its
    // status), so the state is left as it is rather than rebuilt for a new observed value.
    if (before && before.rule === s.rule && s.observation.breach === false && quiescent(before)) continue;
    const { state, events: transitions } = step(before ?? INITIAL_STATE, s.observation, now, settings);
    // No data changes nothing, not even which direction the alert last reported.
    const keep = s.observation.breach === null && before !== undefined;
    const after: StoredAlertState = {
      ...state,
      rule: s.rule,
      subject: keep ? before.subject : s.subject,
      link: s.link,
      directions: keep ? before.directions : s.directions,
      cause: s.cause ?? before?.cause,
    };
    if (!before || !sameJson(before, after)) changes.set(s.dedup_key, after);
    for (const t of transitions) events.push(alertEvent(s.dedup_key, after, t, now, statistic));
  }
  if (!complete) return { changes, events };
  const present = new Set(subjects.map((s) => s.dedup_key));
  for (const [key, state] of states) {
    if (present.has(key)) continue;
    if (state.status === 'firing') {
      const resolved: StoredAlertState = { ...state, status: 'resolved', resolved_at_ms: now };
      const successor = state.subject.kind === 'link' ? dedupKey(state.rule, state.subject) : null;
      const linkStays = state.subject.kind === 'link' && present.has(dedupKey('link_down', state.subject));
      const note =
        successor !== null && successor !== key && present.has(successor)
          ? `now alerted per link as ${successor}`
          : state.rule === 'throughput_failing' && linkStays
            ? 'throughput tests are off'
            : 'no longer in the topology';
      events.push(alertEvent(key, resolved, 'resolved', now, statistic, note));
    }
    changes.set(key, null);
  }
  return { changes, events };
}
