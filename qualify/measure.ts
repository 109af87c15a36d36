// The real instruments behind a qualification: the RTT probes and iperf3 runner, aimed at a peer's
// responder (`wanwatch reflector` or an agent). Used by direct mode and by agents running a
// mesh-qualification task, which pass in their own probes and runner.
import { RTT_PROBES } from '../probes/index.ts';
import { runThroughput, type ThroughputRunner } from '../probes/throughput.ts';
import type { RttProbe } from '../probes/types.ts';
import { type PeerPorts, rttEndpoint } from '../shared/ports.ts';
import type { ProbeMethod } from '../shared/result.ts';
import type { QualifyDeps } from './run.ts';

export interface PeerEndpoint extends PeerPorts {
  /** Names that go into the Results. */
  src: string;
  dst: string;
  host: string;
  iperf3_port: number;
  method: ProbeMethod;
}

/** The probes and the iperf3 runner a qualification of `peer` uses: wanwatch's own unless given. */
export function instruments(
  peer: PeerEndpoint,
  using: { rttProbe?: RttProbe; runThroughput?: ThroughputRunner } = {},
): QualifyDeps {
  const probe = using.rttProbe ?? RTT_PROBES[peer.method];
  const run = using.runThroughput ?? runThroughput;
  return {
    rttProbe: (target, opts) => probe(target, opts),
    throughput: (req) =>
      run(
        { src: peer.src, dst: peer.dst, host: peer.host, port: peer.iperf3_port },
        {
          protocol: req.protocol,
          duration_ms: req.duration_ms,
          omit_ms: 0,
          streams: 1,
          reverse: req.reverse,
          ...(req.rate_bps !== null ? { rate_bps: req.rate_bps } : {}),
          signal: req.signal,
        },
      ),
  };
}

/** The RTT target for a peer, on the port its method uses (shared/ports.ts). */
export function rttTarget(peer: PeerEndpoint) {
  return { src: peer.src, dst: peer.dst, host: peer.host, ...rttEndpoint(peer.method, peer) };
}
