// The agent's disk spool: every batch of results is written here before it is sent, and deleted only
// when the collector has acknowledged it (2xx). A crash between send and acknowledgement therefore
// resends the same batch_id, which the collector stores once. The spool is bounded by a number of
// results; past the bound the OLDEST results are dropped, and the drop is counted (heartbeats carry it).
//
// Layout of the spool directory:
//   000000000042-<batch_id>.json   one ResultBatch per file; the number orders batches oldest first
//   state.json                     {"dropped": N}: results dropped past the bound, over the agent's life
//   .tmp-*                         half-written files (a crash mid-write); removed on open
// Every file is written to a temporary name, fsynced, then renamed over the final name, so a reader
// sees either the old file or the complete new one.
import { randomUUID } from 'node:crypto';
import { closeSync, fsyncSync, openSync } from 'node:fs';
import { mkdir, open, readdir, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '../../shared/log.ts';
import type { Result } from '../../shared/result.ts';
import { type ResultBatch, resultBatchSchema } from '../../shared/wire.ts';

export const DEFAULT_SPOOL_MAX_RESULTS = 100_000;

export interface SpoolOptions {
  site: string;
  /** Most results kept on disk; past it the oldest are dropped. */
  maxResults?: number;
  log?: Logger;
}

export interface SpoolStats {
  queued_results: number;
  queued_batches: number;
  /** Results dropped past the bound since the spool was created (survives restarts). */
  dropped: number;
}

interface Entry {
  seq: number;
  batch_id: string;
  file: string;
  count: number;
}

const BATCH_FILE = /^(\d{12})-([0-9a-f-]{36})\.json$/;

export class Spool {
  readonly dir: string;
  readonly maxResults: number;
  private readonly site: string;
  private readonly log: Logger | undefined;
  private entries: Entry[] = [];
  private nextSeq = 1;
  private dropped = 0;
  private queued = 0;
  /** Serialises every change to the directory, so appends, drops and acks never interleave. */
  private lock: Promise<unknown> = Promise.resolve();

  private constructor(dir: string, opts: SpoolOptions) {
    this.dir = dir;
    this.site = opts.site;
    this.maxResults = opts.maxResults ?? DEFAULT_SPOOL_MAX_RESULTS;
    this.log = opts.log;
    if (!Number.isInteger(this.maxResults) || this.maxResults < 1) {
      throw new Error(`spool: maxResults must be a whole number ≥ 1, got ${this.maxResults}`);
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

  /** Writes `results` as new batches of at most `batchMax` results each (oldest last in the queue). */
  append(results: readonly Result[], batchMax = 1000): Promise<string[]> {
    return this.exclusive(async () => {
      const ids: string[] = [];
      for (let i = 0; i < results.length; i += batchMax) {
        const batch: ResultBatch = {
          batch_id: randomUUID(),
          site: this.site,
          results: results.slice(i, i + batchMax),
        };
        const seq = this.nextSeq++;
        const file = join(this.dir, `${String(seq).padStart(12, '0')}-${batch.batch_id}.json`);
        await this.writeAtomic(file, JSON.stringify(batch));
        this.entries.push({ seq, batch_id: batch.batch_id, file, count: batch.results.length });
        this.queued += batch.results.length;
        ids.push(batch.batch_id);
      }
      await this.enforceBound();
      return ids;
    });
  }

  /** The oldest batch, read from disk, or undefined when the spool is empty. */
  peek(): Promise<ResultBatch | undefined> {
    return this.exclusive(async () => {
      while (this.entries.length > 0) {
        const entry = this.entries[0]!;
        const batch = await readBatch(entry.file);
        if (batch !== undefined) return batch;
        this.log?.error('spool: a batch file vanished or became unreadable; skipping it', {
          file: entry.file,
        });
        this.remove(entry);
        await rm(entry.file, { force: true });
      }
      return undefined;
    });
  }

  /** The collector stored this batch: forget it. Unknown ids (already dropped) are ignored. */
  ack(batchId: string): Promise<void> {
    return this.exclusive(async () => {
      const entry = this.entries.find((e) => e.batch_id === batchId);
      if (entry === undefined) return;
      await rm(entry.file, { force: true });
      this.remove(entry);
    });
  }

  /** Takes a batch out of the send path for good (the collector rejected it), counting its results as dropped. */
  reject(batchId: string): Promise<void> {
    return this.exclusive(async () => {
      const entry = this.entries.find((e) => e.batch_id === batchId);
      if (entry === undefined) return;
      await rename(entry.file, `${entry.file}.rejected`);
      this.remove(entry);
      this.dropped += entry.count;
      await this.writeState();
    });
  }

  private remove(entry: Entry): void {
    const i = this.entries.indexOf(entry);
    if (i >= 0) this.entries.splice(i, 1);
    this.queued -= entry.count;
  }

  private async enforceBound(): Promise<void> {
    let droppedNow = 0;
    while (this.queued > this.maxResults) {
      const oldest = this.entries[0]!;
      const excess = this.queued - this.maxResults;
      if (oldest.count <= excess) {
        await rm(oldest.file, { force: true });
        this.remove(oldest);
        droppedNow += oldest.count;
        continue;
      }
      // Keep the newest part of the oldest batch. Its batch_id stays: result ids are what the
      // collector deduplicates on, so a resend after a partial earlier delivery is still stored once.
      const batch = await readBatch(oldest.file);
      if (batch === undefined) {
        await rm(oldest.file, { force: true });
        this.remove(oldest);
        droppedNow += oldest.count;
        continue;
      }
      batch.results = batch.results.slice(excess);
      await this.writeAtomic(oldest.file, JSON.stringify(batch));
      oldest.count -= excess;
      this.queued -= excess;
      droppedNow += excess;
    }
    if (droppedNow > 0) {
      this.dropped += droppedNow;
      await this.writeState();
      this.log?.warn(
        `spool: full (${this.maxResults} results); dropped the ${droppedNow} oldest results ` +
          `(${this.dropped} dropped so far). The collector has been unreachable for long, or raise --spool-max-results.`,
        { dropped_now: droppedNow, dropped_total: this.dropped, max_results: this.maxResults },
      );
    }
  }

  private writeState(): Promise<void> {
    return this.writeAtomic(join(this.dir, 'state.json'), JSON.stringify({ dropped: this.dropped }));
  }

  private async writeAtomic(file: string, text: string): Promise<void> {
    const tmp = join(this.dir, `.tmp-${randomUUID()}`);
    const fh = await open(tmp, 'w');
    try {
      await fh.writeFile(text);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, file);
    syncDir(this.dir);
  }

  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.lock.then(fn, fn);
    this.lock = run.catch(() => undefined);
    return run;
  }
}

async function readBatch(file: string): Promise<ResultBatch | undefined> {
  try {
    const parsed = resultBatchSchema.safeParse(JSON.parse(await readFile(file, 'utf8')));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

/** Makes a rename durable (the directory entry); cheap, and a no-op where directories cannot be opened. */
function syncDir(dir: string): void {
  try {
    const fd = openSync(dir, 'r');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch {
    // not supported on this platform: the rename is still atomic
  }
}
