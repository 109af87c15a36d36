// Storing a pushed batch: each result once (by id), the batch id remembered so a resent batch stores
// nothing, and each new RTT round added to its rollup bucket (rollup.ts), in one transaction. The statements are prepared once per database, not per batch.
import type Database from 'better-sqlite3';
import type { Result } from '../../shared/result.ts';
import type { ResultBatch } from '../../shared/wire.ts';
import { RollupWriter } from './rollup.ts';

export interface IngestOutcome {
  stored: number;
  duplicates: number;
  /** The batch id had been seen before: nothing was stored. */
  resent: boolean;
}

/** Told, after each commit, the results a batch stored (not those already stored before). */
export type StoredListener = (results: readonly Result[]) => void;

export class BatchWriter {
  private readonly seen: Database.Statement;
  private readonly insertBatch: Database.Statement;
  private readonly insertResult: Database.Statement;
  private readonly rollup: RollupWriter;
  private readonly write: (batch: ResultBatch, nowMs: number, fresh: Result[]) => IngestOutcome;

  constructor(db: Database.Database) {
    this.seen = db.prepare('SELECT 1 FROM batches WHERE batch_id = ?');
    this.insertBatch = db.prepare(
      'INSERT INTO batches (batch_id, site, received_at_ms, results, stored) VALUES (?, ?, ?, ?, ?)',
    );
    this.insertResult = db.prepare(
      `INSERT INTO results (id, kind, src, dst, time_ms, ok, received_at_ms, json)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING`,
    );
    this.rollup = new RollupWriter(db);
    this.write = db.transaction((batch: ResultBatch, nowMs: number, fresh: Result[]): IngestOutcome => {
      fresh.length = 0;
      if (this.seen.get(batch.batch_id)) {
        return { stored: 0, duplicates: batch.results.length, resent: true };
      }
      let stored = 0;
      for (const r of batch.results) {
        const info = this.insertResult.run(
          r.id,
          r.kind,
          r.src,
          r.dst,
          r.time_ms,
          r.error === null ? 1 : 0,
          nowMs,
          JSON.stringify(r),
        );
        stored += info.changes;
        if (info.changes > 0) {
          fresh.push(r);
          this.rollup.add(r);
        }
      }
      this.insertBatch.run(batch.batch_id, batch.site, nowMs, batch.results.length, stored);
      return { stored, duplicates: batch.results.length - stored, resent: false };
    });
  }

  /** Stores the batch; `fresh` is filled with the results stored now (not those stored before). */
  ingest(batch: ResultBatch, nowMs: number, fresh: Result[]): IngestOutcome {
    return this.write(batch, nowMs, fresh);
  }
}
