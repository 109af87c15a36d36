// Mesh qualifications: the collector splits a qualification into one task per link, run by the agent at
// the link's first site towards the other. Tasks run in rounds in which no site takes part in two tasks,
// so no iperf3 server is asked for two tests at once and no link carries two tests. Agents fetch ready
// tasks, report progress and send back their measurements; the operator's `wanwatch qualify` polls the
// qualification and judges the links itself. Held in memory while it runs: a running qualification does
// not outlive a collector restart (the operator's command then says so). A finished one is handed to
// the archive (collector/store/qualifications.ts), from which it is listed and read after a restart.
//
// While a task is unfinished its two sites are held (heldSites): the collector leaves the monitoring
// plan's throughput slots of those sites out of the plans (collector/plan/hold.ts), and a task becomes
// ready only once its `gate` says no monitoring test can still run at its sites, so a qualification and
// monitoring never test at one site at once. The qualification lists those sites (monitoring_paused).
import { randomUUID } from 'node:crypto';
import type { Topology } from '../../shared/topology/model.ts';
import { linkKey } from '../../shared/topology/model.ts';
import type { LinkRequirement } from '../../shared/topology/requirements.ts';
import type {
  LinkMeasurements,
  Qualification,
  QualificationRequest,
  QualifyTask,
  TaskProgress,
  TaskResult,
} from '../../shared/wire.ts';

type TaskState = Qualification['tasks'][number]['state'];

interface Task {
  spec: QualifyTask;
  round: number;
  state: TaskState;
  progress: TaskProgress | null;
  measurements: LinkMeasurements | null;
  error: string | null;
  /** When the task's round became ready, when the agent took it, when it last reported. */
  ready_at_ms: number | null;
  started_at_ms: number | null;
  last_report_ms: number | null;
}

interface Job {
  id: string;
  created_at_ms: number;
  cancelled: boolean;
  tasks: Task[];
  /** Sites whose monitoring throughput tests are held for it. */
  monitoring_paused: string[];
  /** When its last task finished; null while one runs. */
  finished_at_ms: number | null;
  /** A task changed since it was last handed to the archive. */
  changed: boolean;
}

/** Where finished qualifications are kept across restarts (the store). */
export interface QualificationKeeper {
  save(q: Qualification, finishedAtMs: number): void;
  get(id: string): Qualification | undefined;
  /** The latest kept, newest first. */
  list(): Qualification[];
}

/**
 * Whether no monitoring throughput test can be running at `sites` any more, the hold having started at
 * `holdSince`; without one (tests of this module alone), tasks start when their round comes.
 */
export type MonitoringGate = (sites: ReadonlySet<string>, holdSince: number, now: number) => boolean;

/** A ready task nobody picked up within this time fails: the agent is not running or not polling. */
export const PICKUP_TIMEOUT_MS = 60_000;
/** A running task that has not reported for this long past its planned end fails. */
export const REPORT_TIMEOUT_MS = 60_000;
const KEEP_JOBS = 20;

export class QualificationError extends Error {
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.status = status;
  }
}

const finished = (s: TaskState) => s === 'done' || s === 'failed' || s === 'cancelled';

export class Qualifications {
  private readonly jobs = new Map<string, Job>();
  private readonly tasks = new Map<string, { job: Job; task: Task }>();

  constructor(
    private readonly gate: MonitoringGate = () => true,
    private readonly keeper: QualificationKeeper | null = null,
  ) {}

  /** Sites in a task not finished yet: their monitoring throughput tests are held. */
  heldSites(): Set<string> {
    return this.busySites();
  }

