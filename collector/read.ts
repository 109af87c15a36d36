// The read API's views (GET /api/v1/links, /alerts, /agents): plain JSON for people, `wanwatch status`
// and other tools. The replies' schemas are in shared/wire.ts; docs/deploying.md ("The collector")
// describes the endpoints for operators. No read may cost ingest much, however many clients loop on
// it: links are shown as the latest evaluation observed them (evaluate/evaluator.ts), and the links and
// alerts replies are built and serialized once per evaluation (ReadReplies); the agents view reads
// one row per site.
import type { Topology } from '../shared/topology/model.ts';
import type { LinkRequirement } from '../shared/topology/requirements.ts';
import {
  type AgentPlan,
  type AgentsReply,
  type AlertStatus,
  type AlertsReply,
  type DirectionJson,
  LINK_RULES,
  type LinkJson,
  type LinkRule,
  type LinksReply,
} from '../shared/wire.ts';
import { linkContext, type StoredAlertState } from './alerts/rules.ts';
import { JsonText } from './api/http.ts';
import { type Evaluator, type Observed, stateRank } from './evaluate/evaluator.ts';
import type { Store } from './store/store.ts';

/** For importers from before the reply's schema moved to shared/wire.ts. */
export type { LinksReply };

/**
 * The read API's replies, each built and serialized once per evaluation and sent as they are to every
 * reader until the next: the same text while its inputs are the same objects (the evaluator replaces
 * them at each evaluation, a reload replaces the topology). Serializing the links reply for every
 * request (about 1 MB at 40 sites) cost the agents' push p99 1.8× under 4 readers, against 1.05×.
 */
export class ReadReplies {
  private links: { observed: Observed; reply: JsonText<LinksReply> } | null = null;
  private alerts: { version: number; reply: JsonText<AlertsReply> } | null = null;

  constructor(
    private readonly evaluator: Evaluator,
    private readonly store: Store,
  ) {}

  linksReply(topology: Topology, links: readonly LinkRequirement[], now: number): JsonText<LinksReply> {
    const observed = this.evaluator.observedForReaders({ topology, links }, now);
    if (this.links?.observed !== observed)
      this.links = { observed, reply: new JsonText(JSON.stringify(linksFrom(observed, this.evaluator))) };
    return this.links.reply;
  }

  /** Alert states and events change only at an evaluation, which counts the changes (statesVersion). */
  alertsReply(): JsonText<AlertsReply> {
    const version = this.evaluator.statesVersion;
    if (this.alerts?.version !== version)
      this.alerts = { version, reply: new JsonText(JSON.stringify(alertsView(this.evaluator, this.store))) };
    return this.alerts.reply;
  }
}

/**
 * Every link as observed at `now`, or up to the reads' freshness (two evaluation intervals) before
 * it: the latest evaluation's views when they are of this topology and links (see
 * Evaluator.observedForReaders). The reply's time_ms says when.
 */
export function linksView(
  topology: Topology,
  links: readonly LinkRequirement[],
  evaluator: Evaluator,
  now: number,
): LinksReply {
  return linksFrom(evaluator.observedForReaders({ topology, links }, now), evaluator);
}

function linksFrom(observed: Observed, evaluator: Evaluator): LinksReply {
  const { topology, links, views, time_ms } = observed;
  const byLink = new Map<LinkRequirement, (typeof views)[number][]>();
  for (const v of views) {
    const list = byLink.get(v.link);
    if (list) list.push(v);
    else byLink.set(v.link, [v]);
  }
  const out: LinkJson[] = links.map((l) => {
    const directions = (byLink.get(l) ?? []).map((v): DirectionJson => {
      const alerts = {} as Record<LinkRule, AlertStatus>;
      for (const rule of LINK_RULES) alerts[rule] = evaluator.directionAlertStatus(rule, v);
      return {
        src: v.src,
        dst: v.dst,
        state: evaluator.directionState(v),
        rtt_ms: v.observations.rtt_high.observed,
        rtt_statistic: v.rtt_statistic,
        max_rtt_ms: l.max_rtt_ms,
        loss_percent: v.observations.loss_high.observed,
        max_loss_percent: l.max_loss_percent,
        // The latest goodput however old (goodput_stale says when it is no longer judged).
        goodput_bps: v.goodput_bps,
        required_bps: l.required_mbps * 1e6,
        rounds_in_window: v.rounds,
        last_result_ms: v.last_result_ms,
        last_throughput_ms: v.last_throughput_ms,
        not_measured: v.not_measured,
        goodput_stale: v.goodput_stale,
        throughput_failure: v.throughput_failure,
        alerts,
      };
    });
    const state = directions.reduce<DirectionJson['state']>(
      (w, d) => (stateRank(d.state) > stateRank(w) ? d.state : w),
      'unknown',
    );
    const alerts = {} as Record<LinkRule, AlertStatus>;
    for (const rule of LINK_RULES) alerts[rule] = evaluator.linkAlert(rule, ...l.sites)?.status ?? 'ok';
    return {
      ...linkContext(l),
      state,
      alerts,
      directions,
    };
  });
  return {
    time_ms,
    window_ms: topology.alerts.window,
    rtt_statistic: topology.thresholds.rtt_statistic,
    links: out,
  };
}

