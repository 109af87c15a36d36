// What each link direction shows at one moment: every link rule's observation, and what the read API
// shows beside them (rounds that could not be made, stale goodput, the latest failed throughput test).
// Pure, given the results the source hands in; `now` bounds every query, so a result dated in the
// future is never judged before its time and never hides a present failure.
import type { RttStatistic } from '../../shared/config/schema.ts';
import type { ErrorCode, Result, RttResult, ThroughputResult } from '../../shared/result.ts';
import type { Topology } from '../../shared/topology/model.ts';
import type { LinkRequirement } from '../../shared/topology/requirements.ts';
import type { AlertCause, LinkRule } from '../../shared/wire.ts';
import { isMeasured, MEASUREMENT_CAUSES, notMeasured, refusedByReflector } from './measured.ts';
import {
  goodputObservation,
  linkDownObservation,
  lossObservation,
  rttObservation,
  type ThroughputFailure,
  throughputFailingObservation,
} from './observe.ts';
import type { Observation } from './state.ts';

/** What the rules read; the store implements it. No result after `toMs` / `atMs` is ever returned. */
export interface ResultSource {
  /** RTT rounds src → dst with fromMs ≤ time_ms ≤ toMs, oldest first. */
  rttResults(src: string, dst: string, fromMs: number, toMs: number): RttResult[];
  /** The latest RTT result src → dst not after atMs, whatever its age. */
  latestRtt(src: string, dst: string, atMs: number): RttResult | undefined;
  /** Tests between a and b (either the client) with fromMs ≤ time_ms ≤ toMs, newest first. */
  throughputResults(a: string, b: string, fromMs: number, toMs: number, limit: number): ThroughputResult[];
  /** The latest successful test whose data flowed src → dst, not after atMs, whatever its age. */
  latestGoodput(src: string, dst: string, atMs: number): ThroughputResult | undefined;
  /** The earliest time_ms after atMs of any result between a and b (either way); null when none. */
  earliestAfter(a: string, b: string, atMs: number): number | null;
}

/** Goodput from a test that started more than this many throughput cycles ago is stale. */
export const GOODPUT_STALE_CYCLES = 3;

export interface DirectionView {
  src: string;
  dst: string;
  link: LinkRequirement;
  rtt_statistic: RttStatistic;
  /** Measured rounds in the window (what the RTT rules judge). */
  rounds: number;
  last_result_ms: number | null;
  /** The latest round in the window could not be made: why, and when. */
  not_measured: (AlertCause & { time_ms: number }) | null;
  /** The latest goodput src → dst, however old; `goodput_stale` when it is no longer judged. */
  goodput_bps: number | null;
  last_throughput_ms: number | null;
  goodput_stale: boolean;
  throughput_failure: ThroughputFailure | null;
  /**
   * What this direction's agent did last, for measurement_failing: its latest round in the window and
   * its latest throughput test towards dst (when that test could not be made, only if the one before it
   * failed the same way: one crashed test is not a site that cannot measure).
   */
  latest: Result[];
  /**
   * For measurement_failing/refused at dst: the latest round in the window that dst's reflector answered
   * (measured, with figures) or refused (every probe refused); rounds not measured for another reason
   * are skipped. Null when there is none.
   */
  reflector_round: RttResult | null;
  observations: Record<LinkRule, Observation>;
}

/** How far back throughput_failing looks: n + 1 cycles hold n tests of every client (at least the window). */
export function testsHorizonMs(topology: Topology, cycleMs: number): number {
  return Math.max(topology.alerts.window, (topology.alerts.throughput_failures + 1) * cycleMs);
}

const CAUSES: ReadonlySet<ErrorCode> = new Set(MEASUREMENT_CAUSES);

function latestDone(
  round: RttResult | undefined,
  tests: readonly ThroughputResult[],
  src: string,
  dst: string,
) {
  const out: Result[] = round ? [round] : [];
  const [t0, t1] = tests.filter((t) => t.src === src && t.dst === dst);
  if (t0 && (!t0.error || !CAUSES.has(t0.error.code) || t1?.error?.code === t0.error.code)) out.push(t0);
  return out;
}

