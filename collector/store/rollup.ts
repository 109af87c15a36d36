// The RTT rollup: what the series of one link direction needs from its rounds, kept per fixed 5-minute
// bucket (table rtt_rollup) in the same transaction that stores the rounds, so that a month's chart
// reads some 8,640 small rows instead of 260,000 rounds' JSON. A bucket keeps the counts, the extremes,
// the probe and jitter sums, and every round's median (a sorted Float64 blob): percentiles of a wider
// bucket are then taken over exactly the medians the rounds' own query would rank, not estimated.
// Widths that are a multiple of 5 minutes (every width of a range over about 33 hours) read the rollup;
// narrower ones read the rounds (collector/store/series.ts). The blob holds the platform's doubles
// (little-endian on x86-64 and arm64).
import type Database from 'better-sqlite3';
import type { Result } from '../../shared/result.ts';

export const ROLLUP_MS = 300_000;

/** One rollup bucket merged into a wider one. */
export interface RollupAcc {
  rounds: number;
  not_measured: number;
  min_ms: number | null;
  max_ms: number | null;
  sent: number | null;
  received: number | null;
  jitter_sum: number | null;
  jitter_n: number;
  /** The rounds' medians, each rollup bucket's sorted; mergeMedians gives them as one sorted array. */
  medians: Float64Array[];
}

const MEDIANS_ADD = 'wanwatch_medians_add';
const MEDIANS_AGG = 'wanwatch_medians';

function decode(blob: Buffer | null): Float64Array {
  if (blob === null) return new Float64Array(0);
  // A copy unless aligned: the Buffer's offset in its memory need not be a multiple of 8.
  if (blob.byteOffset % 8 === 0) return new Float64Array(blob.buffer, blob.byteOffset, blob.length / 8);
  return new Float64Array(blob.buffer.slice(blob.byteOffset, blob.byteOffset + blob.length));
}

/** The medians of a merged bucket, sorted. */
export function mergeMedians(parts: Float64Array[]): Float64Array {
  if (parts.length === 1) return parts[0] as Float64Array;
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Float64Array(n);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out.sort();
}

function encode(values: Float64Array): Buffer {
  return Buffer.from(values.buffer, values.byteOffset, values.byteLength);
}

/**
 * Registers on `db` the SQL functions the rollup is written with: wanwatch_medians_add(blob, median)
 * (the blob with one more median, kept sorted; a null median adds nothing) and the aggregate
 * wanwatch_medians(median) (the sorted blob of a group's non-null medians). Needed before migrating.
 */
export function registerRollupFunctions(db: Database.Database): void {
  db.function(MEDIANS_ADD, { deterministic: true }, (blob: unknown, med: unknown) => {
    const have = decode(blob instanceof Buffer ? blob : null);
    if (typeof med !== 'number' && typeof med !== 'bigint') return blob instanceof Buffer ? blob : null;
    const m = Number(med);
    const out = new Float64Array(have.length + 1);
    let i = 0;
    while (i < have.length && (have[i] as number) <= m) i++;
    out.set(have.subarray(0, i), 0);
    out[i] = m;
    out.set(have.subarray(i), i + 1);
    return encode(out);
  });
  db.aggregate(MEDIANS_AGG, {
    start: () => [] as number[],
    step: (acc: number[], med: unknown) => {
      if (typeof med === 'number' || typeof med === 'bigint') acc.push(Number(med));
    },
    result: (acc: number[]) => (acc.length === 0 ? null : encode(Float64Array.from(acc).sort())),
  });
}

/** Rounds of kind rtt in [from, to) summed into rtt_rollup rows; callers delete the rows first. */
const REBUILD_SQL = `
  INSERT INTO rtt_rollup (src, dst, bucket, rounds, not_measured, min_ms, max_ms, sent, received,
    jitter_sum, jitter_n, medians)
  SELECT src, dst, b, count(*), sum(v ->> 3 IS NULL), min(v ->> 0), max(v ->> 1), sum(v ->> 3),
    sum(v ->> 4), sum(v ->> 5), count(v ->> 5), ${MEDIANS_AGG}(v ->> 2)
  FROM (
    SELECT src, dst, time_ms / ${ROLLUP_MS} AS b,
      json_extract(json, '$.rtt.rtt_min_ms', '$.rtt.rtt_max_ms', '$.rtt.rtt_median_ms', '$.rtt.sent',
        '$.rtt.received', '$.rtt.jitter_ms') AS v
    FROM results WHERE kind = 'rtt' AND time_ms >= @from AND time_ms < @to
  )
  GROUP BY src, dst, b`;

/** The migration's SQL: the table, filled from every round stored before it. */
export const ROLLUP_MIGRATION_SQL = `
  CREATE TABLE rtt_rollup (
    src TEXT NOT NULL,
    dst TEXT NOT NULL,
    bucket INTEGER NOT NULL,
    rounds INTEGER NOT NULL,
    not_measured INTEGER NOT NULL,
    min_ms REAL,
    max_ms REAL,
    sent INTEGER,
    received INTEGER,
    jitter_sum REAL,
    jitter_n INTEGER NOT NULL,
    medians BLOB,
    PRIMARY KEY (src, dst, bucket)
  ) WITHOUT ROWID;
  ${REBUILD_SQL.replace('@from', '-9223372036854775808').replace('@to', '9223372036854775807')};`;

/** Sums of two nullable columns that stay null while both are (as SQL's sum over no value). */
const addNullable = (col: string) =>
  `CASE WHEN excluded.${col} IS NULL THEN ${col} WHEN ${col} IS NULL THEN excluded.${col} ELSE ${col} + excluded.${col} END`;
