// The results the rules read, held in memory per link direction as they arrive (issue 14): the RTT
// rounds of the alert window, the throughput tests of throughput_failing's horizon, and the latest
// goodput of each direction. It answers the same queries as the store (ResultSource), with the same
// order and bounds, so the rules judge the same rounds; but a query costs a binary search, not a read
// of the window from SQLite, and only the links whose results changed are observed again.
//
// The store stays the truth: this state is rebuilt from it at start, after a reload and whenever an
// evaluation looks at an earlier time than the one before (a test going back in time); afterwards it
// follows ingest (Store.onStored). Rounds and tests older than what any rule reads at the latest
// evaluation's time are dropped, except each direction's newest round and goodput, which are shown
// however old.
import type { Result, RttResult, ThroughputResult } from '../../shared/result.ts';
import type { LinkRequirement } from '../../shared/topology/requirements.ts';
import type { ResultSource } from '../alerts/directions.ts';
import type { Store } from '../store/store.ts';

const dirKey = (src: string, dst: string): string => `${src}\u0000${dst}`;
/** The link between a and b, in either order. */
export const pairKey = (a: string, b: string): string => (a < b ? dirKey(a, b) : dirKey(b, a));

/** Index of the first element whose time_ms is > t (results are kept sorted by time, then arrival). */
function upper(list: readonly { time_ms: number }[], t: number): number {
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((list[mid] as { time_ms: number }).time_ms <= t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Index of the first element whose time_ms is ≥ t. */
const lower = (list: readonly { time_ms: number }[], t: number): number => upper(list, t - 1);

/** The list under `key`, created empty when missing. */
function listOf<T>(map: Map<string, T[]>, key: string): T[] {
  let list = map.get(key);
  if (!list) {
    list = [];
    map.set(key, list);
  }
  return list;
}

/** Inserts after every element of the same time: equal times keep their arrival order (the store's seq). */
function insertSorted<T extends { time_ms: number }>(list: T[], r: T): void {
  const at = upper(list, r.time_ms);
  if (at === list.length) list.push(r);
  else list.splice(at, 0, r);
}

/** Whether a successful test carried data src → dst (as the store's latestGoodput query reads it). */
function goodputDirection(t: ThroughputResult): { src: string; dst: string } | null {
  if (t.error !== null || t.throughput === null) return null;
  return t.throughput.direction === 'forward' ? { src: t.src, dst: t.dst } : { src: t.dst, dst: t.src };
}

export interface Horizons {
  /** How far back the RTT rules read: the alert window. */
  rtt_ms: number;
  /** How far back throughput_failing reads. */
  tests_ms: number;
}

export class LiveResults implements ResultSource {
  private readonly rtt = new Map<string, RttResult[]>();
  private readonly tests = new Map<string, ThroughputResult[]>();
  private readonly goodput = new Map<string, ThroughputResult[]>();

  /** Adds a stored result; returns its link's key. */
  add(r: Result): string {
    if (r.kind === 'rtt') insertSorted(listOf(this.rtt, dirKey(r.src, r.dst)), r);
    else {
      insertSorted(listOf(this.tests, pairKey(r.src, r.dst)), r);
      const flow = goodputDirection(r);
      if (flow) insertSorted(listOf(this.goodput, dirKey(flow.src, flow.dst)), r);
    }
    return pairKey(r.src, r.dst);
  }

  /**
   * Forgets everything and reads what the rules need at `now` from the store: the rounds and tests
   * within the horizons (and any dated later), and, for each direction of `links`, its newest round and
   * goodput however old.
   */
  rebuild(store: Store, links: readonly LinkRequirement[], now: number, h: Horizons): void {
    this.rtt.clear();
    this.tests.clear();
    this.goodput.clear();
    for (const r of store.resultsSince('rtt', now - h.rtt_ms)) this.add(r);
    for (const r of store.resultsSince('throughput', now - h.tests_ms)) this.add(r);
    for (const l of links) {
      const [a, b] = l.sites;
      for (const [src, dst] of [
        [a, b],
        [b, a],
      ] as const) {
        if (this.latestRtt(src, dst, now) === undefined) {
          const r = store.latestRtt(src, dst, now);
          if (r) this.add(r);
        }
        if (this.latestGoodput(src, dst, now) === undefined) {
          const t = store.latestGoodput(src, dst, now);
          // Only as goodput: older than the tests' horizon, it is no test throughput_failing reads.
          if (t) insertSorted(listOf(this.goodput, dirKey(src, dst)), t);
        }
      }
    }
  }

  /** Drops what no rule reads at `now` or later: keeps each direction's newest round and goodput. */
  prune(now: number, h: Horizons): void {
    for (const list of this.rtt.values()) {
      // Keep the newest round not after now (latestRtt), even when it has left the window.
      const keepFrom = Math.min(lower(list, now - h.rtt_ms), upper(list, now) - 1);
      if (keepFrom > 0) list.splice(0, keepFrom);
    }
    for (const list of this.tests.values()) {
      const from = lower(list, now - h.tests_ms);
      if (from > 0) list.splice(0, from);
    }
    for (const list of this.goodput.values()) {
      const keepFrom = upper(list, now) - 1;
      if (keepFrom > 0) list.splice(0, keepFrom);
    }
  }

  rttResults(src: string, dst: string, fromMs: number, toMs: number): RttResult[] {
    const list = this.rtt.get(dirKey(src, dst));
    if (!list) return [];
    return list.slice(lower(list, fromMs), upper(list, toMs));
  }

  latestRtt(src: string, dst: string, atMs: number): RttResult | undefined {
    const list = this.rtt.get(dirKey(src, dst));
    return list ? list[upper(list, atMs) - 1] : undefined;
  }

  throughputResults(a: string, b: string, fromMs: number, toMs: number, limit: number): ThroughputResult[] {
    const list = this.tests.get(pairKey(a, b));
    if (!list) return [];
    const end = upper(list, toMs);
    const start = Math.max(lower(list, fromMs), end - limit);
    return list.slice(start, end).reverse();
  }

  latestGoodput(src: string, dst: string, atMs: number): ThroughputResult | undefined {
    const list = this.goodput.get(dirKey(src, dst));
    return list ? list[upper(list, atMs) - 1] : undefined;
  }

  earliestAfter(a: string, b: string, atMs: number): number | null {
    let t: number | null = null;
    const first = (list: readonly { time_ms: number }[] | undefined) => {
      const r = list?.[upper(list, atMs)];
      if (r && (t === null || r.time_ms < t)) t = r.time_ms;
    };
    first(this.rtt.get(dirKey(a, b)));
    first(this.rtt.get(dirKey(b, a)));
    first(this.tests.get(pairKey(a, b)));
    first(this.goodput.get(dirKey(a, b)));
    first(this.goodput.get(dirKey(b, a)));
    return t;
  }

  /** Rounds and tests held, for the scale benchmark's report. */
  size(): number {
    let n = 0;
    for (const l of this.rtt.values()) n += l.length;
    for (const l of this.tests.values()) n += l.length;
    return n;
  }
}
