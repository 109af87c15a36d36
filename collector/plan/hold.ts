// Holding the monitoring plan's throughput tests while a mesh qualification runs at a site: a monitoring
// test there would share the site's iperf3 server and link with the qualification's tests and RTT rounds,
// and a healthy link could fail its qualification on the load (or be judged by monitoring on the
// qualification's). The collector leaves every slot that involves a held site out of the plans it serves
// (so plan_version changes and the agents re-plan at their next refresh), remembers which plan each agent
// was last served, and says when the held tests are surely over: once every agent that runs such a test
// has been served a plan without it, and the last test it could have started before that has ended.
// Agents need no change: they already follow whatever slots their plan lists.
import type { AgentPlan, ThroughputSlot } from '../../shared/wire.ts';
import { planVersion } from './plan.ts';
import { DEFAULT_MARGIN_MS } from './schedule.ts';

const slotKey = (s: ThroughputSlot) => `${s.client}>${s.peer}@${s.offset_ms}`;
const involves = (s: ThroughputSlot, sites: ReadonlySet<string>) => sites.has(s.client) || sites.has(s.peer);

/** The plan without the throughput slots that involve a held site (the plan itself when none does). */
export function withHold(plan: AgentPlan, held: ReadonlySet<string>): AgentPlan {
  const slots = plan.throughput.slots.filter((s) => !involves(s, held));
  if (slots.length === plan.throughput.slots.length) return plan;
  const { plan_version: _, ...body } = plan;
  const heldBody = { ...body, throughput: { ...body.throughput, slots } };
  return { ...heldBody, plan_version: planVersion(heldBody) };
}

/**
 * A test the agent may have started just before it got the held plan: the plan's answer reaches it a
 * moment after the collector sent it, and its clock may be off by the schedule's margin.
 */
const STARTED_BEFORE_GRACE_MS = DEFAULT_MARGIN_MS;

/** How long an agent has to fetch the held plan before it is taken to be down (it then runs nothing). */
export const ackDeadlineMs = (plan: AgentPlan) => 2 * plan.plan_refresh_ms + 5000;

export class ServedPlans {
  /** Per site: the slots of the plan it was last served, and since when it has had those. */
  private readonly served = new Map<string, { slots: Set<string>; since_ms: number }>();

  /** The plan was sent to the site's agent (GET /api/v1/plan): its timetable follows it from now. */
  record(site: string, plan: AgentPlan, now: number): void {
    const slots = new Set(plan.throughput.enabled ? plan.throughput.slots.map(slotKey) : []);
    const before = this.served.get(site);
    const same =
      before !== undefined &&
      before.slots.size === slots.size &&
      [...slots].every((k) => before.slots.has(k));
    if (!same) this.served.set(site, { slots, since_ms: now });
  }

  /**
   * When no monitoring throughput test that involves `sites` can be running any more: null while an
   * agent that runs such a test (by the plans in force, `base`) has not yet been served a plan without
   * it and may still fetch one (held since `holdSince`).
   */
  clearAt(
    sites: ReadonlySet<string>,
    base: ReadonlyMap<string, AgentPlan>,
    holdSince: number,
    now: number,
  ): number | null {
    let clear = holdSince;
    for (const [client, plan] of base) {
      const t = plan.throughput;
      if (!t.enabled) continue;
      for (const slot of t.slots) {
        // Each slot once, from the plan of the agent that starts it.
        if (slot.client !== client || !involves(slot, sites)) continue;
        const served = this.served.get(client);
        let droppedAt: number;
        if (served !== undefined && !served.slots.has(slotKey(slot))) droppedAt = served.since_ms;
        else if (now - holdSince >= ackDeadlineMs(plan)) droppedAt = holdSince + ackDeadlineMs(plan);
        else return null;
        const last = droppedAt + STARTED_BEFORE_GRACE_MS - slot.offset_ms;
        const start = Math.floor(last / t.cycle_ms) * t.cycle_ms + slot.offset_ms;
        clear = Math.max(clear, start + slot.length_ms);
      }
    }
    return clear;
  }
}
