// Turns an agent's plan into its timetable: one RTT job per peer, spread over the RTT interval, and
// one throughput job per slot in which this site is the iperf3 client, at the slot's offset in the
// collector's cycle. Pure: the runtime recomputes it whenever the plan's version changes.
import type { AgentPlan, Peer, ThroughputSlot } from '../../shared/wire.ts';
import { type PeriodicJob, spreadEvenly } from './periodic.ts';

export interface Timetable {
  jobs: PeriodicJob[];
  rtt: Map<string, Peer>;
  throughput: Map<string, { slot: ThroughputSlot; peer: Peer }>;
}

export const rttKey = (peer: string) => `rtt:${peer}`;
export const throughputKey = (slot: ThroughputSlot) =>
  `throughput:${slot.client}>${slot.peer}@${slot.offset_ms}`;

export function timetable(plan: AgentPlan): Timetable {
  const peers = new Map(plan.peers.filter((p) => p.site !== plan.site).map((p) => [p.site, p]));
  const rtt = new Map<string, Peer>();
  for (const peer of peers.values()) rtt.set(rttKey(peer.site), peer);
  const jobs = spreadEvenly([...rtt.keys()], plan.rtt.interval_ms);

  const throughput = new Map<string, { slot: ThroughputSlot; peer: Peer }>();
  if (plan.throughput.enabled) {
    for (const slot of plan.throughput.slots) {
      if (slot.client !== plan.site) continue; // the peer's agent runs this one; we only serve it
      const peer = peers.get(slot.peer);
      if (peer === undefined) continue;
      const key = throughputKey(slot);
      throughput.set(key, { slot, peer });
      jobs.push({
        key,
        period_ms: plan.throughput.cycle_ms,
        phase_ms: slot.offset_ms % plan.throughput.cycle_ms,
      });
    }
  }
  return { jobs, rtt, throughput };
}
