// Agents waiting for qualification tasks (GET /api/v1/tasks?wait=S, a long poll): each request is held
// until a task for its site is ready, its wait runs out, its client goes away or the collector stops.
// An idle agent so costs one request per wait (25 s) instead of one every 3 s, and a task reaches it as
// soon as it is ready. Tasks become ready when a qualification is created or a task ends (poke), and as
// time passes while one runs (a round's gate opening): then the waiting sites look again every second.
import type { QualifyTask } from '../../shared/wire.ts';

/** The longest a request may wait, whatever it asks (under common proxies' idle timeouts). */
export const MAX_TASK_WAIT_MS = 30_000;
const CHECK_EVERY_MS = 1000;

interface Waiter {
  site: string;
  resolve: (tasks: QualifyTask[]) => void;
  timer: NodeJS.Timeout;
  signal: AbortSignal | undefined;
  onAbort: () => void;
}

export class TaskWaiters {
  private readonly waiting = new Set<Waiter>();
  private timer: NodeJS.Timeout | undefined;

  /**
   * `take` hands out (and marks taken) the ready tasks of a site; `running` says whether any
   * qualification is unfinished (tasks can become ready with time only then).
   */
  constructor(
    private readonly take: (site: string, now: number) => QualifyTask[],
    private readonly running: () => boolean,
  ) {}

  /**
   * The site's ready tasks now, or as soon as some are ready within `waitMs`; none once it runs out,
   * `signal` aborts (the client went away: nothing is taken for it) or the waiters are released.
   */
  wait(site: string, waitMs: number, signal?: AbortSignal): Promise<QualifyTask[]> {
    const ready = this.take(site, Date.now());
    if (ready.length > 0 || waitMs <= 0 || signal?.aborted) return Promise.resolve(ready);
    return new Promise((resolve) => {
      const w: Waiter = {
        site,
        resolve,
        signal,
        timer: setTimeout(() => this.finish(w, []), Math.min(waitMs, MAX_TASK_WAIT_MS)),
        onAbort: () => this.finish(w, []),
      };
      signal?.addEventListener('abort', w.onAbort, { once: true });
      this.waiting.add(w);
      this.arm();
    });
  }

  /** Something changed (a qualification created or cancelled, a task ended): the waiting look again. */
  poke(): void {
    for (const w of [...this.waiting]) {
      const ready = this.take(w.site, Date.now());
      if (ready.length > 0) this.finish(w, ready);
    }
    this.arm();
  }

  /** Answers every waiting request with no tasks (the collector is stopping). */
  releaseAll(): void {
    for (const w of [...this.waiting]) this.finish(w, []);
  }

  /** How many requests wait now. */
  get size(): number {
    return this.waiting.size;
  }

  private finish(w: Waiter, tasks: QualifyTask[]): void {
    if (!this.waiting.delete(w)) return;
    clearTimeout(w.timer);
    w.signal?.removeEventListener('abort', w.onAbort);
    w.resolve(tasks);
    if (this.waiting.size === 0) this.disarm();
  }

  /** Looks again every second while requests wait and a qualification runs; idle otherwise. */
  private arm(): void {
    if (this.timer !== undefined || this.waiting.size === 0 || !this.running()) return;
    this.timer = setInterval(() => {
      if (this.waiting.size === 0 || !this.running()) this.disarm();
      else this.poke();
    }, CHECK_EVERY_MS);
    this.timer.unref();
  }

  private disarm(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
  }
}
