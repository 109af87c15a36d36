// The read API's views (GET /api/v1/links, /alerts, /agents): plain JSON for people, `wanwatch status`
// and other tools. Shapes are documented in the README ("The collector").

import type { Topology } from '../shared/topology/model.ts';
import type { LinkRequirement } from '../shared/topology/requirements.ts';
import type { AgentPlan } from '../shared/wire.ts';
import type { Evaluator } from './alerts/evaluator.ts';
import { LINK_RULES, type LinkRule, linkContext } from './alerts/rules.ts';
import type { AlertStatus } from './alerts/state.ts';
import type { Store } from './store/store.ts';

export interface DirectionJson {
  src: string;
  dst: string;
  state: 'ok' | 'pending' | 'firing' | 'unknown';
  rtt_ms: number | null;
  rtt_statistic: string;
  max_rtt_ms: number;
  loss_percent: number | null;
  max_loss_percent: number;
  goodput_bps: number | null;
  required_bps: number;
  rounds_in_window: number;
  last_result_ms: number | null;
  last_throughput_ms: number | null;
  /** The link's alerts as this direction shows them ('ok' when only the other direction breaches). */
  alerts: Record<LinkRule, AlertStatus>;
}

export interface LinkJson {
  sites: [string, string];
  subclusters: string[];
  required_mbps: number;
  max_rtt_ms: number;
  max_loss_percent: number;
  derivation: string;
  state: DirectionJson['state'];
  /** The link's alerts: one per rule and link, fed by the worse direction. */
  alerts: Record<LinkRule, AlertStatus>;
  directions: DirectionJson[];
}

export interface LinksReply {
  time_ms: number;
  window_ms: number;
  rtt_statistic: string;
  links: LinkJson[];
}

const RANK = { unknown: 0, ok: 1, pending: 2, firing: 3 } as const;

export function linksView(
  topology: Topology,
  links: readonly LinkRequirement[],
  evaluator: Evaluator,
  now: number,
): LinksReply {
  const views = evaluator.observe({ topology, links: [...links] }, now);
  const out: LinkJson[] = links.map((l) => {
    const directions = views
      .filter((v) => v.link === l)
      .map((v): DirectionJson => {
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
          goodput_bps: v.observations.goodput_low.observed,
          required_bps: l.required_mbps * 1e6,
          rounds_in_window: v.rounds,
          last_result_ms: v.last_result_ms,
          last_throughput_ms: v.last_throughput_ms,
          alerts,
        };
      });
    const state = directions.reduce<DirectionJson['state']>(
      (w, d) => (RANK[d.state] > RANK[w] ? d.state : w),
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
    time_ms: now,
    window_ms: topology.alerts.window,
    rtt_statistic: topology.thresholds.rtt_statistic,
    links: out,
  };
}

export function alertsView(evaluator: Evaluator, store: Store) {
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
    }))
    .sort((a, b) => a.dedup_key.localeCompare(b.dedup_key));
  const recent = store.recentAlertEvents(100).map((e) => ({ seq: e.seq, ...e.value }));
  return { active, recent };
}

export function agentsView(
  topology: Topology,
  plans: ReadonlyMap<string, AgentPlan>,
  store: Store,
  startedAtMs: number,
  now: number,
) {
  const seen = new Map(store.agents().map((a) => [a.site, a]));
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
        /** Never seen since the store was created: counted from the collector's start. */
        silent_for_ms: now - (last ?? startedAtMs),
        version: a?.heartbeat.version ?? null,
        started_at_ms: a?.heartbeat.started_at_ms ?? null,
        plan_version: a?.heartbeat.plan_version ?? null,
        plan_current: a ? a.heartbeat.plan_version === plan : false,
        spool_queued: a?.heartbeat.spool_queued ?? null,
        spool_dropped: a?.heartbeat.spool_dropped ?? null,
        errors: a?.heartbeat.errors ?? null,
      };
    }),
  };
}
