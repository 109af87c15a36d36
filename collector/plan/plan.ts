// Each agent's plan: whom it measures (every site it shares a link with), how (the topology's
// `probes:` section) and when its throughput tests run (collector/plan/schedule.ts). Agents fetch it
// with GET /api/v1/plan?site=S and poll again every plan_refresh_ms; plan_version changes whenever
// anything in the plan does, so an agent knows when to re-plan.
import { createHash } from 'node:crypto';
import type { Topology } from '../../shared/topology/model.ts';
import { deriveLinks, type LinkRequirement } from '../../shared/topology/requirements.ts';
import type { AgentPlan, Peer } from '../../shared/wire.ts';
import {
  DEFAULT_MARGIN_MS,
  scheduleThroughput,
  type ThroughputSchedule,
  type ThroughputTest,
} from './schedule.ts';

export const DEFAULT_PLAN_REFRESH_MS = 30_000;

export interface PlanOptions {
  plan_refresh_ms?: number;
  margin_ms?: number;
}

/** The iperf3 tests that cover every link in both directions: one -R test per link, or two without -R. */
export function throughputTests(links: readonly LinkRequirement[], reverse: boolean): ThroughputTest[] {
  const tests: ThroughputTest[] = [];
  for (const l of links) {
    const [a, b] = l.sites;
    const required_bps = l.required_mbps * 1e6;
    tests.push({ client: a, peer: b, required_bps });
    if (!reverse) tests.push({ client: b, peer: a, required_bps });
  }
  return tests;
}

export function planSchedule(topology: Topology, links: readonly LinkRequirement[], opts: PlanOptions = {}) {
  const t = topology.probes.throughput;
  return scheduleThroughput(t.enabled ? throughputTests(links, t.reverse) : [], {
    interval_ms: t.interval,
    duration_ms: t.duration,
    omit_ms: t.omit,
    reverse: t.reverse,
    margin_ms: opts.margin_ms ?? DEFAULT_MARGIN_MS,
  });
}

/** Every site's plan, from one schedule so that the sites agree on it. */
export function buildPlans(topology: Topology, opts: PlanOptions = {}): Map<string, AgentPlan> {
  const links = deriveLinks(topology);
  const schedule = planSchedule(topology, links, opts);
  const plans = new Map<string, AgentPlan>();
  for (const site of topology.sites.keys()) plans.set(site, planFor(topology, site, links, schedule, opts));
  return plans;
}

export function planFor(
  topology: Topology,
  site: string,
  links: readonly LinkRequirement[],
  schedule: ThroughputSchedule,
  opts: PlanOptions = {},
): AgentPlan {
  const self = topology.sites.get(site);
  if (!self) throw new Error(`unknown site "${site}"`);
  const peerNames = new Set<string>();
  for (const l of links) {
    if (l.sites[0] === site) peerNames.add(l.sites[1]);
    if (l.sites[1] === site) peerNames.add(l.sites[0]);
  }
  const peers: Peer[] = [...peerNames].sort().map((name) => {
    const p = topology.sites.get(name);
    if (!p) throw new Error(`link to unknown site "${name}"`);
    return { site: name, address: p.address, reflector_port: p.reflector_port, iperf3_port: p.iperf3_port };
  });
  const { rtt, throughput, heartbeat } = topology.probes;
  const body: Omit<AgentPlan, 'plan_version'> = {
    site,
    responder: { address: self.address, reflector_port: self.reflector_port, iperf3_port: self.iperf3_port },
    heartbeat: { interval_ms: heartbeat.interval, timeout_ms: heartbeat.timeout },
    plan_refresh_ms: opts.plan_refresh_ms ?? DEFAULT_PLAN_REFRESH_MS,
    rtt: {
      method: rtt.method,
      interval_ms: rtt.interval,
      count: rtt.count,
      spacing_ms: rtt.spacing,
      timeout_ms: rtt.timeout,
      tcp_port: rtt.tcp_port ?? null,
    },
    peers,
    throughput: {
      enabled: throughput.enabled,
      cycle_ms: schedule.cycle_ms,
      duration_ms: throughput.duration,
      omit_ms: throughput.omit,
      protocol: throughput.protocol,
      streams: throughput.streams,
      reverse: throughput.reverse,
      rate_factor: throughput.rate === 'full' ? null : 1 + throughput.margin_percent / 100,
      slots: schedule.slots.filter((s) => s.client === site || s.peer === site),
    },
  };
  return { ...body, plan_version: planVersion(body) };
}

/** A short hash of the plan's content: equal plans, equal versions. */
export function planVersion(body: Omit<AgentPlan, 'plan_version'>): string {
  return createHash('sha256').update(JSON.stringify(body)).digest('hex').slice(0, 16);
}
