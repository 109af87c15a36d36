// The latest RTT round of each link direction as the agents pushed it: its RTT statistics, jitter and
// loss, for /metrics. Kept in memory from ingest (the newest by time, whatever order a spool resends
// them in), so a scrape reads no store; after a restart a direction shows again at its next round.
import type { RttResult } from '../../shared/result.ts';

export interface LatestRound {
  time_ms: number;
  min_ms: number | null;
  median_ms: number | null;
  p95_ms: number | null;
  max_ms: number | null;
  jitter_ms: number | null;
  loss_percent: number;
}

export class LatestRounds {
  private readonly byDirection = new Map<string, LatestRound>();

  /** Rounds that could not be made (no statistics) say nothing about the link and are skipped. */
  record(r: RttResult): void {
    if (r.rtt === null) return;
    const key = directionKey(r.src, r.dst);
    const known = this.byDirection.get(key);
    if (known !== undefined && known.time_ms >= r.time_ms) return;
    this.byDirection.set(key, {
      time_ms: r.time_ms,
      min_ms: r.rtt.rtt_min_ms,
      median_ms: r.rtt.rtt_median_ms,
      p95_ms: r.rtt.rtt_p95_ms,
      max_ms: r.rtt.rtt_max_ms,
      jitter_ms: r.rtt.jitter_ms,
      loss_percent: r.rtt.loss_percent,
    });
  }

  get(src: string, dst: string): LatestRound | undefined {
    return this.byDirection.get(directionKey(src, dst));
  }
}

const directionKey = (src: string, dst: string) => `${src}\u0000${dst}`;
