// The agent's timetable, as pure functions of time. Every job (an RTT round to one peer, a throughput
// slot) repeats with a period and a phase, anchored at the Unix epoch: it is due at every t with
// t mod period = phase. Due times are computed from `now`, never by adding intervals to the last run,
// so timer lateness does not accumulate (no drift) and a new plan takes effect at its next due time.

export interface PeriodicJob {
  /** Stable name of the job, e.g. "rtt:london" or "throughput:dallas>london". */
  key: string;
  period_ms: number;
  /** 0 ≤ phase_ms < period_ms. */
  phase_ms: number;
}

export interface DueJob {
  key: string;
  due_ms: number;
}

/** The first time ≥ t at which the job is due. */
export function firstDueAtOrAfter(job: PeriodicJob, t: number): number {
  const phase = mod(job.phase_ms, job.period_ms);
  const base = t - mod(t - phase, job.period_ms);
  return base === t ? t : base + job.period_ms;
}

/** The next time > t at which any job is due, or undefined when there are no jobs. */
export function nextDue(jobs: readonly PeriodicJob[], t: number): number | undefined {
  let next: number | undefined;
  for (const job of jobs) {
    const due = firstDueAtOrAfter(job, t + 1);
    if (next === undefined || due < next) next = due;
  }
  return next;
}

/**
 * The jobs due in the half-open window (from, to], sorted by due time. A job due several times in the
 * window (the process was stopped, or the clock jumped) is listed once, at its latest due time: a late
 * agent measures now instead of replaying the rounds it missed.
 */
export function dueBetween(jobs: readonly PeriodicJob[], from: number, to: number): DueJob[] {
  const out: DueJob[] = [];
  if (to <= from) return out;
  for (const job of jobs) {
    const first = firstDueAtOrAfter(job, from + 1);
    if (first > to) continue;
    const latest = first + Math.floor((to - first) / job.period_ms) * job.period_ms;
    out.push({ key: job.key, due_ms: latest });
  }
  return out.sort((a, b) => a.due_ms - b.due_ms || a.key.localeCompare(b.key));
}

/**
 * Spreads jobs of one period evenly over it, so that 200 peers measured every 10 s start 50 ms apart
 * instead of all at once. Keys are sorted first, so the phases depend only on the set of keys, not
 * on the order the plan lists them in.
 */
export function spreadEvenly(keys: readonly string[], period_ms: number): PeriodicJob[] {
  const sorted = [...new Set(keys)].sort();
  return sorted.map((key, i) => ({
    key,
    period_ms,
    phase_ms: Math.floor((i * period_ms) / sorted.length),
  }));
}

function mod(a: number, n: number): number {
  return ((a % n) + n) % n;
}