export function alertsView(evaluator: Evaluator, store: Store): AlertsReply {
  const active = [...evaluator.alertStates()]
    .filter(([, s]) => s.status === 'pending' || s.status === 'firing')
    .map(([dedup_key, s]) => ({
      dedup_key,
      rule: s.rule,
      status: s.status,
      subject: s.subject,
      since_ms: s.since_ms,
      fired_at_ms: s.status === 'firing' ? s.fired_at_ms : null,
      observed: s.observed,
      threshold: s.threshold,
      link: s.link,
      ...(s.cause ? { cause: s.cause } : {}),
    }))
    .sort((a, b) => a.dedup_key.localeCompare(b.dedup_key));
  const recent = store.recentAlertEvents(100).map((e) => ({ seq: e.seq, ...e.value }));
  return { active, recent };
}

/** `states`: the evaluator's alert states (the stored ones, held in memory: no parse per request). */
export function agentsView(
  topology: Topology,
  plans: ReadonlyMap<string, AgentPlan>,
  store: Store,
  states: ReadonlyMap<string, StoredAlertState>,
  startedAtMs: number,
  now: number,
): AgentsReply {
  const seen = new Map(store.agents().map((a) => [a.site, a]));
  const failing = measurementFailing(states);
  const limit = topology.probes.heartbeat.interval + topology.probes.heartbeat.timeout;
  return {
    agents: [...topology.sites.keys()].sort().map((site) => {
      const a = seen.get(site);
      const last = a?.last_heartbeat_ms ?? null;
      const plan = plans.get(site)?.plan_version ?? null;
      return {
        site,
        up: last !== null && now - last <= limit,
        last_heartbeat_ms: last,
        silent_for_ms: now - (last ?? startedAtMs),
        version: a?.heartbeat.version ?? null,
        started_at_ms: a?.heartbeat.started_at_ms ?? null,
        plan_version: a?.heartbeat.plan_version ?? null,
        plan_current: a ? a.heartbeat.plan_version === plan : false,
        spool_queued: a?.heartbeat.spool_queued ?? null,
        spool_dropped: a?.heartbeat.spool_dropped ?? null,
        errors: a?.heartbeat.errors ?? null,
        measurement_failing: failing.get(site) ?? [],
        errors_by_code: a?.heartbeat.errors_by_code ?? null,
        spool_error: a?.heartbeat.spool_error ?? null,
        responder: a?.heartbeat.responder ?? null,
      };
    }),
  };
}

/** Each site's measurement_failing alerts that are pending or firing, with their cause. */
function measurementFailing(
  states: ReadonlyMap<string, StoredAlertState>,
): Map<string, AgentsReply['agents'][number]['measurement_failing']> {
  const bySite = new Map<string, AgentsReply['agents'][number]['measurement_failing']>();
  for (const s of states.values()) {
    if (s.rule !== 'measurement_failing' || s.subject.kind !== 'agent' || !s.cause) continue;
    if (s.status !== 'pending' && s.status !== 'firing') continue;
    const list = bySite.get(s.subject.site) ?? [];
    list.push({ ...s.cause, status: s.status, since_ms: s.since_ms });
    bySite.set(s.subject.site, list);
  }
  return bySite;
}
