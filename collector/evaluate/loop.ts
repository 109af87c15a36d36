// When alerts are evaluated: on arrival (ingest, heartbeats or a reload ask for it, and the step runs at
// once, or after a short debounce when one ran less than ARRIVAL_DEBOUNCE_MS ago, so a burst of batches
// costs one step), and every interval for what time alone changes (a `for` or `clear_for` running out, a
// round leaving the window, a silent agent). A step costs what arrived since the last one (evaluator.ts),
// so both can be frequent. A failed evaluation is logged and retried at the next interval.
import type { Logger } from '../../shared/log.ts';
import type { AlertEvent } from '../alerts/event.ts';
import type { EvaluationContext, Evaluator } from './evaluator.ts';

export const DEFAULT_EVALUATE_INTERVAL_MS = 1000;
/** Evaluations asked for by ingest run at most this often (or every evaluate interval, if shorter). */
const ARRIVAL_DEBOUNCE_MS = 100;
/**
 * …and wait at least this many times as long as the last step took: under a burst of arrivals, steps
 * take at most a third of the collector's time, and each handles more of the burst at once.
 */
const STEP_SPACING_FACTOR = 2;

export interface EvaluationLoopOptions {
  intervalMs: number;
  /** The topology in force at each evaluation (a reload replaces it). */
  context(): EvaluationContext;
  /** Told after each evaluation: it stored link status points (and maybe events) to copy out. */
  outputs: { poke(): void };
  /** Told when an evaluation queued notifications. */
  outbox: { wake(): void };
  log: Logger;
  /** Aborted when the collector shuts down: nothing is evaluated after. */
  shutdown: AbortSignal;
}

export class EvaluationLoop {
  private queued = false;
  private lastEvaluation = 0;
  private lastStepMs = 0;

  constructor(
    private readonly evaluator: Evaluator,
    private readonly opts: EvaluationLoopOptions,
  ) {
    // The read API answers from the latest evaluation while the next one is still due: one interval
    // late at most, a second one for an evaluation running late behind ingest.
    evaluator.setReadsFreshFor(2 * opts.intervalMs);
  }

  /** Evaluates every interval until shutdown. */
  start(): void {
    const timer = setInterval(() => this.evaluateSafely(), this.opts.intervalMs);
    this.opts.shutdown.addEventListener('abort', () => clearInterval(timer), { once: true });
  }

  /** Runs one evaluation now and returns the events it raised; throws when it fails. */
  evaluateNow(): AlertEvent[] {
    const { log } = this.opts;
    const events = this.evaluator.evaluate(this.opts.context(), Date.now());
    this.opts.outputs.poke();
    for (const e of events) {
      log.info(`alert ${e.status}${e.reminder ? ' (reminder)' : ''}: ${e.summary}`, {
        dedup_key: e.dedup_key,
      });
    }
    if (events.length > 0) this.opts.outbox.wake();
    return events;
  }

  /** Asks for an evaluation soon; requests made before it runs share it. */
  queue(): void {
    if (this.queued) return;
    this.queued = true;
    const spacing = Math.max(
      Math.min(this.opts.intervalMs, ARRIVAL_DEBOUNCE_MS),
      STEP_SPACING_FACTOR * this.lastStepMs,
    );
    const wait = Math.max(0, this.lastEvaluation + spacing - Date.now());
    setTimeout(() => {
      this.queued = false;
      if (!this.opts.shutdown.aborted) this.evaluateSafely();
    }, wait).unref();
  }

  private evaluateSafely(): void {
    const started = Date.now();
    try {
      this.evaluateNow();
    } catch (err) {
      this.opts.log.error('alert evaluation failed; retrying at the next interval', { error: err });
    }
    this.lastEvaluation = Date.now();
    this.lastStepMs = this.lastEvaluation - started;
  }
}
