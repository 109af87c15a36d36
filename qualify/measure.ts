// The real instruments behind a qualification: the agent's RTT probes and iperf3 runner, aimed at a
// peer's responder (`wanwatch reflector` or an agent). Used by direct mode and by agents running a
// mesh-qualification task.
import { RTT_PROBES } from '../probes/index.ts';
import { runThroughput } from '../probes/throughput.ts';
import type { ProbeMethod } from '../shared/result.ts';
import type { QualifyDeps } from './run.ts';

export interface PeerEndpoint {
  /** Names that go into the Results. */
  src: string;
  dst: string;
  host: string;
  reflector_port: number;
  iperf3_port: number;
  method: ProbeMethod;
}

export function realInstruments(peer: PeerEndpoint): QualifyDeps {
  const probe = RTT_PROBES[peer.method];
  return {
    rttProbe: (target, opts) => probe(target, opts),
    throughput: (req) =>
      runThroughput(
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

/** The RTT target for a peer: the reflector's port for udp and tcp, none for icmp. */
export function rttTarget(peer: PeerEndpoint) {
  return {
    src: peer.src,
    dst: peer.dst,
    host: peer.host,
    ...(peer.method === 'icmp' ? {} : { port: peer.reflector_port }),
  };
}
