// The throughput schedule: when each iperf3 test runs. An iperf3 server serves one test at a time,
// and a site's link is disturbed by two tests at once, so no two tests that share a site may overlap.
// Tests are grouped into rounds by greedy edge colouring (each test is an edge between two sites; a
// round holds tests whose sites are all different); rounds run back to back in a cycle that repeats.
// Pure: a function of the tests and the settings.
import type { ThroughputSlot } from '../../shared/wire.ts';

export interface ThroughputTest {
  /** Runs the iperf3 client. */
  client: string;
  /** Runs the iperf3 server. */
  peer: string;
  required_bps: number;
}

export interface ScheduleSettings {
  /** How often each test should run (probes.throughput.interval). */
  interval_ms: number;
  duration_ms: number;
  /** iperf3 -O: seconds left out at the start, which lengthen the test. */
  omit_ms: number;
  /** A reverse (-R) test runs after the forward one, doubling the time. */
  reverse: boolean;
  /** Slack between rounds for start-up, clock skew and the report. */
  margin_ms: number;
}

export interface ThroughputSchedule {
  /** max(interval, rounds × round length): a cycle never squeezes rounds together. */
  cycle_ms: number;
  round_ms: number;
  rounds: number;
  slots: ThroughputSlot[];
}

export const DEFAULT_MARGIN_MS = 5000;

/** Round length: the test (twice when reverse) plus the margin. */
export function roundLength(s: Omit<ScheduleSettings, 'interval_ms'>): number {
  return (s.duration_ms + s.omit_ms) * (s.reverse ? 2 : 1) + s.margin_ms;
}

export function scheduleThroughput(
  tests: readonly ThroughputTest[],
  s: ScheduleSettings,
): ThroughputSchedule {
  const round_ms = roundLength(s);
  const busy: Set<string>[] = [];
  const slots: ThroughputSlot[] = [];
  for (const t of tests) {
    let r = busy.findIndex((sites) => !sites.has(t.client) && !sites.has(t.peer));
    if (r === -1) {
      r = busy.length;
      busy.push(new Set());
    }
    busy[r]?.add(t.client).add(t.peer);
    slots.push({
      client: t.client,
      peer: t.peer,
      offset_ms: r * round_ms,
      length_ms: round_ms,
      required_bps: t.required_bps,
    });
  }
  const rounds = busy.length;
  return { cycle_ms: Math.max(s.interval_ms, rounds * round_ms, 1), round_ms, rounds, slots };
}
