// The evaluation loop's one step: observe every rule from the store, step the state machines, and
// write changed states, new events (queued in the outbox for each notifier) and link status points in
// one transaction. loop.ts decides when it runs. The views an evaluation observed are kept for the read
// API: observing reads the whole alert window of every link direction from the store, and a read API
// that observed again for each request could starve ingest (issue 13).
import type { Topology } from '../../shared/topology/model.ts';
import type { LinkRequirement } from '../../shared/topology/requirements.ts';
import { type AlertStatus, type DirectionState, LINK_RULES, type LinkRule } from '../../shared/wire.ts';
import { type DirectionView, observeLinks } from '../alerts/directions.ts';
import type { AlertEvent } from '../alerts/event.ts';
import { evaluateSubjects, linkDedupKey, type StoredAlertState, subjectsOf } from '../alerts/rules.ts';
import { planSchedule } from '../plan/plan.ts';
import { RefusedRows } from '../sinks/refused.ts';
import type { LinkStatusPoint } from '../sinks/source.ts';
import type { Store } from '../store/store.ts';

/** Link status points are written at most this often per direction, unless the state changes. */
export const STATUS_POINT_SPACING_MS = 10_000;

/** What is observed: a topology and its links. */
export interface Observable {
  topology: Topology;
  links: readonly LinkRequirement[];
}

/** Every link direction as observed at `time_ms`, for one topology and its links. */
export interface Observed extends Observable {
  time_ms: number;
  views: readonly DirectionView[];
}

/** Until the loop says how often it evaluates: two of its default intervals (loop.ts). */
const DEFAULT_READS_FRESH_FOR_MS = 10_000;

export interface EvaluationContext {
  topology: Topology;
  links: LinkRequirement[];
  /** The names of the `notify:` entries: each new event is queued once for each. */
  notifiers: readonly string[];
}

export class Evaluator {
  private states: Map<string, StoredAlertState>;
  /** Rows the outputs set aside (collector/sinks/refused.ts), in the store's database. */
  private readonly refused: RefusedRows;
  private readonly lastPoint = new Map<string, { time_ms: number; state: DirectionState }>();
  /** The latest observation, an evaluation's or one made for readers; readers share it. */
  private observed: Observed | null = null;
  private readsFreshForMs = DEFAULT_READS_FRESH_FOR_MS;

  constructor(
    private readonly store: Store,
    private readonly startedAtMs: number,
  ) {
    this.states = store.loadAlertStates<StoredAlertState>();
    this.refused = new RefusedRows(store.db);
  }

  alertStates(): ReadonlyMap<string, StoredAlertState> {
    return this.states;
  }

  heartbeats(): Map<string, number> {
    return new Map(this.store.agents().map((a) => [a.site, a.last_heartbeat_ms]));
  }

  /** Every link direction at `now`; results dated after `now` are left out of every rule. */
  observe(ctx: Observable, now: number): DirectionView[] {
    // Goodput goes stale, and failed tests count, by the cycle the agents run the tests in.
    const cycleMs = planSchedule(ctx.topology, ctx.links).cycle_ms;
    return observeLinks(ctx.topology, ctx.links, this.store, now, cycleMs);
  }

  /** Readers are given an observation up to this old (the loop sets twice its interval). */
  setReadsFreshFor(ms: number): void {
    this.readsFreshForMs = ms;
  }

  /**
   * What readers are shown at `now`: the latest observation when it is of this topology and links
   * (the same objects: a reload makes new ones) and no older than the reads' freshness; otherwise
   * (before the first evaluation, after a reload, or when evaluations fail) one observation made now,
   * kept for the readers after it until an evaluation replaces it.
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
    this.observed = { topology: ctx.topology, links: ctx.links, time_ms: now, views: this.observe(ctx, now) };
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

  evaluate(ctx: EvaluationContext, now: number): AlertEvent[] {
    const { topology } = ctx;
    const views = this.observe(ctx, now);
    // output_rows_refused: the rows each output set aside within the window (the sinks keep them).
    const refused = this.refused.countsBetween(now - topology.alerts.window, now);
    const subjects = subjectsOf(topology, views, this.heartbeats(), this.startedAtMs, now, refused);
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
    );
    const next = new Map(this.states);
    for (const [k, s] of changes) {
      if (s === null) next.delete(k);
      else next.set(k, s);
    }
    const previous = this.states;
    this.states = next;

    const points: LinkStatusPoint[] = [];
    for (const v of views) {
      const state = this.directionState(v);
      const key = `${v.src}->${v.dst}`;
      const last = this.lastPoint.get(key);
      if (last && last.state === state && now - last.time_ms < STATUS_POINT_SPACING_MS) continue;
      this.lastPoint.set(key, { time_ms: now, state });
      const o = v.observations;
      points.push({
        time_ms: now,
        src: v.src,
        dst: v.dst,
        state,
        rtt_ms: o.rtt_high.observed,
        rtt_statistic: v.rtt_statistic,
        loss_percent: o.loss_high.observed,
        goodput_bps: o.goodput_low.observed,
        required_bps: v.link.required_mbps * 1e6,
        max_rtt_ms: v.link.max_rtt_ms,
      });
    }

    const sendResolved = topology.alerts.send_resolved;
    try {
      this.store.writeEvaluation({
        states: [...changes].map(([dedup_key, state]) => ({ dedup_key, state })),
        events,
        notifiersFor: (e) => (e.status === 'resolved' && !sendResolved ? [] : ctx.notifiers),
        linkStatus: points,
        now_ms: now,
      });
    } catch (err) {
      // Keep memory and disk in step: the next evaluation retries from the persisted states.
      this.states = previous;
      throw err;
    }
    this.observed = { topology, links: ctx.links, time_ms: now, views };
    return events;
  }
}

/** How bad a direction's state is: the worst one wins. */
export const stateRank = (s: DirectionState): number => ({ unknown: 0, ok: 1, pending: 2, firing: 3 })[s];
