// The evaluation loop's one step: observe the rules, step the state machines, and write changed
// states, new events (queued in the outbox for each notifier) and link status points in one
// transaction. loop.ts decides when it runs.
//
// Incremental (issue 14): the results the rules read are held in memory as they arrive (live.ts), and
// a step observes again only the links whose results changed or whose observation comes due to change
// with time (a round leaving the window, a goodput going stale), and steps only the subjects that can
// change: those of the links observed again, alerts pending or firing (their `for`, `clear_for` and
// reminders run on time), the sites' and the outputs'. So a step costs what arrived since the last
// one, not links × window. After a start or a reload every link is observed and every subject
// stepped. The read API is shown the same views (read.ts).
import type { Topology } from '../../shared/topology/model.ts';
import type { LinkRequirement } from '../../shared/topology/requirements.ts';
import { type AlertStatus, type DirectionState, LINK_RULES, type LinkRule } from '../../shared/wire.ts';
import type { DirectionView } from '../alerts/directions.ts';
import type { AlertEvent } from '../alerts/event.ts';
import {
  agentSubject,
  evaluateSubjects,
  linkDedupKey,
  outputSubjects,
  type StoredAlertState,
  type Subject,
} from '../alerts/rules.ts';
import { RefusedRows } from '../sinks/refused.ts';
import type { LinkStatusPoint } from '../sinks/source.ts';
import type { Store } from '../store/store.ts';
import { type LinkEntry, LinkViews, type LiveView, type Observable } from './views.ts';

export type { Observable };

/** Link status points are written at most this often per direction, unless the state changes. */
export const STATUS_POINT_SPACING_MS = 10_000;
/** agent_down's observation (seconds of silence) is stepped at most this often, or at a full step. */
const AGENT_STEP_SPACING_MS = 1000;

/** Every link direction as observed at `time_ms`, for one topology and its links. */
export interface Observed extends Observable {
  time_ms: number;
  views: readonly DirectionView[];
}

/** Until the loop says how often it evaluates: two of its default intervals (loop.ts). */
const DEFAULT_READS_FRESH_FOR_MS = 2000;

export interface EvaluationContext {
  topology: Topology;
  links: LinkRequirement[];
  /** The names of the `notify:` entries: each new event is queued once for each. */
  notifiers: readonly string[];
}

export class Evaluator {
  private readonly states: Map<string, StoredAlertState>;
  /** Rows the outputs set aside (collector/sinks/refused.ts), in the store's database. */
  private readonly refused: RefusedRows;
  private readonly lastPoint = new Map<string, { time_ms: number; state: DirectionState }>();
  /** The latest observation, an evaluation's or one made for readers; readers share it. */
  private observed: Observed | null = null;
  private readsFreshForMs = DEFAULT_READS_FRESH_FOR_MS;
  private readonly linkViews: LinkViews;
  /** The next step steps every subject (after a start, a reload or a failed step). */
  private full = true;
  private agentsSteppedAt = Number.NEGATIVE_INFINITY;
  /** Sites heard from (a heartbeat) since the last step: their agent is stepped then, whatever the spacing. */
  private readonly heardSites = new Set<string>();
  /** Dedup keys of the alerts pending or firing: stepped at every evaluation. */
  private active = new Set<string>();

  constructor(
    private readonly store: Store,
    private readonly startedAtMs: number,
  ) {
    this.states = store.loadAlertStates<StoredAlertState>();
    this.refused = new RefusedRows(store.db);
    this.linkViews = new LinkViews(store);
  }

  /** The alert states, changed in place by each evaluation (statesVersion says when). */
  alertStates(): ReadonlyMap<string, StoredAlertState> {
    return this.states;
  }

  /** Goes up whenever an evaluation changes an alert state. */
  statesVersion = 0;

  heartbeats(): Map<string, number> {
    return this.store.heartbeatTimes();
  }

  /** Every link direction at `now`; results dated after `now` are left out of every rule. */
  observe(ctx: Observable, now: number): readonly DirectionView[] {
    return this.linkViews.refresh(ctx, now).views;
  }

  /** Readers are given an observation up to this old (the loop sets twice its interval). */
  setReadsFreshFor(ms: number): void {
    this.readsFreshForMs = ms;
  }

  /**
   * What readers are shown at `now`: the latest observation when it is of this topology and links
   * (the same objects: a reload makes new ones) and no older than the reads' freshness; otherwise
   * (before the first evaluation, after a reload, or when evaluations fail) the live views brought up
   * to `now`, kept for the readers after it until an evaluation replaces it.
   */
  observedForReaders(ctx: Observable, now: number): Observed {
    const o = this.observed;
    if (
      o !== null &&
      o.topology === ctx.topology &&
      o.links === ctx.links &&
      o.time_ms <= now &&
      now - o.time_ms <= this.readsFreshForMs
    )
      return o;
    const v = this.linkViews.refresh(ctx, now);
    this.observed = { topology: ctx.topology, links: ctx.links, time_ms: now, views: v.views };
    return this.observed;
  }

