// A plan as the collector sends it, for the agent's unit tests: site A measuring B and C, A the iperf3
// client of one throughput slot (with B) and the server of another (for C).
import type { AgentPlan } from '../../shared/wire.ts';

export function samplePlan(over: Partial<AgentPlan> = {}): AgentPlan {
  return {
    site: 'A',
    plan_version: 'v1',
    responder: { address: '127.0.0.1', reflector_port: 4789, iperf3_port: 5201 },
    heartbeat: { interval_ms: 60_000, timeout_ms: 30_000 },
    plan_refresh_ms: 30_000,
    rtt: { method: 'udp', interval_ms: 10_000, count: 5, spacing_ms: 200, timeout_ms: 2000, tcp_port: null },
    peers: [
      { site: 'B', address: '127.0.0.2', reflector_port: 4789, iperf3_port: 5201 },
      { site: 'C', address: '127.0.0.3', reflector_port: 4789, iperf3_port: 5201 },
    ],
    throughput: {
      enabled: true,
      cycle_ms: 3_600_000,
      duration_ms: 10_000,
      omit_ms: 1000,
      protocol: 'tcp',
      streams: 1,
      reverse: true,
      slots: [
        { client: 'A', peer: 'B', offset_ms: 0, length_ms: 25_000, required_bps: 5e6 },
        { client: 'C', peer: 'A', offset_ms: 25_000, length_ms: 25_000, required_bps: 1e7 },
      ],
    },
    ...over,
  };
}
