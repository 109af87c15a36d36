// Collects results into batches: a batch is cut when it holds `maxResults` results or when its first
// result has waited `maxDelayMs`, whichever comes first. Cut batches go to `flush` (the disk spool), one
// flush at a time and in the order the results arrived.
import type { Result } from '../../shared/result.ts';

export interface BatcherOptions {
  maxResults: number;
  maxDelayMs: number;
  flush: (results: Result[]) => Promise<void>;
  onError?: (err: unknown) => void;
}

export class Batcher {
  private pending: Result[] = [];
  private timer: NodeJS.Timeout | undefined;
  private chain: Promise<void> = Promise.resolve();
  private readonly opts: BatcherOptions;

  constructor(opts: BatcherOptions) {
    if (opts.maxResults < 1) throw new Error(`batcher: maxResults must be ≥ 1, got ${opts.maxResults}`);
    this.opts = opts;
  }

  get size(): number {
    return this.pending.length;
  }

  add(result: Result): void {
    this.pending.push(result);
    if (this.pending.length >= this.opts.maxResults) {
      void this.cut();
    } else if (this.timer === undefined) {
      this.timer = setTimeout(() => void this.cut(), this.opts.maxDelayMs);
    }
  }

  /** Cuts whatever is pending now and resolves once every batch cut so far has been flushed. */
  flushNow(): Promise<void> {
    return this.cut();
  }

  private cut(): Promise<void> {
    if (this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    const results = this.pending;
    this.pending = [];
    if (results.length > 0) {
      this.chain = this.chain.then(() =>
        this.opts.flush(results).catch((err: unknown) => this.opts.onError?.(err)),
      );
    }
    return this.chain;
  }
}
