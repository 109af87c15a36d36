// Every RTT probe method, by the name the topology file and the CLI use (`method: icmp | tcp | udp`).
import type { ProbeMethod } from '../shared/result.ts';
import { icmpProbe } from './icmp.ts';
import { errorMessage, failedRound } from './round.ts';
import { tcpProbe } from './tcp.ts';
import type { RttProbe } from './types.ts';
import { udpProbe } from './udp.ts';

/** The RttProbe contract says "never throws"; should a probe still throw, that is a bug: an internal result. */
function neverThrows(method: ProbeMethod, probe: RttProbe): RttProbe {
  return async (target, opts) => {
    const time_ms = Date.now();
    try {
      return await probe(target, opts);
    } catch (err) {
      return failedRound(
        method,
        target,
        target.host,
        time_ms,
        'internal',
        `${method} probe of ${target.host} failed unexpectedly: ${errorMessage(err)}`,
      );
    }
  };
}

export const RTT_PROBES: Record<ProbeMethod, RttProbe> = {
  icmp: neverThrows('icmp', icmpProbe),
  tcp: neverThrows('tcp', tcpProbe),
  udp: neverThrows('udp', udpProbe),
};
