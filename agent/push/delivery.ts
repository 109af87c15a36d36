// Where the agent's Results go once measured: batched in memory (batcher.ts), written to the disk spool
// (../spool/), and sent from there by the sender (sender.ts), which removes a batch only once the
// collector acknowledged it. A spool left by an earlier run is sent first.
import { join } from 'node:path';
import type { Logger } from '../../shared/log.ts';
import type { Result } from '../../shared/result.ts';
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

  /** Opens the spool under `dataDir` and starts sending what it holds. */
  static async open(opts: DeliveryOptions, client: CollectorClient, log: Logger): Promise<Delivery> {
    const spoolDir = join(opts.dataDir, 'spool');
    const spool = await Spool.open(spoolDir, {
      site: opts.site,
      maxResults: opts.spoolMaxResults ?? DEFAULT_SPOOL_MAX_RESULTS,
      log,
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

  /** Writes what waits in memory to the spool and has the sender try at once. */
  async flush(): Promise<void> {
    await this.batcher.flushNow();
    this.sender.wake();
  }

  /** Writes what waits in memory to the spool and stops sending; unsent batches stay in the spool. */
  async close(): Promise<void> {
    await this.batcher.flushNow();
    await this.sender.stop();
  }
}
