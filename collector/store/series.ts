// The history of one link direction, downsampled in SQL for charts (GET /api/v1/series): time is cut into
// buckets of a round width (10 s … 1 d) aligned to the epoch, and each bucket becomes one row of what it
// holds. Percentiles are nearest-rank over the rounds' medians, ranked with a window function; min and
// max are the extreme single samples: a spike survives any zoom level.
//
// A month of 10-second rounds is about 260,000 rows, whose JSON SQLite reads in about a second. A bucket
// changes only when a result lands in it, so SeriesCache keeps each (direction, width)'s buckets with the
// store's highest result seq it has seen; a later request recomputes only the buckets that results stored
// since then fall in (found through the primary key, without reading their JSON) and the buckets it has
// never computed. A page that polls pays for the last bucket, not the month.
//
// Reading the rounds' JSON took a second for a month's first request; widths that are a multiple of
// 5 minutes (every range over about 33 hours) now merge the RTT rollup kept at ingest instead
// (collector/store/rollup.ts: the same numbers, the medians kept for exact percentiles), and only
// narrower widths read the rounds.
import type Database from 'better-sqlite3';
import type { SeriesReply } from '../../shared/series-wire.ts';
import { mergeMedians, nearestRank, ROLLUP_MS, type RollupAcc, readRollup } from './rollup.ts';

export interface SeriesRange {
  src: string;
  dst: string;
  fromMs: number;
  toMs: number;
  points: number;
}

type RttRow = {
  b: number;
  rounds: number;
  not_measured: number;
  min_ms: number | null;
  max_ms: number | null;
  p5_ms: number | null;
  median_ms: number | null;
  p95_ms: number | null;
  sent: number | null;
  received: number | null;
  jitter_ms: number | null;
};

type ThroughputRow = {
  b: number;
  tests: number;
  failed: number;
  min_bps: number | null;
  max_bps: number | null;
  mean_bps: number | null;
  loaded_rtt_ms: number | null;
};

// Rounds that could not run at all (no privilege, tool missing, a bug) carry no stats: they are counted
// as not measured, never as loss; a round that timed out has stats with 100 % loss and counts.
const RTT_SQL = `
  WITH r AS MATERIALIZED (
    SELECT time_ms / CAST(@width AS INTEGER) AS b,
      json_extract(json, '$.rtt.rtt_min_ms', '$.rtt.rtt_max_ms', '$.rtt.rtt_median_ms', '$.rtt.sent',
        '$.rtt.received', '$.rtt.jitter_ms') AS v
    FROM results
    WHERE kind = 'rtt' AND src = @src AND dst = @dst AND time_ms >= @from AND time_ms < @to
  ),
  s AS (
    SELECT b, v ->> 0 AS mn, v ->> 1 AS mx, v ->> 2 AS med, v ->> 3 AS sent, v ->> 4 AS received,
      v ->> 5 AS jitter
    FROM r
  ),
  ranked AS (
    SELECT *,
      row_number() OVER (PARTITION BY b ORDER BY med NULLS LAST) AS rn,
      count(med) OVER (PARTITION BY b) AS n
    FROM s
  )
  SELECT b,
    count(*) AS rounds,
    sum(sent IS NULL) AS not_measured,
    min(mn) AS min_ms,
    max(mx) AS max_ms,
    min(CASE WHEN med IS NOT NULL AND rn >= 0.05 * n THEN med END) AS p5_ms,
    min(CASE WHEN med IS NOT NULL AND rn >= 0.5 * n THEN med END) AS median_ms,
    min(CASE WHEN med IS NOT NULL AND rn >= 0.95 * n THEN med END) AS p95_ms,
    sum(sent) AS sent,
    sum(received) AS received,
    avg(jitter) AS jitter_ms
  FROM ranked GROUP BY b ORDER BY b`;