const pick = (fn: 'min' | 'max', col: string) =>
  `CASE WHEN excluded.${col} IS NULL THEN ${col} WHEN ${col} IS NULL THEN excluded.${col} ELSE ${fn}(${col}, excluded.${col}) END`;

const UPSERT_SQL = `
  INSERT INTO rtt_rollup (src, dst, bucket, rounds, not_measured, min_ms, max_ms, sent, received,
    jitter_sum, jitter_n, medians)
  VALUES (@src, @dst, @bucket, 1, @not_measured, @min_ms, @max_ms, @sent, @received, @jitter, @jitter_n,
    ${MEDIANS_ADD}(NULL, @median))
  ON CONFLICT (src, dst, bucket) DO UPDATE SET
    rounds = rounds + 1,
    not_measured = not_measured + excluded.not_measured,
    min_ms = ${pick('min', 'min_ms')},
    max_ms = ${pick('max', 'max_ms')},
    sent = ${addNullable('sent')},
    received = ${addNullable('received')},
    jitter_sum = ${addNullable('jitter_sum')},
    jitter_n = jitter_n + excluded.jitter_n,
    medians = ${MEDIANS_ADD}(medians, @median)`;

/** Adds stored rounds to their buckets; called inside the transaction that stored them. */
export class RollupWriter {
  private readonly upsert: Database.Statement;

  constructor(db: Database.Database) {
    this.upsert = db.prepare(UPSERT_SQL);
  }

  add(r: Result): void {
    if (r.kind !== 'rtt') return;
    const s = r.rtt;
    this.upsert.run({
      src: r.src,
      dst: r.dst,
      bucket: Math.floor(r.time_ms / ROLLUP_MS),
      not_measured: s ? 0 : 1,
      min_ms: s?.rtt_min_ms ?? null,
      max_ms: s?.rtt_max_ms ?? null,
      sent: s ? s.sent : null,
      received: s ? s.received : null,
      jitter: s?.jitter_ms ?? null,
      jitter_n: s?.jitter_ms == null ? 0 : 1,
      median: s?.rtt_median_ms ?? null,
    });
  }
}

/**
 * Recomputes the buckets holding [fromMs, toMs) from the rounds still stored (after pruning: the
 * bucket the retention cuts through, and those of rounds dated ahead).
 */
export function rebuildRollup(db: Database.Database, fromMs: number, toMs: number): void {
  const lo = Math.floor(fromMs / ROLLUP_MS);
  const hi = Math.ceil(toMs / ROLLUP_MS);
  db.prepare('DELETE FROM rtt_rollup WHERE bucket >= ? AND bucket < ?').run(lo, hi);
  db.prepare(REBUILD_SQL).run({ from: lo * ROLLUP_MS, to: hi * ROLLUP_MS });
}

/** Deletes buckets that end before `cutoffMs` and rebuilds the one it falls in. */
export function pruneRollup(db: Database.Database, cutoffMs: number): void {
  db.prepare('DELETE FROM rtt_rollup WHERE bucket < ?').run(Math.floor(cutoffMs / ROLLUP_MS));
  rebuildRollup(db, cutoffMs, cutoffMs + 1);
}

type RollupRow = Omit<RollupAcc, 'medians'> & { bucket: number; medians: Buffer | null };

/**
 * Rollup buckets of src → dst in [lo·width, (hi+1)·width) merged into buckets of `width` (a multiple
 * of ROLLUP_MS), keyed by the wide bucket's number.
 */
export function readRollup(
  db: Database.Database,
  src: string,
  dst: string,
  width: number,
  lo: number,
  hi: number,
): Map<number, RollupAcc> {
  const per = width / ROLLUP_MS;
  const rows = db
    .prepare(
      `SELECT bucket, rounds, not_measured, min_ms, max_ms, sent, received, jitter_sum, jitter_n, medians
       FROM rtt_rollup WHERE src = ? AND dst = ? AND bucket >= ? AND bucket < ? ORDER BY bucket`,
    )
    .all(src, dst, lo * per, (hi + 1) * per) as RollupRow[];
  const out = new Map<number, RollupAcc>();
  for (const r of rows) {
    const b = Math.floor(r.bucket / per);
    const meds = decode(r.medians);
    const acc = out.get(b);
    if (acc === undefined) {
      out.set(b, { ...r, medians: [meds] });
      continue;
    }
    acc.rounds += r.rounds;
    acc.not_measured += r.not_measured;
    acc.min_ms = combine(acc.min_ms, r.min_ms, Math.min);
    acc.max_ms = combine(acc.max_ms, r.max_ms, Math.max);
    acc.sent = combine(acc.sent, r.sent, (x, y) => x + y);
    acc.received = combine(acc.received, r.received, (x, y) => x + y);
    acc.jitter_sum = combine(acc.jitter_sum, r.jitter_sum, (x, y) => x + y);
    acc.jitter_n += r.jitter_n;
    acc.medians.push(meds);
  }
  return out;
}

/** Combines two nullable values, a null standing for "none" (as SQL's aggregates skip nulls). */
function combine(a: number | null, b: number | null, f: (x: number, y: number) => number): number | null {
  if (a === null) return b;
  if (b === null) return a;
  return f(a, b);
}

/**
 * Nearest-rank percentile of sorted values as the rounds' query takes it: the first value whose
 * 1-based rank r satisfies r ≥ p·n.
 */
export function nearestRank(sorted: ArrayLike<number>, p: number): number | null {
  const n = sorted.length;
  return n === 0 ? null : (sorted[Math.max(1, Math.ceil(p * n)) - 1] as number);
}