  /** The link's alert state for a rule (one per link, whichever direction breaches). */
  linkAlert(rule: LinkRule, a: string, b: string): StoredAlertState | undefined {
    return this.states.get(linkDedupKey(rule, a, b));
  }

  /**
   * A link alert's status as one direction shows it: the alert's own status when this direction
   * breached at the last evaluation, or when neither did (pending, recovering or ok: it is the
   * whole link's); 'ok' when only the other direction breaches.
   */
  directionAlertStatus(rule: LinkRule, v: Pick<DirectionView, 'src' | 'dst'>): AlertStatus {
    const s = this.linkAlert(rule, v.src, v.dst);
    if (!s) return 'ok';
    const dirs = s.directions;
    const breaching = dirs.filter((d) => d.breach === true);
    const carried = breaching.length === 0 || breaching.some((d) => d.src === v.src && d.dst === v.dst);
    return carried ? s.status : 'ok';
  }

  /** The worst state over a direction's link rules; unknown when no rule has data. */
  directionState(v: DirectionView): DirectionState {
    let worst: DirectionState = 'unknown';
    for (const rule of LINK_RULES) {
      const status = this.directionAlertStatus(rule, v);
      const known = v.observations[rule].breach !== null || status !== 'ok';
      if (!known) continue;
      const st: DirectionState = status === 'firing' ? 'firing' : status === 'pending' ? 'pending' : 'ok';
      if (stateRank(st) > stateRank(worst)) worst = st;
    }
    return worst;
  }

  /** The subjects this step must step: every one after a rebuild, else those that can change. */
  private subjectsToStep(v: LiveView, now: number): Subject[] {
    const { topology } = v;
    // output_rows_refused: the rows each output set aside within the window (the sinks keep them).
    const refused = this.refused.countsBetween(now - outputsWindowMs(topology), now);
    const stepAgents = this.full || now - this.agentsSteppedAt >= AGENT_STEP_SPACING_MS;
    const heartbeats = stepAgents || this.heardSites.size > 0 ? this.heartbeats() : new Map<string, number>();
    if (stepAgents) this.agentsSteppedAt = now;
    // An agent that beats again is judged at once (agent_down resolves then, not a spacing later).
    const heard = new Set(this.heardSites);
    this.heardSites.clear();
    const stepAgent = (site: string) => stepAgents || heard.has(site);
    const subjects: Subject[] = [];
    if (this.full) {
      for (const e of v.entries) subjects.push(...e.subjects);
      for (const site of topology.sites.keys()) {
        subjects.push(agentSubject(topology, site, heartbeats, this.startedAtMs, now));
        subjects.push(...(v.siteSubjects.get(site) ?? []));
      }
    } else {
      // In the links' order, as a full step would: one step's events go out in the same order.
      const picked = new Map<LinkEntry, Subject[]>();
      for (const e of this.linkViews.unstepped) picked.set(e, e.subjects);
      for (const key of this.active) {
        const e = v.byKey.get(key);
        if (!e || this.linkViews.unstepped.has(e)) continue;
        const s = e.subjects.find((x) => x.dedup_key === key);
        if (s) picked.set(e, [...(picked.get(e) ?? []), s]);
      }
      const order = [...picked].sort(([x], [y]) => x.index - y.index);
      for (const [e, list] of order)
        for (const s of e.subjects) if (list === e.subjects || list.includes(s)) subjects.push(s);
      for (const site of topology.sites.keys()) {
        if (stepAgent(site)) subjects.push(agentSubject(topology, site, heartbeats, this.startedAtMs, now));
        const own = this.linkViews.touchedSites.has(site)
          ? this.linkViews.observeSite(v, site)
          : (v.siteSubjects.get(site) ?? []);
        for (const s of own)
          if (this.linkViews.touchedSites.has(site) || this.active.has(s.dedup_key)) subjects.push(s);
      }
    }
    subjects.push(...outputSubjects(topology, refused));
    return subjects;
  }

  /** A heartbeat from `site` arrived: the next step judges its agent, whatever the spacing. */
  heard(site: string): void {
    this.heardSites.add(site);
  }