  create(
    req: QualificationRequest,
    topology: Topology,
    links: LinkRequirement[],
    now: number,
  ): Qualification {
    const byKey = new Map(links.map((l) => [linkKey(l.sites[0], l.sites[1]), l]));
    let chosen: LinkRequirement[];
    if (req.links === null) {
      chosen = links;
    } else {
      const unknown = req.links.filter(([a, b]) => !byKey.has(linkKey(a, b))).map(([a, b]) => `${a}-${b}`);
      if (unknown.length > 0) {
        throw new QualificationError(
          400,
          `not a link of the topology: ${unknown.join(', ')} (links: ${links.map((l) => l.sites.join('-')).join(', ') || 'none'})`,
        );
      }
      const keys = new Set(req.links.map(([a, b]) => linkKey(a, b)));
      chosen = links.filter((l) => keys.has(linkKey(l.sites[0], l.sites[1])));
    }
    if (chosen.length === 0) throw new QualificationError(400, 'the topology has no link to qualify');
    const busy = this.busySites();
    const clash = chosen.flatMap((l) => l.sites).filter((s) => busy.has(s));
    if (clash.length > 0) {
      throw new QualificationError(
        409,
        `another qualification is still running at ${[...new Set(clash)].join(', ')}; wait for it or stop it`,
      );
    }

    const sites = [...new Set(chosen.flatMap((l) => l.sites))].sort();
    const job: Job = {
      id: randomUUID(),
      created_at_ms: now,
      cancelled: false,
      tasks: [],
      monitoring_paused: topology.probes.throughput.enabled ? sites : [],
      finished_at_ms: null,
      changed: false,
    };
    const rounds: Set<string>[] = [];
    for (const l of chosen) {
      const [site, peerName] = l.sites;
      const peer = topology.sites.get(peerName);
      if (!peer) continue;
      let r = rounds.findIndex((s) => !s.has(site) && !s.has(peerName));
      if (r === -1) {
        r = rounds.length;
        rounds.push(new Set());
      }
      rounds[r]?.add(site).add(peerName);
      const task: Task = {
        spec: {
          id: randomUUID(),
          qualification_id: job.id,
          site,
          peer: {
            site: peerName,
            address: peer.address,
            reflector_port: peer.reflector_port,
            iperf3_port: peer.iperf3_port,
          },
          required_bps: l.required_mbps * 1e6,
          duration_ms: req.duration_ms,
          test_duration_ms: req.test_duration_ms,
          rtt: { ...req.rtt, tcp_port: topology.probes.rtt.tcp_port ?? null },
          skip_throughput: req.skip_throughput,
        },
        round: r,
        state: 'waiting',
        progress: null,
        measurements: null,
        error: null,
        ready_at_ms: null,
        started_at_ms: null,
        last_report_ms: null,
      };
      job.tasks.push(task);
      this.tasks.set(task.spec.id, { job, task });
    }
    this.jobs.set(job.id, job);
    this.forgetOld();
    this.tick(now);
    return this.view(job);
  }

  /**
   * Every qualification the collector holds, newest first: those in memory (the latest KEEP_JOBS) and
   * the finished ones its archive keeps.
   */
  list(now: number): Qualification[] {
    this.tick(now);
    const held = [...this.jobs.values()].map((j) => this.view(j));
    const ids = new Set(held.map((q) => q.id));
    const kept = (this.keeper?.list() ?? []).filter((q) => !ids.has(q.id));
    return [...held, ...kept].sort((x, y) => y.created_at_ms - x.created_at_ms);
  }

  get(id: string, now: number): Qualification | undefined {
    this.tick(now);
    const job = this.jobs.get(id);
    return job ? this.view(job) : this.keeper?.get(id);
  }

  cancel(id: string, now: number): Qualification | undefined {
    const job = this.jobs.get(id);
    // One the archive holds has finished: there is nothing left to stop.
    if (!job) return this.keeper?.get(id);
    job.cancelled = true;
    for (const t of job.tasks) {
      // Running tasks learn of it at their next progress report and send what they measured.
      if (t.state === 'waiting') t.state = 'cancelled';
    }
    this.tick(now);
    return this.view(job);
  }

  /** Tasks the agent at `site` should start now; they are marked running. */
  takeTasks(site: string, now: number): QualifyTask[] {
    this.tick(now);
    const out: QualifyTask[] = [];
    for (const { job, task } of this.tasks.values()) {
      if (task.spec.site !== site || task.state !== 'waiting' || task.ready_at_ms === null || job.cancelled)
        continue;
      task.state = 'running';
      task.started_at_ms = now;
      task.last_report_ms = now;
      out.push(task.spec);
    }
    return out;
  }