/** Both directions of one link as observed at `now`, and the first time after `now` they can change. */
export interface LinkObservation {
  views: [DirectionView, DirectionView];
  /**
   * Without a new result, the observation stays the same until this time: a round leaves the window,
   * a goodput goes stale, a test leaves throughput_failing's horizon, or a result dated later comes due.
   */
  next_change_ms: number;
}

/**
 * Observes every rule on both directions of every link at `now`. `cycleMs` is the throughput
 * schedule's cycle (collector/plan/schedule.ts): how often each test comes round.
 */
export function observeLinks(
  topology: Topology,
  links: readonly LinkRequirement[],
  source: ResultSource,
  now: number,
  cycleMs: number,
): DirectionView[] {
  return links.flatMap((link) => observeLink(topology, link, source, now, cycleMs).views);
}

/** Observes every rule on both directions of one link at `now` (see observeLinks). */
export function observeLink(
  topology: Topology,
  link: LinkRequirement,
  source: ResultSource,
  now: number,
  cycleMs: number,
): LinkObservation {
  const windowStart = now - topology.alerts.window;
  const statistic = topology.thresholds.rtt_statistic;
  const n = topology.alerts.throughput_failures;
  const staleMs = GOODPUT_STALE_CYCLES * cycleMs;
  const freshFrom = now - staleMs;
  const testsFrom = now - testsHorizonMs(topology, cycleMs);
  const [a, b] = link.sites;
  const tests = source.throughputResults(a, b, testsFrom, now, 4 * n + 20);
  let next = source.earliestAfter(a, b, now) ?? Number.POSITIVE_INFINITY;
  const oldestTest = tests.at(-1);
  if (oldestTest) next = Math.min(next, oldestTest.time_ms + (now - testsFrom) + 1);
  const observe = (src: string, dst: string): DirectionView => {
    const inWindow = source.rttResults(src, dst, windowStart, now);
    const oldest = inWindow[0];
    if (oldest) next = Math.min(next, oldest.time_ms + topology.alerts.window + 1);
    const rounds = inWindow.filter((r) => notMeasured(r) === null);
    const newest = inWindow.at(-1);
    const why = newest ? notMeasured(newest) : null;
    const goodput = source.latestGoodput(src, dst, now);
    if (goodput && goodput.time_ms >= freshFrom) next = Math.min(next, goodput.time_ms + staleMs + 1);
    const required = link.required_mbps * 1e6;
    const { failure, ...failing } = throughputFailingObservation(
      tests,
      src,
      dst,
      topology.probes.throughput.reverse,
      n,
    );
    return {
      src,
      dst,
      link,
      rtt_statistic: statistic,
      rounds: rounds.length,
      last_result_ms: source.latestRtt(src, dst, now)?.time_ms ?? null,
      not_measured: why && newest ? { code: why.code, message: why.message, time_ms: newest.time_ms } : null,
      goodput_bps: goodput?.throughput?.goodput_bps ?? null,
      last_throughput_ms: goodput?.time_ms ?? null,
      goodput_stale: goodput !== undefined && goodput.time_ms < freshFrom,
      throughput_failure: failure,
      latest: latestDone(newest, tests, src, dst),
      reflector_round: inWindow.findLast((r) => isMeasured(r) || refusedByReflector(r)) ?? null,
      observations: {
        rtt_high: rttObservation(rounds, statistic, link.max_rtt_ms),
        loss_high: lossObservation(rounds, link.max_loss_percent),
        goodput_low: goodputObservation(goodput ? [goodput] : [], src, dst, required, freshFrom),
        link_down: linkDownObservation(rounds.at(-1), windowStart),
        throughput_failing: failing,
      },
    };
  };
  const views: [DirectionView, DirectionView] = [observe(a, b), observe(b, a)];
  return { views, next_change_ms: next };
}