const THROUGHPUT_SQL = `
  WITH t AS (
    SELECT time_ms / CAST(@width AS INTEGER) AS b, ok,
      json_extract(json, '$.throughput.goodput_bps') AS bps,
      json_extract(json, '$.loaded_rtt.rtt_median_ms') AS loaded
    FROM results
    WHERE kind = 'throughput' AND time_ms >= @from AND time_ms < @to
      AND ((src = @src AND dst = @dst AND coalesce(json_extract(json, '$.throughput.direction'), 'forward') = 'forward')
        OR (src = @dst AND dst = @src AND json_extract(json, '$.throughput.direction') = 'reverse'))
  )
  SELECT b, count(*) AS tests, sum(ok = 0) AS failed,
    min(CASE WHEN ok = 1 THEN bps END) AS min_bps,
    max(CASE WHEN ok = 1 THEN bps END) AS max_bps,
    avg(CASE WHEN ok = 1 THEN bps END) AS mean_bps,
    avg(loaded) AS loaded_rtt_ms
  FROM t GROUP BY b ORDER BY b`;

const ALERTS_SQL = `
  SELECT time_ms, json_extract(json, '$.rule') AS rule, json_extract(json, '$.status') AS status,
    json_extract(json, '$.summary') AS summary
  FROM alert_events
  WHERE time_ms >= @from AND time_ms < @to AND dedup_key LIKE @key ESCAPE '\\'
  ORDER BY time_ms, seq LIMIT 1000`;

/** Bucket widths a series may have: the smallest that cuts the range into `points` or fewer is used. */
export const BUCKET_WIDTHS_MS = [
  10,
  30,
  60,
  120,
  300,
  600,
  900,
  1800,
  3600,
  2 * 3600,
  3 * 3600,
  6 * 3600,
  12 * 3600,
  24 * 3600,
].map((s) => s * 1000);

export function bucketWidth(fromMs: number, toMs: number, points: number): number {
  const span = toMs - fromMs;
  return (
    BUCKET_WIDTHS_MS.find((w) => Math.ceil(toMs / w) - Math.floor(fromMs / w) <= points) ??
    Math.ceil(span / points / 86_400_000) * 86_400_000
  );
}

interface Cached {
  /** The store's highest result seq when these buckets were computed. */
  seq: number;
  rtt: Map<number, RttRow>;
  tput: Map<number, ThroughputRow>;
  /** Buckets computed (with or without rows), lowest and highest, contiguous. */
  lo: number;
  hi: number;
}

const r2 = (v: number | null) => (v === null ? null : Math.round(v * 100) / 100);

type Body = Omit<SeriesReply, 'max_rtt_ms' | 'max_loss_percent' | 'required_bps'>;

/** Long fills (more than a day of results) waiting behind the one running; more are refused. */
const MAX_QUEUED = 4;

/** Too many long series are being computed: ask again in a few seconds. */
export class SeriesBusyError extends Error {
  constructor(queued: number) {
    super(
      `the collector is already computing ${queued + 1} long series; ask again in a few seconds, or for a shorter range`,
    );
  }
}

/**
 * Most (direction, width) entries kept, the least recently used going first: each holds at most two
 * ranges of at most 1,000 buckets, some 200 KB, so the cache stays under about 25 MB.
 */
const MAX_ENTRIES = 128;

export class SeriesCache {
  private readonly entries = new Map<string, Cached>();
  private readonly busy = new Map<string, Promise<unknown>>();
  private heavy: Promise<void> = Promise.resolve();
  private queued = 0;

  /** `rollup: false` reads the rounds at every width (to compare the two, in tests and the bench). */
  constructor(
    private readonly db: Database.Database,
    private readonly options: { rollup?: boolean } = {},
  ) {}

  /**
   * The direction src → dst over [fromMs, toMs): RTT and throughput buckets, and the link's alert
   * events. Buckets not yet computed are read a day of data at a time, letting other requests (the
   * agents' pushes) in between; requests for one direction and width run one after the other.
   */
  async series(q: SeriesRange): Promise<Body> {
    const width = bucketWidth(q.fromMs, q.toMs, q.points);
    const key = `${q.src}\u0000${q.dst}\u0000${width}`;
    const before = this.busy.get(key) ?? Promise.resolve();
    const mine = before.then(() => this.fill(key, q, width));
    const settled = mine.catch(() => {});
    this.busy.set(key, settled);
    try {
      return await mine;
    } finally {
      if (this.busy.get(key) === settled) this.busy.delete(key);
    }
  }

