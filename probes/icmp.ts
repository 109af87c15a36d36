// ICMP echo (raw sockets: root or CAP_NET_RAW). With the kernel timestamps addon (probes/timestamps.ts)
// the probe is probes/icmp-native.ts, timed by the kernel; without it, net-ping (probes/icmp-netping.ts),
// timed in JavaScript and loaded only then.
import type { RttResult } from '../shared/result.ts';
import { checkNativeIcmpPrivilege, closeNativeIcmp, nativeIcmpProbe } from './icmp-native.ts';
import { checkNetPingPrivilege, closeNetPingSessions, type IcmpCheck, netPingProbe } from './icmp-netping.ts';
import { kernelTimestamps } from './timestamps.ts';
import type { RttProbe } from './types.ts';

export { ICMP_PRIVILEGE_HINT } from './icmp-packet.ts';

let native: RttProbe | undefined;

export const icmpProbe: RttProbe = (target, opts): Promise<RttResult> => {
  const addon = kernelTimestamps().native;
  if (!addon) return netPingProbe(target, opts);
  native ??= nativeIcmpProbe(addon);
  return native(target, opts);
};

/** Closes every ICMP socket (at shutdown; rounds in flight end with their replies lost). */
export function closeIcmpSessions(): void {
  closeNativeIcmp();
  closeNetPingSessions();
}

/** Whether this process may open raw ICMP sockets; the message says how to allow it when not. */
export function checkIcmpPrivilege(): IcmpCheck {
  const addon = kernelTimestamps().native;
  return addon ? checkNativeIcmpPrivilege(addon) : checkNetPingPrivilege();
}