  evaluate(ctx: EvaluationContext, now: number): AlertEvent[] {
    const { topology } = ctx;
    const v = this.linkViews.refresh(ctx, now);
    if (this.linkViews.rebuilt) this.full = true;
    const full = this.full;
    const subjects = this.subjectsToStep(v, now);
    const { changes, events } = evaluateSubjects(
      subjects,
      this.states,
      now,
      {
        for_ms: topology.alerts.for,
        clear_for_ms: topology.alerts.clear_for,
        repeat_interval_ms: topology.alerts.repeat_interval,
      },
      topology.thresholds.rtt_statistic,
      full,
    );
    // Applied in place (a copy of every state per step would cost links × rules); undone if the write fails.
    const previous = new Map<string, StoredAlertState | undefined>();
    const persist: { dedup_key: string; state: StoredAlertState | null }[] = [];
    for (const [k, s] of changes) {
      const before = this.states.get(k);
      previous.set(k, before);
      if (s === null) this.states.delete(k);
      else this.states.set(k, s);
      if (mustPersist(before, s)) persist.push({ dedup_key: k, state: s });
    }
    if (changes.size > 0) this.statesVersion++;

    // Points for the links observed again and the links whose alerts changed.
    const pointed = new Set<LinkEntry>(full ? v.entries : this.linkViews.unstepped);
    for (const k of changes.keys()) {
      const e = v.byKey.get(k);
      if (e) pointed.add(e);
    }
    const points: LinkStatusPoint[] = [];
    const lastPoint = new Map<string, { time_ms: number; state: DirectionState }>();
    for (const e of pointed)
      for (const d of e.views) {
        const state = this.directionState(d);
        const key = `${d.src}->${d.dst}`;
        const last = this.lastPoint.get(key);
        if (last && last.state === state && now - last.time_ms < STATUS_POINT_SPACING_MS) continue;
        lastPoint.set(key, { time_ms: now, state });
        const o = d.observations;
        points.push({
          time_ms: now,
          src: d.src,
          dst: d.dst,
          state,
          rtt_ms: o.rtt_high.observed,
          rtt_statistic: d.rtt_statistic,
          loss_percent: o.loss_high.observed,
          goodput_bps: o.goodput_low.observed,
          required_bps: d.link.required_mbps * 1e6,
          max_rtt_ms: d.link.max_rtt_ms,
        });
      }

    const sendResolved = topology.alerts.send_resolved;
    try {
      this.store.writeEvaluation({
        states: persist,
        events,
        notifiersFor: (e) => (e.status === 'resolved' && !sendResolved ? [] : ctx.notifiers),
        linkStatus: points,
        now_ms: now,
      });
    } catch (err) {
      // Keep memory and disk in step: the next evaluation retries from the persisted states, and
      // steps every subject again.
      for (const [k, s] of previous) {
        if (s === undefined) this.states.delete(k);
        else this.states.set(k, s);
      }
      this.statesVersion++;
      this.full = true;
      throw err;
    }
    for (const [k, p] of lastPoint) this.lastPoint.set(k, p);
    if (full) {
      this.active = new Set(
        [...this.states].filter(([, s]) => s.status === 'pending' || s.status === 'firing').map(([k]) => k),
      );
    } else {
      for (const [k, s] of changes) {
        if (s !== null && (s.status === 'pending' || s.status === 'firing')) this.active.add(k);
        else this.active.delete(k);
      }
    }
    this.full = false;
    this.linkViews.stepped();
    this.observed = { topology, links: ctx.links, time_ms: now, views: v.views };
    return events;
  }
}

/**
 * How far back output_rows_refused counts set-aside rows: the alert window, but at least twice `for`,
 * so that one refused row lasts longer than `for` and pages (with the default 15 s window and 18 s `for`
 * it would leave the window first, and a row InfluxDB refuses would never be heard of).
 */
export const outputsWindowMs = (topology: Topology): number =>
  Math.max(topology.alerts.window, 2 * topology.alerts.for);

/**
 * Whether a state change must reach the store: any change of status or timing, and every change while
 * pending or firing (readers and the next start show their observed value). An alert staying ok or
 * resolved with a new observed value is kept in memory only: nothing reads it from the store, and
 * writing it would cost a row per link rule and round.
 */
function mustPersist(before: StoredAlertState | undefined, after: StoredAlertState | null): boolean {
  if (after === null || before === undefined) return true;
  if (after.status === 'pending' || after.status === 'firing') return true;
  return (
    before.status !== after.status ||
    before.since_ms !== after.since_ms ||
    before.fired_at_ms !== after.fired_at_ms ||
    before.clear_since_ms !== after.clear_since_ms ||
    before.resolved_at_ms !== after.resolved_at_ms ||
    before.last_notified_ms !== after.last_notified_ms
  );
}

/** How bad a direction's state is: the worst one wins. */
export const stateRank = (s: DirectionState): number => ({ unknown: 0, ok: 1, pending: 2, firing: 3 })[s];
