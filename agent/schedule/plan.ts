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

/** Start-up, connection set-up and the report of each iperf3 run, beyond its duration and omit. */
export const IPERF3_OVERHEAD_MS = 1000;

/**
 * Whether an RTT round to `peer` over [start_ms, start_ms + round_ms) would overlap a throughput test
 * between this site and the peer (whichever of the two runs the iperf3 client): from the slot's
 * offset for the test's own time (duration + omit, twice with reverse, plus IPERF3_OVERHEAD_MS per
 * run), not the slot's idle margin. Such a round is not run: the test fills the link's queue, so the
 * round would measure the agent's own load (and count the probes the full queue drops) as the link's
 * RTT and loss, and breach rtt_high and loss_high on a healthy link whose rate is limited. The test
 * measures latency under load itself (`loaded_rtt`).
 */
export function duringThroughputSlot(
  plan: AgentPlan,
  peer: string,
  start_ms: number,
  round_ms: number,
): boolean {
  const t = plan.throughput;
  if (!t.enabled) return false;
  const runs = t.reverse ? 2 : 1;
  const end = start_ms + Math.max(round_ms, 1);
  for (const slot of t.slots) {
    const ours =
      (slot.client === plan.site && slot.peer === peer) || (slot.client === peer && slot.peer === plan.site);
    if (!ours) continue;
    const busy_ms = Math.min(slot.length_ms, runs * (t.duration_ms + t.omit_ms + IPERF3_OVERHEAD_MS));
    // The slot's occurrences that could overlap: from the one that started last before the round.
    const first = Math.floor((start_ms - slot.offset_ms - busy_ms) / t.cycle_ms) + 1;
    for (let k = first; k * t.cycle_ms + slot.offset_ms < end; k++) {
      if (k * t.cycle_ms + slot.offset_ms + busy_ms > start_ms) return true;
    }
  }
  return false;
}