  progress(taskId: string, site: string, p: TaskProgress, now: number): { cancelled: boolean } {
    const { job, task } = this.own(taskId, site);
    if (task.state === 'running') {
      task.progress = p;
      task.last_report_ms = now;
    }
    return { cancelled: job.cancelled || task.state === 'cancelled' || task.state === 'failed' };
  }

  complete(taskId: string, site: string, result: TaskResult, now: number): void {
    const { job, task } = this.own(taskId, site);
    if (finished(task.state) && task.state !== 'cancelled') return;
    task.measurements = result.measurements;
    task.error = result.error;
    task.state = result.error !== null && result.measurements === null ? 'failed' : 'done';
    task.last_report_ms = now;
    job.changed = true;
    this.tick(now);
  }

  /** Advances rounds and fails tasks whose agent went quiet. */
  tick(now: number): void {
    for (const job of this.jobs.values()) {
      const rounds = Math.max(0, ...job.tasks.map((t) => t.round + 1));
      for (let r = 0; r < rounds; r++) {
        const inRound = job.tasks.filter((t) => t.round === r);
        for (const t of inRound) {
          if (
            t.ready_at_ms === null &&
            !job.cancelled &&
            this.gate(new Set([t.spec.site, t.spec.peer.site]), job.created_at_ms, now)
          )
            t.ready_at_ms = now;
          if (t.state === 'waiting' && t.ready_at_ms !== null && now - t.ready_at_ms > PICKUP_TIMEOUT_MS) {
            t.state = 'failed';
            t.error = `the agent at ${t.spec.site} did not pick up the task within ${PICKUP_TIMEOUT_MS / 1000} s: is it running and connected to this collector?`;
          }
          const deadline =
            (t.started_at_ms ?? 0) + t.spec.duration_ms + 4 * t.spec.test_duration_ms + REPORT_TIMEOUT_MS;
          if (t.state === 'running' && now > deadline && now - (t.last_report_ms ?? 0) > REPORT_TIMEOUT_MS) {
            t.state = 'failed';
            t.error = `the agent at ${t.spec.site} stopped reporting on the task`;
          }
        }
        if (!inRound.every((t) => finished(t.state))) break;
      }
      this.keep(job, now);
    }
  }

  /** Hands a job to the archive when its last task finishes, and again if a late report changes it. */
  private keep(job: Job, now: number): void {
    if (!job.tasks.every((t) => finished(t.state))) return;
    if (job.finished_at_ms !== null && !job.changed) return;
    job.finished_at_ms ??= now;
    job.changed = false;
    this.keeper?.save(this.view(job), job.finished_at_ms);
  }

  private own(taskId: string, site: string): { job: Job; task: Task } {
    const found = this.tasks.get(taskId);
    if (!found)
      throw new QualificationError(404, `no qualification task ${taskId} (the collector may have restarted)`);
    if (found.task.spec.site !== site) {
      throw new QualificationError(
        403,
        `task ${taskId} belongs to site "${found.task.spec.site}", not "${site}"`,
      );
    }
    return found;
  }

  private busySites(): Set<string> {
    const busy = new Set<string>();
    for (const job of this.jobs.values()) {
      for (const t of job.tasks) {
        if (!finished(t.state)) busy.add(t.spec.site).add(t.spec.peer.site);
      }
    }
    return busy;
  }

  private forgetOld(): void {
    const old = [...this.jobs.values()].sort((a, b) => a.created_at_ms - b.created_at_ms);
    while (old.length > KEEP_JOBS) {
      const job = old.shift() as Job;
      this.jobs.delete(job.id);
      for (const t of job.tasks) this.tasks.delete(t.spec.id);
    }
  }

  private view(job: Job): Qualification {
    const all = job.tasks.every((t) => finished(t.state));
    return {
      id: job.id,
      state: job.cancelled && all ? 'cancelled' : all ? 'done' : 'running',
      created_at_ms: job.created_at_ms,
      finished_at_ms: job.finished_at_ms,
      monitoring_paused: job.monitoring_paused,
      tasks: job.tasks.map((t) => ({
        id: t.spec.id,
        site: t.spec.site,
        peer: t.spec.peer.site,
        round: t.round,
        state: t.state,
        progress: t.progress,
        measurements: t.measurements,
        error: t.error,
      })),
    };
  }
}
