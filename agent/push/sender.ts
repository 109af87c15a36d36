// Drains the disk spool to the collector, oldest batch first. A batch leaves the spool only when the
// collector acknowledged it (2xx); while the collector is away the sender backs off exponentially
// (honouring Retry-After) and logs once when it goes away and once when it is back, not every attempt.

import type { Logger } from '../../shared/log.ts';
import { isVersionRefusal } from '../../shared/version.ts';
import type { Spool } from '../spool/spool.ts';
import type { CollectorClient } from './client.ts';

export interface SenderOptions {
  spool: Spool;
  client: CollectorClient;
  site: string;
  log: Logger;
  minBackoffMs?: number;
  maxBackoffMs?: number;
}

/** Exponential backoff with ±20 % jitter, so agents that lost the collector together do not return in lockstep. */
export function backoffMs(attempt: number, minMs: number, maxMs: number, random = Math.random): number {
  const base = Math.min(maxMs, minMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(base * (0.8 + 0.4 * random()));
}

export class Sender {
  private readonly opts: Required<SenderOptions>;
  private stopped = false;
  private running: Promise<void> | undefined;
  private wakeUp: (() => void) | undefined;
  /** A wake() that came while no one was waiting: the next idle wait returns at once. */
  private woken = false;
  private readonly abort = new AbortController();
  /** Batches and results the collector acknowledged since start. */
  sentBatches = 0;
  sentResults = 0;

  constructor(opts: SenderOptions) {
    this.opts = { minBackoffMs: 500, maxBackoffMs: 60_000, ...opts };
  }

  start(): void {
    this.running ??= this.loop();
  }

  /** New batches are in the spool. Ignored while backing off: that would turn backoff into a hot loop. */
  wake(): void {
    this.woken = true;
    this.wakeUp?.();
  }

  /** Stops after the request in flight (which is aborted); unsent batches stay in the spool. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.abort.abort();
    this.wakeUp?.();
    await this.running;
  }

  private async loop(): Promise<void> {
    const { spool, client, log, site } = this.opts;
    let attempt = 0;
    let away: string | undefined;
    while (!this.stopped) {
      this.woken = false;
      const batch = await spool.peek();
      if (batch === undefined) {
        await this.idle(undefined);
        continue;
      }
      const out = await client.postResults(batch, this.abort.signal);
      if (this.stopped) return;
      switch (out.kind) {
        case 'ok': {
          await spool.ack(batch.batch_id);
          this.sentBatches += 1;
          this.sentResults += batch.results.length;
          if (away !== undefined) {
            log.info('collector is reachable again; sending the spooled results in order', {
              collector: client.url,
              queued_results: spool.stats().queued_results,
            });
          }
          away = undefined;
          attempt = 0;
          break;
        }
        case 'retry': {
          attempt += 1;
          const wait = out.retryAfterMs ?? backoffMs(attempt, this.opts.minBackoffMs, this.opts.maxBackoffMs);
          if (away === undefined) {
            log.warn('collector unreachable; results are kept in the disk spool and resent when it is back', {
              reason: out.reason,
              queued_results: spool.stats().queued_results,
            });
          } else {
            log.debug('collector still unreachable', { reason: out.reason, retry_in_ms: wait });
          }
          away = out.reason;
          await this.idle(wait);
          break;
        }
        case 'denied': {
          attempt += 1;
          away = `${out.status} ${out.message}`;
          // A version refusal says itself what to upgrade; anything else here is the token's or site's.
          const check = isVersionRefusal(out.message)
            ? ''
            : ` Check the agent's token: it must match sites.${site}.token_env or token_sha256 in the ` +
              "collector's topology file.";
          log.error(
            `collector refused the results of site "${site}" (${out.status}: ${out.message}).${check} ` +
              `Results stay in the spool; retrying in ${Math.round(this.opts.maxBackoffMs / 1000)} s.`,
          );
          await this.idle(this.opts.maxBackoffMs);
          break;
        }
        case 'rejected': {
          log.error(
            `collector rejected batch ${batch.batch_id} of ${batch.results.length} results (${out.status}: ` +
              `${out.message}); it will never be accepted, so it was moved aside in the spool directory and counted as dropped`,
            { batch_id: batch.batch_id },
          );
          await spool.reject(batch.batch_id);
          break;
        }
      }
    }
  }

  /** Waits for `ms` (a backoff: only stop() ends it early) or, with no ms, until wake() or stop(). */
  private idle(ms: number | undefined): Promise<void> {
    return new Promise((resolve) => {
      if (ms === undefined && this.woken) {
        resolve();
        return;
      }
      const done = () => {
        clearTimeout(timer);
        this.wakeUp = undefined;
        resolve();
      };
      const timer = ms === undefined ? undefined : setTimeout(done, ms);
      if (ms === undefined || this.stopped) this.wakeUp = done;
      else this.wakeUp = () => this.stopped && done();
      if (this.stopped) done();
    });
  }
}
