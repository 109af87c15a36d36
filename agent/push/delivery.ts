// Where the agent's Results go once measured: batched in memory (batcher.ts), written to the disk spool
// (../spool/), and sent from there by the sender (sender.ts), which removes a batch only once the
// collector acknowledged it. A spool left by an earlier run is sent first. When the disk cannot take a
// batch, the spool keeps it in memory and the sender sends it from there (../spool/spool.ts).
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '../../shared/log.ts';
import type { Result } from '../../shared/result.ts';
import { checkDataDir, dataDirError, spoolDir as spoolDirOf } from '../data-dir.ts';
import { DEFAULT_SPOOL_MAX_RESULTS, Spool, type SpoolStats } from '../spool/spool.ts';
import { Batcher } from './batcher.ts';
import type { CollectorClient } from './client.ts';
import { Sender } from './sender.ts';

/** Where results are kept and how they are sent: the part of AgentOptions (agent/runtime.ts) that is ours. */
export interface DeliveryOptions {
  site: string;
  /** The spool lives in `<dataDir>/spool`. */
  dataDir: string;
  spoolMaxResults?: number;
  /** Most results kept in memory while the disk cannot take them (default min(spoolMaxResults, 10000)). */
  spoolMemoryMaxResults?: number;
  /** A batch is sent when it holds this many results… */
  batchMaxResults?: number;
  /** …or when its first result has waited this long. */
  batchMaxDelayMs?: number;
  /** Backoff bounds for reaching the collector (the wait for the first plan uses them too). */
  retryMinMs?: number;
  retryMaxMs?: number;
}

export class Delivery {
  private readonly spool: Spool;
  private readonly sender: Sender;
  private readonly batcher: Batcher;

  private constructor(spool: Spool, sender: Sender, batcher: Batcher) {
    this.spool = spool;
    this.sender = sender;
    this.batcher = batcher;
  }

  /**
   * Opens the spool under `dataDir` and starts sending what it holds. A data directory that cannot be
   * written rejects with a DataDirError saying so.
   */
  static async open(opts: DeliveryOptions, client: CollectorClient, log: Logger): Promise<Delivery> {
    const spoolDir = spoolDirOf(opts.dataDir);
    await checkDataDir(opts.dataDir);
    const spool = await Spool.open(spoolDir, {
      site: opts.site,
      maxResults: opts.spoolMaxResults ?? DEFAULT_SPOOL_MAX_RESULTS,
      ...(opts.spoolMemoryMaxResults === undefined ? {} : { memoryMaxResults: opts.spoolMemoryMaxResults }),
      log,
    }).catch((err: unknown) => {
      throw dataDirError(opts.dataDir, err);
    });
    const left = spool.stats();
    if (left.queued_results > 0) {
      log.info('spool holds results from an earlier run; sending them first', {
        queued_results: left.queued_results,
        spool: spoolDir,
      });
    }
    const sender = new Sender({
      spool,
      client,
      site: opts.site,
      log,
      ...(opts.retryMinMs === undefined ? {} : { minBackoffMs: opts.retryMinMs }),
      ...(opts.retryMaxMs === undefined ? {} : { maxBackoffMs: opts.retryMaxMs }),
    });
    const batcher = new Batcher({
      maxResults: opts.batchMaxResults ?? 500,
      maxDelayMs: opts.batchMaxDelayMs ?? 2000,
      flush: async (results) => {
        await spool.append(results);
        sender.wake();
      },
      onError: (err) => log.error('could not write results to the spool', { error: err }),
    });
    sender.start();
    return new Delivery(spool, sender, batcher);
  }

  add(result: Result): void {
    this.batcher.add(result);
  }

  /** Results the collector acknowledged since start. */
  get sent(): number {
    return this.sender.sentResults;
  }

  /** Results waiting in memory for their batch to be cut. */
  get batching(): number {
    return this.batcher.size;
  }

  spoolStats(): SpoolStats {
    return this.spool.stats();
  }

  /**
   * Why the spool cannot be written now (results wait in memory meanwhile), or could not for a while
   * since the last heartbeat; null when it could all along.
   */
  spoolError(): string | null {
    return this.spool.reportedWriteError;
  }

  /** A heartbeat carried spoolError(). */
  spoolErrorReported(): void {
    this.spool.writeErrorReported();
  }

  /** Writes what waits in memory to the spool and has the sender try at once. */
  async flush(): Promise<void> {
    await this.batcher.flushNow();
    this.sender.wake();
  }

  /**
   * Writes what waits in memory to the spool and stops sending; unsent batches stay in the spool. Batches
   * the disk could not take get up to `graceMs` to be sent first; then the spool writes them to disk if
   * it takes them now, and counts the rest as lost.
   */
  async close(graceMs = 3000): Promise<void> {
    await this.batcher.flushNow();
    const end = Date.now() + graceMs;
    if (this.spool.memoryResults > 0) this.sender.wake();
    while (this.spool.memoryResults > 0 && Date.now() < end) await sleep(50);
    await this.sender.stop();
    await this.spool.close();
  }
}
