// One collector per data directory. Two collectors on one store would each evaluate, notify and copy to
// the outputs (twice the pages, sink cursors moving under each other), so the second one refuses to
// start, naming the directory and the collector that holds it.
//
// The lock is SQLite's own: `collector.lock` is a small SQLite file held in EXCLUSIVE locking mode for
// the collector's life. The operating system drops it when the process ends, however it ends (kill -9,
// a crash), so a stale lock never keeps a collector from starting, and a reused pid never blocks one;
// SQLite also makes two collectors in one process see each other. Beside it, `collector.pid` says who
// holds it (pid, host, start, URL), for the message the second collector prints.
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { makeDataDir } from './store/store.ts';

export const LOCK_FILE = 'collector.lock';
export const HOLDER_FILE = 'collector.pid';

interface Holder {
  pid: number;
  host: string;
  started_at: string;
  url: string | null;
}

/** Another collector holds the data directory. */
export class DataDirInUseError extends Error {}

export class DataDirLock {
  private readonly db: Database.Database;
  private readonly holder: Holder;

  private constructor(
    private readonly dir: string,
    db: Database.Database,
  ) {
    this.db = db;
    this.holder = { pid: process.pid, host: hostname(), started_at: new Date().toISOString(), url: null };
    this.writeHolder();
  }

  /** Takes the data directory (creating it); throws DataDirInUseError when another collector has it. */
  static acquire(dir: string): DataDirLock {
    makeDataDir(dir);
    const db = new Database(join(dir, LOCK_FILE), { timeout: 0 });
    try {
      db.pragma('locking_mode = EXCLUSIVE');
      db.exec('BEGIN EXCLUSIVE');
      db.exec('CREATE TABLE IF NOT EXISTS lock (taken_at_ms INTEGER)');
      db.prepare('INSERT INTO lock VALUES (?)').run(Date.now());
      db.exec('DELETE FROM lock');
      db.exec('COMMIT');
    } catch (err) {
      db.close();
      if ((err as { code?: string }).code !== 'SQLITE_BUSY') throw err;
      throw new DataDirInUseError(
        `the data directory ${dir} is in use by ${describeHolder(dir)}: two collectors on one store would both alert and write the outputs. Stop that one first, or give this one another data directory (--data-dir or collector.data_dir)`,
      );
    }
    return new DataDirLock(dir, db);
  }

  /** Adds the collector's URL to what a second collector is told. */
  listening(url: string): void {
    this.holder.url = url;
    this.writeHolder();
  }

  release(): void {
    if (!this.db.open) return;
    rmSync(join(this.dir, HOLDER_FILE), { force: true });
    this.db.close();
  }

  private writeHolder(): void {
    try {
      writeFileSync(join(this.dir, HOLDER_FILE), `${JSON.stringify(this.holder)}\n`);
    } catch {
      // Only the message of a second collector loses detail; the lock itself holds.
    }
  }
}

/** "the collector with pid 1234 on host h (started …, listening on …)", as far as the pid file tells. */
function describeHolder(dir: string): string {
  let h: Partial<Holder>;
  try {
    h = JSON.parse(readFileSync(join(dir, HOLDER_FILE), 'utf8')) as Partial<Holder>;
  } catch {
    return 'another process';
  }
  if (typeof h.pid !== 'number') return 'another process';
  const self = h.pid === process.pid && h.host === hostname() ? ', this very process' : '';
  const started = h.started_at ? `, started ${h.started_at}` : '';
  const url = h.url ? `, listening on ${h.url}` : '';
  return `the collector with pid ${h.pid} on host ${h.host ?? '?'}${self}${started}${url}`;
}
