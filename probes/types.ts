// The one shape every RTT probe has (icmp.ts, tcp.ts, udp.ts), registered in probes/index.ts.
import type { RttResult } from '../shared/result.ts';

export interface RttTarget {
  /** Site names (or host names for one-shot CLI use) that go into the Result. */
  src: string;
  dst: string;
  /** Address to probe. */
  host: string;
  /** Port, for tcp (the peer's listener) and udp (the peer's reflector). */
  port?: number;
  /**
   * tcp: the port is a wanwatch reflector's, so a refused connection means the reflector is not running
   * (its agent restarting), not a lost probe (probes/tcp.ts). Unset: an arbitrary port, where it is loss.
   * udp always aims at a reflector.
   */
  reflector?: boolean;
}

export interface RttRoundOptions {
  count: number;
  /** Gap between the starts of consecutive probes. */
  spacing_ms: number;
  /** How long to wait for each reply. */
  timeout_ms: number;
  signal?: AbortSignal;
}

/** Runs one round of `count` probes. Never throws: a failure is a Result with `error` set. */
export type RttProbe = (target: RttTarget, opts: RttRoundOptions) => Promise<RttResult>;
