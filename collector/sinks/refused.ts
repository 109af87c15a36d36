// Rows an output refused for good, set aside so that they never hold up the rows after them: a result
// dated past 2262 (InfluxDB's last time), a field whose type InfluxDB already knows as another, a point
// beyond the retention policy. Each is kept with the reason and the line it was sent as, so an operator
// can see what was refused and why (GET /api/v1/outputs, docs/influxdb-grafana.md), and counted.
//
// The table lives in the collector's store (the same SQLite file) but belongs to the sinks: it is made
// here, idempotently, rather than as a store migration, so that the sinks' bookkeeping does not take a
// migration number that the store's own schema changes need. It holds about the newest MAX_KEPT rows
// per output (pruned every PRUNE_EVERY rows); the count runs on past that.
import Database from 'better-sqlite3';
import type { SinkStream } from './source.ts';

export interface RefusedRow {
  sink: string;
  stream: SinkStream;
  /** The row's seq in its stream (the store's `seq`). */
  seq: number;
  /** When it was set aside. */
  time_ms: number;
  reason: string;
  /** The line protocol sent, or null when the row could not even be written as a line. */
  line: string | null;
}

/** Rows kept per output; older ones are deleted (still counted). */
export const MAX_KEPT = 10_000;
/** Set-asides between two prunings: the table holds at most MAX_KEPT + PRUNE_EVERY rows per output. */
export const PRUNE_EVERY = 1000;

export class RefusedRows {
  private readonly db: Database.Database;

  /** On the store's database; without one, in memory (tests and benchmarks that run sinks alone). */
  constructor(db?: Database.Database) {
    this.db = db ?? new Database(':memory:');
    this.db.exec(`
      CREATE TABLE IF NOT EXISTS sink_refused (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        sink TEXT NOT NULL,
        stream TEXT NOT NULL,
        seq INTEGER NOT NULL,
        time_ms INTEGER NOT NULL,
        reason TEXT NOT NULL,
        line TEXT,
        UNIQUE (sink, stream, seq)
      );
      CREATE INDEX IF NOT EXISTS sink_refused_by_sink ON sink_refused (sink, id);
      CREATE TABLE IF NOT EXISTS sink_refused_count (
        sink TEXT PRIMARY KEY,
        total INTEGER NOT NULL
      );`);
  }

  /** Sets the row aside; false when it already was (a drain retried after a failure). */
  add(row: RefusedRow): boolean {
    return this.db.transaction(() => {
      const added = this.db
        .prepare(
          `INSERT INTO sink_refused (sink, stream, seq, time_ms, reason, line) VALUES (?, ?, ?, ?, ?, ?)
           ON CONFLICT (sink, stream, seq) DO NOTHING`,
        )
        .run(row.sink, row.stream, row.seq, row.time_ms, row.reason, row.line).changes;
      if (added === 0) return false;
      const { total } = this.db
        .prepare(
          `INSERT INTO sink_refused_count (sink, total) VALUES (?, 1)
           ON CONFLICT (sink) DO UPDATE SET total = total + 1 RETURNING total`,
        )
        .get(row.sink) as { total: number };
      if (total % PRUNE_EVERY === 0)
        this.db
          .prepare(
            `DELETE FROM sink_refused WHERE sink = ? AND id <= (
             SELECT id FROM sink_refused WHERE sink = ? ORDER BY id DESC LIMIT 1 OFFSET ?)`,
          )
          .run(row.sink, row.sink, MAX_KEPT);
      return true;
    })();
  }

  /** Every row the output ever set aside. */
  total(sink: string): number {
    const row = this.db.prepare('SELECT total FROM sink_refused_count WHERE sink = ?').get(sink) as
      | { total: number }
      | undefined;
    return row?.total ?? 0;
  }

  /** Rows set aside since `sinceMs`, by every output or one. */
  countSince(sinceMs: number, sink?: string): number {
    const row = this.db
      .prepare('SELECT COUNT(*) AS n FROM sink_refused WHERE time_ms >= ? AND (? IS NULL OR sink = ?)')
      .get(sinceMs, sink ?? null, sink ?? null) as { n: number };
    return row.n;
  }

  /**
   * Rows set aside with fromMs ≤ time_ms ≤ toMs, by output name (outputs with none are absent): what
   * the output_rows_refused rule observes over its window (collector/evaluate/evaluator.ts).
   */
  countsBetween(fromMs: number, toMs: number): Map<string, number> {
    const rows = this.db
      .prepare('SELECT sink, COUNT(*) AS n FROM sink_refused WHERE time_ms BETWEEN ? AND ? GROUP BY sink')
      .all(fromMs, toMs) as { sink: string; n: number }[];
    return new Map(rows.map((r) => [r.sink, r.n]));
  }

  /** The newest rows set aside by the output, newest first. */
  recent(sink: string, limit: number): RefusedRow[] {
    return this.db
      .prepare(
        'SELECT sink, stream, seq, time_ms, reason, line FROM sink_refused WHERE sink = ? ORDER BY id DESC LIMIT ?',
      )
      .all(sink, limit) as RefusedRow[];
  }
}
