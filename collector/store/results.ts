// The store's queries over results, as the alert rules read them (collector/alerts/directions.ts,
// ResultSource). Each takes an upper bound in time: the evaluation's `now`, so that a result dated in
// the future (an agent's clock ahead) is not judged before its time and never hides a present one.
import type Database from 'better-sqlite3';
import type { RttResult, ThroughputResult } from '../../shared/result.ts';

type Json = { json: string };

/** Statements prepared once per database: the live state's rebuild runs two queries per link direction. */
const prepared = new WeakMap<Database.Database, Map<string, Database.Statement>>();
function statement(db: Database.Database, sql: string): Database.Statement {
  let mine = prepared.get(db);
  if (!mine) {
    mine = new Map();
    prepared.set(db, mine);
  }
  let st = mine.get(sql);
  if (!st) {
    st = db.prepare(sql);
    mine.set(sql, st);
  }
  return st;
}
const parse = <T>(rows: Json[]): T[] => rows.map((r) => JSON.parse(r.json) as T);

/** RTT rounds measured from src towards dst with fromMs ≤ time_ms ≤ toMs, oldest first. */
export function rttResults(
  db: Database.Database,
  src: string,
  dst: string,
  fromMs: number,
  toMs: number,
): RttResult[] {
  const rows = statement(
    db,
    `SELECT json FROM results WHERE kind = 'rtt' AND src = ? AND dst = ? AND time_ms >= ? AND time_ms <= ?
       ORDER BY time_ms, seq`,
  ).all(src, dst, fromMs, toMs) as Json[];
  return parse<RttResult>(rows);
}

/** The latest RTT result src → dst that is not dated after `atMs`. */
export function latestRtt(
  db: Database.Database,
  src: string,
  dst: string,
  atMs: number,
): RttResult | undefined {
  const row = statement(
    db,
    `SELECT json FROM results WHERE kind = 'rtt' AND src = ? AND dst = ? AND time_ms <= ?
       ORDER BY time_ms DESC, seq DESC LIMIT 1`,
  ).get(src, dst, atMs) as Json | undefined;
  return row ? (JSON.parse(row.json) as RttResult) : undefined;
}

/** Throughput tests between the two sites (either one the client), fromMs ≤ time_ms ≤ toMs, newest first. */
export function throughputResults(
  db: Database.Database,
  a: string,
  b: string,
  fromMs: number,
  toMs: number,
  limit: number,
): ThroughputResult[] {
  const rows = statement(
    db,
    `SELECT json FROM results WHERE kind = 'throughput' AND time_ms >= ? AND time_ms <= ?
         AND ((src = ? AND dst = ?) OR (src = ? AND dst = ?))
       ORDER BY time_ms DESC, seq DESC LIMIT ?`,
  ).all(fromMs, toMs, a, b, b, a, limit) as Json[];
  return parse<ThroughputResult>(rows);
}

/**
 * The latest successful test whose data flowed src → dst (forward from src, or reverse from dst), not
 * dated after `atMs`, however old: a site whose tests all fail still shows its last goodput, as stale.
 */
export function latestGoodput(
  db: Database.Database,
  src: string,
  dst: string,
  atMs: number,
): ThroughputResult | undefined {
  const row = statement(
    db,
    `SELECT json FROM results WHERE kind = 'throughput' AND ok = 1 AND time_ms <= ?
         AND ((src = ? AND dst = ? AND json_extract(json, '$.throughput.direction') = 'forward')
           OR (src = ? AND dst = ? AND json_extract(json, '$.throughput.direction') = 'reverse'))
       ORDER BY time_ms DESC, seq DESC LIMIT 1`,
  ).get(atMs, src, dst, dst, src) as Json | undefined;
  return row ? (JSON.parse(row.json) as ThroughputResult) : undefined;
}

/** Results of a kind dated `fromMs` or later (later than now too), oldest first: the live state's start. */
export function resultsSince<K extends 'rtt' | 'throughput'>(
  db: Database.Database,
  kind: K,
  fromMs: number,
): (K extends 'rtt' ? RttResult : ThroughputResult)[] {
  const rows = statement(
    db,
    'SELECT json FROM results WHERE time_ms >= ? AND kind = ? ORDER BY time_ms, seq',
  ).all(fromMs, kind) as Json[];
  return parse<K extends 'rtt' ? RttResult : ThroughputResult>(rows);
}

/** The earliest time_ms after `atMs` of any result between the two sites (either way), or null. */
export function earliestAfter(db: Database.Database, a: string, b: string, atMs: number): number | null {
  const row = statement(
    db,
    `SELECT MIN(time_ms) AS t FROM results WHERE time_ms > ?
         AND ((src = ? AND dst = ?) OR (src = ? AND dst = ?))`,
  ).get(atMs, a, b, b, a) as { t: number | null };
  return row.t;
}

/**
 * Deletes results older than `cutoffMs`, and results dated after `nowMs` that arrived before
 * `cutoffMs`: a row from a clock far ahead would otherwise outlive every retention (and be judged once
 * its date comes). Returns the rows deleted and the rows still dated in the future.
 */
export function pruneResults(
  db: Database.Database,
  nowMs: number,
  cutoffMs: number,
): { results: number; future: number } {
  const old = statement(db, 'DELETE FROM results WHERE time_ms < ?').run(cutoffMs).changes;
  const ahead = statement(db, 'DELETE FROM results WHERE time_ms > ? AND received_at_ms < ?').run(
    nowMs,
    cutoffMs,
  ).changes;
  const future = (
    statement(db, 'SELECT COUNT(*) AS n FROM results WHERE time_ms > ?').get(nowMs) as { n: number }
  ).n;
  return { results: old + ahead, future };
}