  private async fill(key: string, q: SeriesRange, width: number): Promise<Body> {
    const first = Math.floor(q.fromMs / width);
    const last = Math.ceil(q.toMs / width) - 1;
    const seq = (this.db.prepare('SELECT max(seq) AS s FROM results').get() as { s: number | null }).s ?? 0;
    let entry = this.entries.get(key);
    this.entries.delete(key);
    const toCompute = new Set<number>();
    if (entry === undefined || entry.hi < first - 1 || entry.lo > last + 1) {
      entry = { seq, rtt: new Map(), tput: new Map(), lo: first, hi: last };
      for (let b = first; b <= last; b++) toCompute.add(b);
    } else {
      for (let b = first; b < entry.lo; b++) toCompute.add(b);
      for (let b = entry.hi + 1; b <= last; b++) toCompute.add(b);
      if (seq > entry.seq)
        for (const b of this.changedBuckets(q.src, q.dst, width, entry.seq)) toCompute.add(b);
    }
    const perChunk = Math.max(1, Math.floor(86_400_000 / width));
    const filled = entry;
    const work = async () => {
      for (const [lo, hi] of runs([...toCompute].sort((x, y) => x - y))) {
        for (let from = lo; from <= hi; from += perChunk) {
          this.compute(filled, q, width, from, Math.min(hi, from + perChunk - 1));
          if (from + perChunk <= hi) await new Promise<void>((resolve) => setImmediate(resolve));
        }
      }
    };
    // More than a day of results to read waits its turn: one such fill at a time, so readers asking
    // for many months at once (anyone, with public_read) cannot take the collector from its agents.
    if (toCompute.size > perChunk) await this.oneAtATime(work);
    else await work();
    // Recorded once every bucket is in: a request that failed half-way leaves the entry out.
    entry.lo = Math.min(entry.lo, first);
    entry.hi = Math.max(entry.hi, last);
    entry.seq = seq;
    // A page polling "the last hour" for days moves its range along: keep one range's length behind it.
    const keepFrom = first - (last - first + 1);
    if (entry.lo < keepFrom) {
      for (const b of entry.rtt.keys()) if (b < keepFrom) entry.rtt.delete(b);
      for (const b of entry.tput.keys()) if (b < keepFrom) entry.tput.delete(b);
      entry.lo = keepFrom;
    }
    this.entries.set(key, entry);
    if (this.entries.size > MAX_ENTRIES) this.entries.delete(this.entries.keys().next().value as string);

    const rtt: RttRow[] = [];
    const tput: ThroughputRow[] = [];
    for (let b = first; b <= last; b++) {
      const r = entry.rtt.get(b);
      if (r) rtt.push(r);
      const t = entry.tput.get(b);
      if (t) tput.push(t);
    }
    return this.reply(q, width, rtt, tput);
  }

  private async oneAtATime(work: () => Promise<void>): Promise<void> {
    if (this.queued >= MAX_QUEUED) throw new SeriesBusyError(MAX_QUEUED);
    this.queued++;
    const before = this.heavy;
    let release = () => {};
    this.heavy = new Promise<void>((resolve) => {
      release = resolve;
    });
    try {
      await before;
    } finally {
      this.queued--;
    }
    try {
      await work();
    } finally {
      release();
    }
  }

  /** Buckets of the direction's results stored after `afterSeq` (either kind: a test may flow back). */
  private changedBuckets(src: string, dst: string, width: number, afterSeq: number): number[] {
    const rows = this.db
      .prepare(
        `SELECT DISTINCT time_ms / CAST(@width AS INTEGER) AS b FROM results
         WHERE seq > @after AND ((src = @src AND dst = @dst) OR (src = @dst AND dst = @src AND kind = 'throughput'))`,
      )
      .all({ width, after: afterSeq, src, dst }) as { b: number }[];
    return rows.map((r) => r.b);
  }

