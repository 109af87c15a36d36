// One ICMP round, whichever socket sends it (probes/icmp-native.ts, probes/icmp-netping.ts): check the
// options, resolve the host, open the socket (a permission error is permission_denied with the hint),
// send the probes spaced, and summarize what came back.
import type { RttResult } from '../shared/result.ts';
import { ICMP_PRIVILEGE_HINT } from './icmp-packet.ts';
import {
  checkRoundOptions,
  errorMessage,
  failedRound,
  nowMs,
  type ProbeOutcome,
  resolveHost,
  roundResult,
  sendSpaced,
} from './round.ts';
import type { RttProbe } from './types.ts';

export interface IcmpSender<S> {
  /** The socket for an address family; throws when it cannot be opened. */
  open(family: 4 | 6, timeout_ms: number): S;
  /** Whether an error of open() means the process lacks the privilege. */
  isPermissionError(err: unknown): boolean;
  /** One echo request and its outcome. */
  echo(socket: S, address: string, timeout_ms: number): Promise<ProbeOutcome>;
}

export function icmpRoundProbe<S>(sender: IcmpSender<S>): RttProbe {
  return async (target, opts): Promise<RttResult> => {
    const time_ms = Date.now();
    const bad = checkRoundOptions(opts);
    if (bad) return failedRound('icmp', target, target.host, time_ms, 'internal', `icmp probe: ${bad}`);
    let resolved: { address: string; family: 4 | 6 };
    try {
      resolved = await resolveHost(target.host);
    } catch (err) {
      const message = `cannot resolve "${target.host}": ${errorMessage(err)}`;
      return failedRound('icmp', target, target.host, time_ms, 'dns', message);
    }
    let s: S;
    try {
      s = sender.open(resolved.family, opts.timeout_ms);
    } catch (err) {
      const perm = sender.isPermissionError(err);
      return failedRound(
        'icmp',
        target,
        resolved.address,
        time_ms,
        perm ? 'permission_denied' : 'internal',
        perm
          ? `cannot open a raw ICMP socket (${errorMessage(err)}). ${ICMP_PRIVILEGE_HINT}`
          : `cannot open an ICMP socket: ${errorMessage(err)}`,
      );
    }
    const t0 = nowMs();
    const outcomes = await sendSpaced(opts.count, opts.spacing_ms, opts.signal, () =>
      sender.echo(s, resolved.address, opts.timeout_ms),
    );
    return roundResult({
      method: 'icmp',
      target,
      label: resolved.address,
      time_ms,
      duration_ms: nowMs() - t0,
      outcomes,
    });
  };
}
