// Which port each measurement aims at on a peer: the one rule the agent's monitoring rounds, mesh
// qualification tasks, direct qualification and the measuring commands all follow.
import type { ProbeMethod } from './result.ts';

/** The port a site's reflector answers UDP echo and TCP connects on, unless the topology says otherwise. */
export const DEFAULT_REFLECTOR_PORT = 4789;
/** iperf3's own default server port. */
export const DEFAULT_IPERF3_PORT = 5201;

export interface PeerPorts {
  reflector_port: number;
  /** `probes.rtt.tcp_port`: TCP probes connect here instead (a port the far end already serves). */
  tcp_port?: number | null;
}

/**
 * The port an RTT probe of `method` aims at: the reflector for udp; `tcp_port` for tcp when the topology
 * names one, else the reflector (which accepts TCP too); none for icmp.
 */
export function rttPort(method: ProbeMethod, peer: PeerPorts): number | undefined {
  if (method === 'icmp') return undefined;
  if (method === 'tcp') return peer.tcp_port ?? peer.reflector_port;
  return peer.reflector_port;
}

/**
 * Where an RTT probe of `method` aims, and whether that is a wanwatch reflector (whose refusal means
 * the reflector is not running, not that the path lost the probe: probes/types.ts `reflector`).
 */
export function rttEndpoint(method: ProbeMethod, peer: PeerPorts): { port?: number; reflector: boolean } {
  const port = rttPort(method, peer);
  return port === undefined ? { reflector: false } : { port, reflector: port === peer.reflector_port };
}
