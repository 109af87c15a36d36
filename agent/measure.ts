// Measuring one peer as the plan says: an RTT round, or a throughput slot (one iperf3 test, two with
// reverse). Every measurement becomes exactly one Result, whatever the probe does: a probe or runner
// that throws, or returns something that is not a valid Result, becomes an `internal` error Result
// (probes/failed.ts), counted for the next heartbeat like every error Result, so a bug in a probe costs
// a data point, never the agent.
//
// Except one made while the agent shuts down: a round or throughput test still running when stop() came
// is dropped, not stored. Its probes were cut short (never sent, or their replies no longer awaited), so
// it says nothing about the link, and stored it would read as loss, or as a failed measurement, to any
// rule or dashboard that does not know to skip it (an older collector's link_down takes a round without
// figures for a dead link). Storing it as `cancelled` without figures was the other choice; dropping
// needs nothing from the collector, and the gap is accounted for: the agent logs how many it dropped
// when it stops, and its next heartbeat's started_at_ms shows the restart.
import { type FailedAt, failedRtt, failedThroughput } from '../probes/failed.ts';
import { errorMessage } from '../probes/round.ts';
import type { ThroughputRunner, ThroughputTarget } from '../probes/throughput.ts';
import type { RttProbe, RttTarget } from '../probes/types.ts';
import { rttEndpoint } from '../shared/ports.ts';
import {
  type ProbeMethod,
  type Result,
  type RttResult,
  rttResultSchema,
  type ThroughputResult,
  throughputResultSchema,
} from '../shared/result.ts';
import type { AgentPlan, Peer, ThroughputSlot } from '../shared/wire.ts';

export interface MeasureDeps {
  rttProbes: Record<ProbeMethod, RttProbe>;
  runThroughput: ThroughputRunner;
  now: () => number;
  /** Aborted at shutdown: cancels the probes running, and a slot's reverse test is not started. */
  signal: AbortSignal;
  emit: (result: Result) => void;
  /** A measurement cut short by shutdown was dropped (see above). */
  dropped?: (result: Result) => void;
}

/** The RTT target for a peer, on the port the plan's method uses there (shared/ports.ts). */
export function rttTarget(plan: AgentPlan, peer: Peer): RttTarget {
  const aim = rttEndpoint(plan.rtt.method, {
    reflector_port: peer.reflector_port,
    tcp_port: plan.rtt.tcp_port,
  });
  return { src: plan.site, dst: peer.site, host: peer.address, ...aim };
}

export class Measurer {
  private readonly deps: MeasureDeps;

  constructor(deps: MeasureDeps) {
    this.deps = deps;
  }

  async rttRound(plan: AgentPlan, peer: Peer): Promise<void> {
    if (this.deps.signal.aborted) return;
    this.keep(await this.measureRtt(plan, peer));
  }

  async throughputSlot(plan: AgentPlan, slot: ThroughputSlot, peer: Peer): Promise<void> {
    const directions = plan.throughput.reverse ? [false, true] : [false];
    for (const reverse of directions) {
      if (this.deps.signal.aborted) return;
      this.keep(await this.oneThroughput(plan, slot, peer, reverse));
    }
  }

  /** Emits a measurement, unless shutdown came while it ran: then it is dropped (see the top of the file). */
  private keep(result: Result): void {
    if (this.deps.signal.aborted) this.deps.dropped?.(result);
    else this.deps.emit(result);
  }

  private async measureRtt(plan: AgentPlan, peer: Peer): Promise<RttResult> {
    const method = plan.rtt.method;
    const target = rttTarget(plan, peer);
    const label = target.port === undefined ? target.host : `${target.host}:${target.port}`;
    const started = this.deps.now();
    const fail = (message: string): RttResult =>
      failedRtt(method, this.since(started, target, label), 'internal', message);
    let result: RttResult;
    try {
      result = await this.deps.rttProbes[method](target, {
        count: plan.rtt.count,
        spacing_ms: plan.rtt.spacing_ms,
        timeout_ms: plan.rtt.timeout_ms,
        signal: this.deps.signal,
      });
    } catch (err) {
      return fail(`${method} probe to ${peer.site} (${target.host}) threw: ${errorMessage(err)}`);
    }
    const checked = rttResultSchema.safeParse(result);
    if (!checked.success) {
      return fail(
        `${method} probe to ${peer.site} returned a malformed result: ${checked.error.issues[0]?.message}`,
      );
    }
    return checked.data;
  }

  /** One iperf3 test; the runner sends an RTT round to the same peer while it runs (latency under load). */
  private async oneThroughput(
    plan: AgentPlan,
    slot: ThroughputSlot,
    peer: Peer,
    reverse: boolean,
  ): Promise<ThroughputResult> {
    const t = plan.throughput;
    const target: ThroughputTarget = {
      src: plan.site,
      dst: peer.site,
      host: peer.address,
      port: peer.iperf3_port,
    };
    const loadedPort = rttTarget(plan, peer).port;
    const started = this.deps.now();
    try {
      const result = await this.deps.runThroughput(target, {
        protocol: t.protocol,
        duration_ms: t.duration_ms,
        omit_ms: t.omit_ms,
        streams: t.streams,
        reverse,
        // UDP at the required rate; TCP at most at the required rate plus the plan's margin, or full.
        ...(t.protocol === 'udp'
          ? { rate_bps: slot.required_bps }
          : t.rate_factor
            ? { rate_bps: slot.required_bps * t.rate_factor }
            : {}),
        loadedRtt: {
          probe: plan.rtt.method,
          count: plan.rtt.count,
          spacing_ms: plan.rtt.spacing_ms,
          timeout_ms: plan.rtt.timeout_ms,
          ...(loadedPort === undefined ? {} : { port: loadedPort }),
        },
        signal: this.deps.signal,
      });
      const checked = throughputResultSchema.safeParse(result);
      if (!checked.success)
        throw new Error(`returned a malformed result: ${checked.error.issues[0]?.message}`);
      return checked.data;
    } catch (err) {
      return failedThroughput(
        this.since(started, target, `${target.host}:${target.port}`),
        'internal',
        `iperf3 ${reverse ? 'reverse ' : ''}test to ${peer.site} failed unexpectedly: ${errorMessage(err)}`,
      );
    }
  }

  /** A failed measurement's place and time: from `started` until now. */
  private since(started: number, names: { src: string; dst: string }, label: string): FailedAt {
    return {
      src: names.src,
      dst: names.dst,
      target: label,
      time_ms: Math.round(started),
      duration_ms: Math.max(0, this.deps.now() - started),
    };
  }
}
