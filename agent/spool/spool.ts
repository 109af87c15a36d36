// Long: one queue whose disk files, memory fallback, bound and failure episodes change together under
// one lock; splitting it would spread that lock over files. File operations are in files.ts.
// The agent's disk spool: every batch of results is written here before it is sent, and deleted only
// when the collector has acknowledged it (2xx). A crash between send and acknowledgement therefore
// resends the same batch_id, which the collector stores once. The spool is bounded by a number of
// results; past the bound the OLDEST results are dropped, and the drop is counted (heartbeats carry it).
//
// When the disk cannot take a batch (read-only, full, gone), the batch is kept in memory instead, in its
// place in the queue, and sent from there like any other: with the collector up nothing is lost. The
// memory part has its own, smaller bound (the oldest dropped past it, and counted); the first failure of
// an episode is logged, `writeError` says what is wrong (heartbeats carry it), and the batches in memory
// are written to disk, in order, once a write succeeds again. What is still only in memory when the agent
// stops is lost, and counted. A failed write leaves no partial file behind.
//
// Layout of the spool directory:
//   000000000042-<batch_id>.json   one ResultBatch per file; the number orders batches oldest first
//   state.json                     {"dropped": N}: results dropped past the bound, over the agent's life
//   .tmp-*                         half-written files (a crash mid-write); removed on open
// Every file is written to a temporary name, fsynced, then renamed over the final name, so a reader
// sees either the old file or the complete new one.
import { randomUUID } from 'node:crypto';
import { mkdir, readdir, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '../../shared/log.ts';
import type { Result } from '../../shared/result.ts';
import type { ResultBatch } from '../../shared/wire.ts';
import { readBatch, writeAtomic } from './files.ts';

export const DEFAULT_SPOOL_MAX_RESULTS = 100_000;
/** Most results kept in memory while the disk cannot take them (or maxResults, if lower). */
export const DEFAULT_MEMORY_MAX_RESULTS = 10_000;

export interface SpoolOptions {
  site: string;
  /** Most results kept on disk; past it the oldest are dropped. */
  maxResults?: number;
  /** Most results kept in memory while the disk cannot take them (default min(maxResults, 10000)). */
  memoryMaxResults?: number;
  log?: Logger;
}

export interface SpoolStats {
  /** Results waiting to be sent, on disk and in memory. */
  queued_results: number;
  queued_batches: number;
  /** Results dropped past the bounds since the spool was created (survives restarts when it can be written). */
  dropped: number;
}

interface Entry {
  seq: number;
  batch_id: string;
  file: string;
  count: number;
  /** Set while the batch is only in memory (the disk could not take it). */
  batch?: ResultBatch;
}

const BATCH_FILE = /^(\d{12})-([0-9a-f-]{36})\.json$/;

export class Spool {
  readonly dir: string;
  readonly maxResults: number;
  readonly memoryMaxResults: number;
  private readonly site: string;
  private readonly log: Logger | undefined;
  private entries: Entry[] = [];
  private nextSeq = 1;
  private dropped = 0;
  private queued = 0;
  private inMemory = 0;
  /** What is wrong with the disk, from the first failed write of an episode until writes work again. */
  private failure: string | undefined;
  private endedFailure: string | undefined;
  private failures = 0;
  /** `dropped` changed but state.json could not be written. */
  private stateDirty = false;
  /** Files to delete once the disk lets us (acknowledged or dropped while it was read-only). */
  private readonly stale = new Set<string>();
  /** When to try deleting them again (at most once a second while the disk refuses). */
  private staleRetryAt = 0;
  /** Drops are logged at most once a minute (with the totals), not at every batch. */
  private dropLoggedAt = 0;
  private droppedSinceLog = 0;
  /** Serialises every change to the directory, so appends, drops and acks never interleave. */
  private lock: Promise<unknown> = Promise.resolve();

  private constructor(dir: string, opts: SpoolOptions) {
    this.dir = dir;
    this.site = opts.site;
    this.maxResults = opts.maxResults ?? DEFAULT_SPOOL_MAX_RESULTS;
    this.memoryMaxResults = opts.memoryMaxResults ?? Math.min(this.maxResults, DEFAULT_MEMORY_MAX_RESULTS);
    this.log = opts.log;
    for (const [name, n] of [
      ['maxResults', this.maxResults],
      ['memoryMaxResults', this.memoryMaxResults],
    ] as const) {
      if (!Number.isInteger(n) || n < 1)
        throw new Error(`spool: ${name} must be a whole number ≥ 1, got ${n}`);
    }
  }

  /** Opens (or creates) the spool in `dir`, picking up the batches a previous run left behind. */
  static async open(dir: string, opts: SpoolOptions): Promise<Spool> {
    const spool = new Spool(dir, opts);
    await spool.load();
    return spool;
  }

  private async load(): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    for (const name of await readdir(this.dir)) {
      if (name.startsWith('.tmp-')) {
        await rm(join(this.dir, name), { force: true });
        continue;
      }
      const m = BATCH_FILE.exec(name);
      if (m === null) continue;
      const file = join(this.dir, name);
      const batch = await readBatch(file);
      if (batch === undefined) {
        // Unreadable: keep it for a person to look at, out of the send path.
        await rename(file, `${file}.unreadable`);
        this.log?.error('spool: a batch file is unreadable; moved it aside and skipped it', { file });
        continue;
      }
      this.entries.push({ seq: Number(m[1]), batch_id: m[2]!, file, count: batch.results.length });
    }
    this.entries.sort((a, b) => a.seq - b.seq);
    this.nextSeq = (this.entries.at(-1)?.seq ?? 0) + 1;
    this.queued = this.entries.reduce((n, e) => n + e.count, 0);
    try {
      const state = JSON.parse(await readFile(join(this.dir, 'state.json'), 'utf8')) as { dropped?: unknown };
      if (typeof state.dropped === 'number' && Number.isInteger(state.dropped)) this.dropped = state.dropped;
    } catch {
      // no state yet: nothing dropped
    }
    // The bound may have been lowered since the last run.
    await this.enforceBound();
  }

  stats(): SpoolStats {
    return { queued_results: this.queued, queued_batches: this.entries.length, dropped: this.dropped };
  }

  /** Results held only in memory (the disk could not take them). */
  get memoryResults(): number {
    return this.inMemory;
  }

  /** What keeps the spool from writing, and what it does meanwhile; null while it writes fine. */
  get writeError(): string | null {
    if (this.failure === undefined) return null;
    return (
      `cannot write the spool ${this.dir}: ${this.failure}; ${this.inMemory} results kept in memory ` +
      `(at most ${this.memoryMaxResults}) and sent directly`
    );
  }

  /** For heartbeats: the error now, else one of an episode that ended since the last heartbeat. */
  get reportedWriteError(): string | null {
    return this.writeError ?? this.endedFailure ?? null;
  }
  writeErrorReported(): void {
    this.endedFailure = undefined;
  }

  /** Writes `results` as new batches of at most `batchMax` results each (oldest last in the queue). */
  append(results: readonly Result[], batchMax = 1000): Promise<string[]> {
    return this.exclusive(async () => {
      const failuresBefore = this.failures;
      const ids: string[] = [];
      // Batches kept in memory go to disk first, so the files stay in queue order.
      if (this.inMemory > 0) await this.persistMemory();
      for (let i = 0; i < results.length; i += batchMax) {
        const batch: ResultBatch = {
          batch_id: randomUUID(),
          site: this.site,
          results: results.slice(i, i + batchMax),
        };
        const seq = this.nextSeq++;
        const file = join(this.dir, `${String(seq).padStart(12, '0')}-${batch.batch_id}.json`);
        const entry: Entry = { seq, batch_id: batch.batch_id, file, count: batch.results.length };
        if (this.inMemory > 0 || !(await this.write(file, JSON.stringify(batch)))) {
          entry.batch = batch;
          this.inMemory += entry.count;
        }
        this.entries.push(entry);
        this.queued += entry.count;
        ids.push(batch.batch_id);
      }
      await this.enforceBound();
      await this.settle(failuresBefore);
      return ids;
    });
  }

  /** The oldest batch, from memory or read from disk, or undefined when the spool is empty. */
  peek(): Promise<ResultBatch | undefined> {
    return this.exclusive(async () => {
      while (this.entries.length > 0) {
        const entry = this.entries[0]!;
        if (entry.batch !== undefined) return entry.batch;
        const batch = await readBatch(entry.file);
        if (batch !== undefined) return batch;
        this.log?.error('spool: a batch file vanished or became unreadable; skipping it', {
          file: entry.file,
        });
        this.remove(entry);
        await this.unlink(entry.file);
      }
      return undefined;
    });
  }

  /** The collector stored this batch: forget it. Unknown ids (already dropped) are ignored. */
  ack(batchId: string): Promise<void> {
    return this.exclusive(async () => {
      const entry = this.entries.find((e) => e.batch_id === batchId);
      if (entry === undefined) return;
      if (entry.batch === undefined) await this.unlink(entry.file);
      this.remove(entry);
      await this.cleanStale();
    });
  }

  /** Takes a batch out of the send path for good (the collector rejected it), counting its results as dropped. */
  reject(batchId: string): Promise<void> {
    return this.exclusive(async () => {
      const entry = this.entries.find((e) => e.batch_id === batchId);
      if (entry === undefined) return;
      if (entry.batch === undefined) {
        await rename(entry.file, `${entry.file}.rejected`).catch(() => this.stale.add(entry.file));
      }
      this.remove(entry);
      this.dropped += entry.count;
      this.stateDirty = true;
      await this.saveState();
    });
  }

  /**
   * At shutdown: writes the batches kept in memory to disk if it takes them now; those it does not are
   * lost, counted as dropped and logged. Returns how many were lost.
   */
  close(): Promise<number> {
    return this.exclusive(async () => {
      if (this.inMemory > 0) await this.persistMemory();
      const lost = this.entries.filter((e) => e.batch !== undefined);
      const n = lost.reduce((sum, e) => sum + e.count, 0);
      if (n === 0) return 0;
      for (const e of lost) this.remove(e);
      this.dropped += n;
      this.stateDirty = true;
      await this.saveState();
      this.log?.error(
        `spool: ${n} results kept in memory could not be written to ${this.dir} (${this.failure ?? 'unknown error'}) ` +
          'nor sent before the agent stopped: they are lost (counted as dropped)',
        { lost: n, dropped_total: this.dropped },
      );
      return n;
    });
  }

  private remove(entry: Entry): void {
    const i = this.entries.indexOf(entry);
    if (i >= 0) this.entries.splice(i, 1);
    this.queued -= entry.count;
    if (entry.batch !== undefined) this.inMemory -= entry.count;
  }

  /** Writes the batches held in memory to disk, oldest first, until one fails. */
  private async persistMemory(): Promise<void> {
    for (const entry of this.entries) {
      if (entry.batch === undefined) continue;
      if (!(await this.write(entry.file, JSON.stringify(entry.batch)))) return;
      this.stale.delete(entry.file);
      entry.batch = undefined;
      this.inMemory -= entry.count;
    }
  }

  private async enforceBound(): Promise<void> {
    let droppedNow = 0;
    // In memory, the oldest beyond the memory bound; then, over all, the oldest beyond the spool's bound.
    const over = () =>
      this.inMemory > this.memoryMaxResults
        ? this.inMemory - this.memoryMaxResults
        : this.queued - this.maxResults;
    for (let excess = over(); excess > 0; excess = over()) {
      const memoryOnly = this.inMemory > this.memoryMaxResults;
      const oldest = (memoryOnly ? this.entries.find((e) => e.batch !== undefined) : this.entries[0])!;
      if (oldest.count <= excess) {
        if (oldest.batch === undefined) await this.unlink(oldest.file);
        this.remove(oldest);
        droppedNow += oldest.count;
        continue;
      }
      // Keep the newest part of the oldest batch. Its batch_id stays: result ids are what the
      // collector deduplicates on, so a resend after a partial earlier delivery is still stored once.
      const batch = oldest.batch ?? (await readBatch(oldest.file));
      if (batch === undefined) {
        await this.unlink(oldest.file);
        this.remove(oldest);
        droppedNow += oldest.count;
        continue;
      }
      batch.results = batch.results.slice(excess);
      if (oldest.batch === undefined && !(await this.write(oldest.file, JSON.stringify(batch)))) {
        // The disk will not take the shorter file: keep the batch in memory (the file goes later).
        oldest.batch = batch;
        this.inMemory += oldest.count;
        this.stale.add(oldest.file);
      }
      oldest.count -= excess;
      this.queued -= excess;
      if (oldest.batch !== undefined) this.inMemory -= excess;
      droppedNow += excess;
    }
    if (droppedNow > 0) {
      this.dropped += droppedNow;
      this.stateDirty = true;
      this.droppedSinceLog += droppedNow;
    }
    if (this.droppedSinceLog > 0 && Date.now() - this.dropLoggedAt >= 60_000) {
      droppedNow = this.droppedSinceLog;
      this.droppedSinceLog = 0;
      this.dropLoggedAt = Date.now();
      const memory = this.failure !== undefined;
      this.log?.warn(
        memory
          ? `spool: the disk takes no writes and memory holds at most ${this.memoryMaxResults} results: dropped ` +
              `the ${droppedNow} oldest since the last such line (${this.dropped} dropped so far). Free the disk ` +
              `or make ${this.dir} writable.`
          : `spool: full (${this.maxResults} results); dropped the ${droppedNow} oldest results since the last ` +
              `such line (${this.dropped} dropped so far). The collector has been unreachable for long, or raise --spool-max-results.`,
        { dropped_now: droppedNow, dropped_total: this.dropped, max_results: this.maxResults },
      );
    }
    if (this.stateDirty) await this.saveState();
  }

  private async saveState(): Promise<void> {
    if (await this.write(join(this.dir, 'state.json'), JSON.stringify({ dropped: this.dropped })))
      this.stateDirty = false;
  }

  /** Ends a failure episode once a call went without a failed write and nothing waits in memory. */
  private async settle(failuresBefore: number): Promise<void> {
    if (this.failure === undefined || this.failures !== failuresBefore || this.inMemory > 0) return;
    this.log?.info('spool: the disk takes writes again; results are spooled on disk again', {
      spool: this.dir,
    });
    this.endedFailure = `${this.writeError} (until ${new Date().toISOString()}; it writes again now)`;
    this.failure = undefined;
    this.staleRetryAt = 0;
    await this.cleanStale();
  }

  /** Deletes the files the disk refused to let go of, if it lets us now (tried at most once a second). */
  private async cleanStale(): Promise<void> {
    if (this.stale.size === 0 || Date.now() < this.staleRetryAt) return;
    for (const file of [...this.stale]) {
      await this.unlink(file);
      if (this.stale.has(file)) {
        this.staleRetryAt = Date.now() + 1000;
        return;
      }
    }
  }

  /** Writes a file atomically; false (and the failure recorded, logged once per episode) when it cannot. */
  private async write(file: string, text: string): Promise<boolean> {
    try {
      await writeAtomic(this.dir, file, text, (tmp) => this.stale.add(tmp));
      return true;
    } catch (err) {
      this.failures += 1;
      const why = err instanceof Error ? err.message : String(err);
      if (this.failure === undefined) {
        this.log?.error(
          `spool: cannot write to ${this.dir} (${why}). Results are kept in memory (at most ` +
            `${this.memoryMaxResults}; the oldest are dropped past that, and counted) and sent straight to the ` +
            'collector; those still in memory when the agent stops are lost. Free space on that disk or make ' +
            'the directory writable again.',
          { spool: this.dir },
        );
      }
      this.failure = why;
      return false;
    }
  }

  /** Deletes a file; when the disk refuses, remembers it for later. */
  private async unlink(file: string): Promise<void> {
    try {
      await rm(file, { force: true });
      this.stale.delete(file);
    } catch {
      this.stale.add(file);
    }
  }

  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.lock.then(fn, fn);
    this.lock = run.catch(() => undefined);
    return run;
  }
}