  private compute(entry: Cached, q: SeriesRange, width: number, lo: number, hi: number): void {
    const params = { src: q.src, dst: q.dst, from: lo * width, to: (hi + 1) * width, width };
    for (let b = lo; b <= hi; b++) {
      entry.rtt.delete(b);
      entry.tput.delete(b);
    }
    if (width % ROLLUP_MS === 0 && this.options.rollup !== false) {
      for (const [b, acc] of readRollup(this.db, q.src, q.dst, width, lo, hi))
        entry.rtt.set(b, fromRollup(b, acc));
    } else {
      for (const r of this.db.prepare(RTT_SQL).all(params) as RttRow[]) entry.rtt.set(r.b, r);
    }
    for (const t of this.db.prepare(THROUGHPUT_SQL).all(params) as ThroughputRow[]) entry.tput.set(t.b, t);
  }

  private reply(q: SeriesRange, width: number, rtt: RttRow[], tput: ThroughputRow[]): Body {
    // Link alerts' dedup keys end in "<a>--<b>" with the sites sorted (collector/alerts/rules.ts).
    const [a, b] = [q.src, q.dst].sort();
    const escaped = `${a}--${b}`.replace(/[\\%_]/g, (c) => `\\${c}`);
    const alerts = this.db
      .prepare(ALERTS_SQL)
      .all({ from: q.fromMs, to: q.toMs, key: `%/${escaped}` }) as Body['alerts'];
    const at = (row: { b: number }) => row.b * width;
    return {
      src: q.src,
      dst: q.dst,
      from_ms: q.fromMs,
      to_ms: q.toMs,
      bucket_ms: width,
      rtt: {
        time_ms: rtt.map(at),
        rounds: rtt.map((r) => r.rounds),
        not_measured: rtt.map((r) => r.not_measured),
        min_ms: rtt.map((r) => r2(r.min_ms)),
        max_ms: rtt.map((r) => r2(r.max_ms)),
        p5_ms: rtt.map((r) => r2(r.p5_ms)),
        median_ms: rtt.map((r) => r2(r.median_ms)),
        p95_ms: rtt.map((r) => r2(r.p95_ms)),
        loss_percent: rtt.map((r) =>
          r.sent ? Math.round((1000 * (r.sent - (r.received ?? 0))) / r.sent) / 10 : null,
        ),
        jitter_ms: rtt.map((r) => r2(r.jitter_ms)),
      },
      throughput: {
        time_ms: tput.map(at),
        tests: tput.map((t) => t.tests),
        failed: tput.map((t) => t.failed),
        min_bps: tput.map((t) => t.min_bps),
        max_bps: tput.map((t) => t.max_bps),
        mean_bps: tput.map((t) => (t.mean_bps === null ? null : Math.round(t.mean_bps))),
        loaded_rtt_ms: tput.map((t) => r2(t.loaded_rtt_ms)),
      },
      alerts,
    };
  }
}

/** A wide bucket merged from the rollup, as the rounds' query would have computed it. */
function fromRollup(b: number, acc: RollupAcc): RttRow {
  const meds = mergeMedians(acc.medians);
  return {
    b,
    rounds: acc.rounds,
    not_measured: acc.not_measured,
    min_ms: acc.min_ms,
    max_ms: acc.max_ms,
    p5_ms: nearestRank(meds, 0.05),
    median_ms: nearestRank(meds, 0.5),
    p95_ms: nearestRank(meds, 0.95),
    sent: acc.sent,
    received: acc.received,
    jitter_ms: acc.jitter_n === 0 || acc.jitter_sum === null ? null : acc.jitter_sum / acc.jitter_n,
  };
}

/** Sorted integers as runs of consecutive ones, [first, last]. */
function runs(sorted: number[]): [number, number][] {
  const out: [number, number][] = [];
  for (const n of sorted) {
    const tail = out[out.length - 1];
    if (tail && tail[1] === n - 1) tail[1] = n;
    else out.push([n, n]);
  }
  return out;
}
