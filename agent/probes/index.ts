// Every RTT probe method, by the name the topology file and the CLI use (`method: icmp | tcp | udp`).
import type { ProbeMethod } from '../../shared/result.ts';
import { icmpProbe } from './icmp.ts';
import { tcpProbe } from './tcp.ts';
import type { RttProbe } from './types.ts';
import { udpProbe } from './udp.ts';

export const RTT_PROBES: Record<ProbeMethod, RttProbe> = {
  icmp: icmpProbe,
  tcp: tcpProbe,
  udp: udpProbe,
};
