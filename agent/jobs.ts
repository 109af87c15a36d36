// Keeps the timetable (agent/schedule/ says when each job is due; measure.ts does the measuring): one
// timer, armed for the next due time, starts every job due since the last wake-up. A job whose previous
// run is still going is skipped, not stacked, and an RTT round is left out while a throughput test with
// the same peer fills the link.
import { errorMessage } from '../probes/round.ts';
import type { Logger } from '../shared/log.ts';
import type { AgentPlan, Peer } from '../shared/wire.ts';
import type { Measurer } from './measure.ts';
import { dueBetween, nextDue } from './schedule/periodic.ts';
import { duringThroughputSlot, type Timetable, timetable } from './schedule/plan.ts';

export interface JobsDeps {
  measurer: Measurer;
  now: () => number;
  log: Logger;
  /** Aborted at shutdown: nothing more is started. */
  signal: AbortSignal;
  countError: () => void;
}

export class Jobs {
  private readonly deps: JobsDeps;
  private followed: { plan: AgentPlan; table: Timetable } | undefined;
  /** Jobs due up to here have been started (or were due before the current plan). */
  private cursor = 0;
  private timer: NodeJS.Timeout | undefined;
  private readonly running = new Map<string, Promise<void>>();
  private readonly overlapWarned = new Set<string>();
  /** False once stop() was called (drain, shutdown). */
  private measuring = true;

  constructor(deps: JobsDeps) {
    this.deps = deps;
  }

  /** Measurements running now. */
  get inFlight(): number {
    return this.running.size;
  }

  /** Switches to the plan's timetable (a timer already armed wakes into it); then call startFromNow(). */
  follow(plan: AgentPlan): Timetable {
    const table = timetable(plan);
    this.followed = { plan, table };
    return table;
  }

  /** Runs the jobs due from now on; nothing due before is replayed. */
  startFromNow(): void {
    this.cursor = this.deps.now();
    this.arm();
  }

  /** Starts no more jobs; those running go on (settled() waits for them). */
  stop(): void {
    this.measuring = false;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** Resolves once every job running now has ended. */
  settled(): Promise<unknown> {
    return Promise.allSettled([...this.running.values()]);
  }

  private arm(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.deps.signal.aborted || !this.measuring || this.followed === undefined) return;
    const now = this.deps.now();
    const next = nextDue(this.followed.table.jobs, this.cursor);
    if (next === undefined) return;
    this.timer = setTimeout(() => this.tick(), Math.max(0, next - now));
  }

  private tick(): void {
    this.timer = undefined;
    const followed = this.followed;
    if (this.deps.signal.aborted || !this.measuring || followed === undefined) return;
    const { plan, table } = followed;
    const now = this.deps.now();
    const { measurer } = this.deps;
    for (const job of dueBetween(table.jobs, this.cursor, now)) {
      const rttPeer = table.rtt.get(job.key);
      if (rttPeer !== undefined && !this.rttPaused(plan, rttPeer, job.due_ms)) {
        this.launch(job.key, () => measurer.rttRound(plan, rttPeer));
      }
      const tp = table.throughput.get(job.key);
      if (tp !== undefined) this.launch(job.key, () => measurer.throughputSlot(plan, tp.slot, tp.peer));
    }
    this.cursor = Math.max(this.cursor, now);
    this.arm();
  }

  /** An RTT round to the peer is left out while a throughput test with it runs (see duringThroughputSlot). */
  private rttPaused(plan: AgentPlan, peer: Peer, due_ms: number): boolean {
    const round_ms = plan.rtt.count * plan.rtt.spacing_ms + plan.rtt.timeout_ms;
    return duringThroughputSlot(plan, peer.site, Math.max(due_ms, this.deps.now()), round_ms);
  }

  /** Runs a job unless its previous run is still going (a slow round is not stacked on itself). */
  private launch(key: string, job: () => Promise<void>): void {
    if (this.running.has(key)) {
      // Once per job: a round that outlasts its interval (count × spacing + timeout > interval) or a
      // throughput test that outlasts its cycle is a plan to fix, not something to log every time.
      if (!this.overlapWarned.has(key)) {
        this.overlapWarned.add(key);
        this.deps.log.warn('a measurement is still running when its next one is due; skipping the next one', {
          job: key,
          hint: 'make probes.rtt.interval longer than count × spacing + timeout',
        });
      }
      return;
    }
    const run = job()
      .catch((err: unknown) => {
        this.deps.countError();
        this.deps.log.error('a measurement job failed unexpectedly', { job: key, error: errorMessage(err) });
      })
      .finally(() => this.running.delete(key));
    this.running.set(key, run);
  }
}
