// Finished mesh qualifications, kept in the store (table qualifications) so that a collector restarted
// still lists them and serves their reports: each as the JSON GET /api/v1/qualifications/ID answers
// (tasks with what they measured). The latest KEEP_FINISHED are kept, and none past the store's
// retention (Store.prune).
import type Database from 'better-sqlite3';
import type { Qualification } from '../../shared/wire.ts';

/**
 * Most finished qualifications kept, the oldest going first: as many as the collector holds in memory,
 * since GET /api/v1/qualifications answers each with every measurement (some 30 KB per link).
 */
export const KEEP_FINISHED = 20;

export const QUALIFICATIONS_MIGRATION_SQL = `
  CREATE TABLE qualifications (
    id TEXT PRIMARY KEY,
    created_at_ms INTEGER NOT NULL,
    finished_at_ms INTEGER NOT NULL,
    json TEXT NOT NULL
  );
  CREATE INDEX qualifications_by_created ON qualifications (created_at_ms);`;

export class QualificationArchive {
  private readonly insert: Database.Statement;
  private readonly trim: Database.Statement;
  private readonly one: Database.Statement;
  private readonly latest: Database.Statement;
  private readonly stamp: Database.Statement;
  /** The list as last read, and what the table looked like then. */
  private cached: { stamp: string; list: Qualification[] } | null = null;

  constructor(
    private readonly db: Database.Database,
    private readonly keep = KEEP_FINISHED,
  ) {
    this.insert = db.prepare(
      `INSERT INTO qualifications (id, created_at_ms, finished_at_ms, json) VALUES (?, ?, ?, ?)
       ON CONFLICT (id) DO UPDATE SET finished_at_ms = excluded.finished_at_ms, json = excluded.json`,
    );
    this.trim = db.prepare(
      `DELETE FROM qualifications WHERE id NOT IN
         (SELECT id FROM qualifications ORDER BY created_at_ms DESC, id LIMIT ?)`,
    );
    this.one = db.prepare('SELECT json FROM qualifications WHERE id = ?');
    this.latest = db.prepare('SELECT json FROM qualifications ORDER BY created_at_ms DESC, id LIMIT ?');
    this.stamp = db.prepare(
      'SELECT count(*) AS n, max(finished_at_ms) AS f, min(created_at_ms) AS c, group_concat(length(json)) AS l FROM qualifications',
    );
  }

  /** Keeps a finished qualification (again, if a late report changed it). */
  save(q: Qualification, finishedAtMs: number): void {
    this.db.transaction(() => {
      this.insert.run(q.id, q.created_at_ms, finishedAtMs, JSON.stringify(q));
      this.trim.run(this.keep);
    })();
  }

  get(id: string): Qualification | undefined {
    const row = this.one.get(id) as { json: string } | undefined;
    return row ? (JSON.parse(row.json) as Qualification) : undefined;
  }

  /** The latest kept, newest first; read again only when the table changed (the console polls it). */
  list(): Qualification[] {
    const stamp = JSON.stringify(this.stamp.get());
    if (this.cached?.stamp !== stamp) {
      const list = (this.latest.all(this.keep) as { json: string }[]).map(
        (r) => JSON.parse(r.json) as Qualification,
      );
      this.cached = { stamp, list };
    }
    return this.cached.list;
  }
}

/** Deletes qualifications finished before `cutoffMs` (the store's retention). */
export function pruneQualifications(db: Database.Database, cutoffMs: number): number {
  return db.prepare('DELETE FROM qualifications WHERE finished_at_ms < ?').run(cutoffMs).changes;
}
