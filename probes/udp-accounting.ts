// Pure accounting of a UDP echo round: which probes count as received, reordering, duplicates and
// RFC 3550 jitter, from the replies in the order they arrived.
import { rfc3550Jitter } from '../shared/stats.ts';
import type { EchoArrival } from './udp-echo-payload.ts';

export interface EchoRoundAccount {
  /** Per-probe RTT in send order; null where lost (no reply, or the reply came after the timeout). */
  samples_ms: (number | null)[];
  /** Replies whose sequence number is lower than one already received (late, but not lost). */
  reordered: number;
  /** Further copies of a reply already received; they never count twice. */
  duplicates: number;
  /** RFC 3550 interarrival jitter of the forward direction (probe → reflector), in ms. */
  jitter_ms: number;
}

/**
 * `arrivals` in arrival order; replies with a sequence number outside the round are ignored. A reply that
 * came after its probe's timeout is lost for RTT and loss, though it still tells of reordering. Jitter is
 * RFC 3550 §6.4.1 over forward transits (T2 − T1) taken in the order the reflector received the
 * requests (T2), as the receiver of a stream sent at a regular spacing computes it.
 */
export function accountEchoRound(
  count: number,
  arrivals: readonly EchoArrival[],
  timeout_ms: number,
): EchoRoundAccount {
  const samples_ms: (number | null)[] = new Array(count).fill(null);
  const seen = new Set<number>();
  let highest = -1;
  let reordered = 0;
  let duplicates = 0;
  const forward: EchoArrival[] = [];
  for (const a of arrivals) {
    if (!Number.isInteger(a.seq) || a.seq < 0 || a.seq >= count) continue;
    if (seen.has(a.seq)) {
      duplicates++;
      continue;
    }
    seen.add(a.seq);
    if (a.seq < highest) reordered++;
    else highest = a.seq;
    if (a.wait_ms > timeout_ms) continue;
    samples_ms[a.seq] = Math.max(0, a.rtt_ms);
    forward.push(a);
  }
  forward.sort((x, y) => x.reflector_rx_ms - y.reflector_rx_ms);
  return { samples_ms, reordered, duplicates, jitter_ms: rfc3550Jitter(forward.map((a) => a.transit_ms)) };
}
