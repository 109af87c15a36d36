// The agent: asks the collector for its plan, serves its peers (UDP reflector + iperf3 server), measures
// every peer on the plan's timetable, and pushes the results through the disk spool. The probes, the
// throughput runner and the responder are passed in (`createAgent(deps, options)`); the `wanwatch agent`
// command wires in the real ones, tests may wire in others.
//
// Nothing a measurement does can stop the agent: a probe that throws or returns something malformed
// becomes an `internal` error Result and is counted in the next heartbeat's `errors`.
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import type { ThroughputOptions, ThroughputRunner, ThroughputTarget } from '../probes/throughput.ts';
import type { RttProbe, RttTarget } from '../probes/types.ts';
import { createLogger, type Logger } from '../shared/log.ts';
import { rttPort } from '../shared/ports.ts';
import {
  type ProbeMethod,
  type Result,
  type RttResult,
  rttResultSchema,
  type ThroughputResult,
  throughputResultSchema,
} from '../shared/result.ts';
import type { AgentPlan, Heartbeat, Peer, ThroughputSlot } from '../shared/wire.ts';
import { Batcher } from './push/batcher.ts';
import { CollectorClient } from './push/client.ts';
import { backoffMs, Sender } from './push/sender.ts';
import { dueBetween, nextDue } from './schedule/periodic.ts';
import { duringThroughputSlot, type Timetable, timetable } from './schedule/plan.ts';
import { DEFAULT_SPOOL_MAX_RESULTS, Spool, type SpoolStats } from './spool/spool.ts';
import { QualifyTasks } from './tasks/qualify.ts';

export type { ThroughputOptions, ThroughputRunner, ThroughputTarget };

export interface ResponderConfig {
  address: string;
  reflector_port: number;
  iperf3_port: number;
}
export interface Responder {
  close(): Promise<void> | void;
}
export type StartResponder = (config: ResponderConfig) => Promise<Responder> | Responder;

export interface AgentDeps {
  rttProbes: Record<ProbeMethod, RttProbe>;
  runThroughput: ThroughputRunner;
  startResponder: StartResponder;
  fetch?: typeof fetch;
  now?: () => number;
  log?: Logger;
  /** Sees every result the agent produces (tests and benchmarks count them). */
  onResult?: (result: Result) => void;
}

export interface AgentOptions {
  site: string;
  /** Collector base URL, e.g. http://127.0.0.1:8080 */
  collector: string;
  token: string;
  dataDir: string;
  spoolMaxResults?: number;
  /** A batch is sent when it holds this many results… */
  batchMaxResults?: number;
  /** …or when its first result has waited this long. */
  batchMaxDelayMs?: number;
  /** Backoff bounds for reaching the collector. */
  retryMinMs?: number;
  retryMaxMs?: number;
  requestTimeoutMs?: number;
  /** How often to ask the collector for mesh-qualification tasks (default 3 s). */
  taskPollMs?: number;
  version?: string;
}

/** The collector answered 401/403/404 to the plan request at start: wrong site or token. */
export class AgentDeniedError extends Error {
  readonly status: number;
  constructor(message: string, status: number) {
    super(message);
    this.name = 'AgentDeniedError';
    this.status = status;
  }
}

export interface AgentStats {
  plan_version: string | null;
  /** Results produced since start (measurements and error results). */
  produced: number;
  /** Results the collector acknowledged since start. */
  sent: number;
  /** Results waiting in memory for their batch to be cut (then they go to the spool). */
  batching: number;
  /** Measurements running now. */
  in_flight: number;
  spool: SpoolStats;
  /** Probes that failed to run (internal errors) since start. */
  errors_total: number;
}

export function createAgent(deps: AgentDeps, options: AgentOptions): Agent {
  return new Agent(deps, options);
}

export class Agent {
  private readonly deps: AgentDeps;
  private readonly opts: AgentOptions;
  private readonly log: Logger;
  private readonly now: () => number;
  private readonly client: CollectorClient;
  private readonly abort = new AbortController();
  private readonly startedAt: number;

  private spool: Spool | undefined;
  private sender: Sender | undefined;
  private batcher: Batcher | undefined;

  private plan: AgentPlan | undefined;
  private table: Timetable | undefined;
  private cursor = 0;
  private responder: { config: ResponderConfig; handle: Responder } | undefined;

  private tickTimer: NodeJS.Timeout | undefined;
  private planTimer: NodeJS.Timeout | undefined;
  private heartbeatTimer: NodeJS.Timeout | undefined;
  private readonly running = new Map<string, Promise<void>>();
  private readonly overlapWarned = new Set<string>();
  private stopping = false;
  private starting: Promise<void> | undefined;
  /** False once drain() was called: plans are still followed, but nothing new is measured. */
  private measuring = true;
  private stopped: Promise<void> | undefined;
  private tasks: QualifyTasks | undefined;

  private produced = 0;
  private errorsTotal = 0;
  /** Internal errors not yet reported in an acknowledged heartbeat. */
  private errorsUnreported = 0;

  constructor(deps: AgentDeps, opts: AgentOptions) {
    this.deps = deps;
    this.opts = opts;
    this.log = (deps.log ?? createLogger()).child({ site: opts.site });
    this.now = deps.now ?? Date.now;
    this.startedAt = this.now();
    this.client = new CollectorClient({
      url: opts.collector,
      site: opts.site,
      token: opts.token,
      ...(opts.requestTimeoutMs === undefined ? {} : { timeoutMs: opts.requestTimeoutMs }),
      ...(deps.fetch === undefined ? {} : { fetch: deps.fetch }),
    });
  }

  stats(): AgentStats {
    return {
      plan_version: this.plan?.plan_version ?? null,
      produced: this.produced,
      sent: this.sender?.sentResults ?? 0,
      batching: this.batcher?.size ?? 0,
      in_flight: this.running.size,
      spool: this.spool?.stats() ?? { queued_results: 0, queued_batches: 0, dropped: 0 },
      errors_total: this.errorsTotal,
    };
  }

  get currentPlan(): AgentPlan | undefined {
    return this.plan;
  }

  /**
   * Opens the spool (resending what a previous run left), then waits for the first plan: an unreachable
   * collector is retried with a log line; a 401/403/404 rejects with AgentDeniedError.
   */
  start(): Promise<void> {
    this.starting ??= this.startOnce();
    return this.starting;
  }

  private async startOnce(): Promise<void> {
    const spoolDir = join(this.opts.dataDir, 'spool');
    this.spool = await Spool.open(spoolDir, {
      site: this.opts.site,
      maxResults: this.opts.spoolMaxResults ?? DEFAULT_SPOOL_MAX_RESULTS,
      log: this.log,
    });
    const left = this.spool.stats();
    if (left.queued_results > 0) {
      this.log.info('spool holds results from an earlier run; sending them first', {
        queued_results: left.queued_results,
        spool: spoolDir,
      });
    }
    this.sender = new Sender({
      spool: this.spool,
      client: this.client,
      site: this.opts.site,
      log: this.log,
      ...(this.opts.retryMinMs === undefined ? {} : { minBackoffMs: this.opts.retryMinMs }),
      ...(this.opts.retryMaxMs === undefined ? {} : { maxBackoffMs: this.opts.retryMaxMs }),
    });
    const spool = this.spool;
    const sender = this.sender;
    this.batcher = new Batcher({
      maxResults: this.opts.batchMaxResults ?? 500,
      maxDelayMs: this.opts.batchMaxDelayMs ?? 2000,
      flush: async (results) => {
        await spool.append(results);
        sender.wake();
      },
      onError: (err) => this.log.error('could not write results to the spool', { error: err }),
    });
    this.sender.start();

    const plan = await this.firstPlan();
    if (plan === undefined) return; // stopped while waiting
    await this.apply(plan);
    this.scheduleHeartbeat(0);
    this.schedulePlanRefresh();
    if (!this.stopping) {
      this.tasks = new QualifyTasks(
        {
          client: this.client,
          site: this.opts.site,
          rttProbes: this.deps.rttProbes,
          runThroughput: this.deps.runThroughput,
          log: this.log,
        },
        this.opts.taskPollMs,
      );
      this.tasks.start();
    }
  }

  private async firstPlan(): Promise<AgentPlan | undefined> {
    let attempt = 0;
    while (!this.stopping) {
      const out = await this.client.getPlan(this.abort.signal);
      if (this.stopping) return undefined;
      if (out.kind === 'ok') {
        if (attempt > 0) this.log.info('collector reached; got the plan', { collector: this.client.url });
        return out.value;
      }
      if (out.kind === 'denied') {
        throw new AgentDeniedError(
          `collector ${this.client.url} refused site "${this.opts.site}" (${out.status}): ${out.message}. ` +
            (out.status === 401
              ? `Check the token: it must match sites.${this.opts.site}.token_env or token_sha256 in the collector’s topology file.`
              : `Check --site against the sites in the collector’s topology file, and that the token is site "${this.opts.site}"’s.`),
          out.status,
        );
      }
      if (out.kind === 'rejected') {
        throw new AgentDeniedError(
          `collector ${this.client.url} rejected the plan request of site "${this.opts.site}" (${out.status}): ${out.message}`,
          out.status,
        );
      }
      attempt += 1;
      const wait =
        out.retryAfterMs ?? backoffMs(attempt, this.opts.retryMinMs ?? 1000, this.opts.retryMaxMs ?? 30_000);
      this.log.warn(`cannot get the plan from the collector yet; retrying in ${(wait / 1000).toFixed(1)} s`, {
        reason: out.reason,
      });
      await this.sleep(wait);
    }
    return undefined;
  }

  private async apply(plan: AgentPlan): Promise<void> {
    if (this.stopping) return;
    const previous = this.plan;
    this.plan = plan;
    this.table = timetable(plan);
    if (previous === undefined) {
      this.log.info('plan received; measuring', {
        plan_version: plan.plan_version,
        peers: plan.peers.map((p) => p.site),
        rtt_method: plan.rtt.method,
        rtt_interval_ms: plan.rtt.interval_ms,
        throughput_slots: this.table.throughput.size,
      });
    } else {
      this.log.info('plan changed; re-planned without restart', {
        from: previous.plan_version,
        to: plan.plan_version,
        peers: plan.peers.map((p) => p.site),
      });
    }
    await this.ensureResponder(plan.responder);
    // Jobs due from now on run under the new timetable; nothing due before is replayed.
    this.cursor = this.now();
    this.scheduleTick();
  }

  private async ensureResponder(config: ResponderConfig): Promise<void> {
    const same =
      this.responder !== undefined &&
      this.responder.config.address === config.address &&
      this.responder.config.reflector_port === config.reflector_port &&
      this.responder.config.iperf3_port === config.iperf3_port;
    if (same) return;
    if (this.responder !== undefined) {
      await this.closeResponder();
    }
    try {
      const handle = await this.deps.startResponder(config);
      if (this.stopping) {
        await handle.close();
        return;
      }
      this.responder = { config, handle };
      this.log.info('responder listening', { ...config });
    } catch (err) {
      this.countError();
      this.log.error(
        `could not start the responder on ${config.address} (UDP ${config.reflector_port}, iperf3 ${config.iperf3_port}): ` +
          `${errorText(err)}. Peers measuring this site will see errors; free the ports or fix the topology ` +
          'file (sites.<name>.address, reflector_port, iperf3_port); retrying at the next plan refresh.',
      );
    }
  }

  private async closeResponder(): Promise<void> {
    const r = this.responder;
    this.responder = undefined;
    if (r === undefined) return;
    try {
      await r.handle.close();
    } catch (err) {
      this.log.warn('responder did not close cleanly', { error: errorText(err) });
    }
  }

  // --- the timetable -------------------------------------------------------------------------------

  private scheduleTick(): void {
    if (this.tickTimer !== undefined) clearTimeout(this.tickTimer);
    this.tickTimer = undefined;
    if (this.stopping || !this.measuring || this.table === undefined) return;
    const now = this.now();
    const next = nextDue(this.table.jobs, this.cursor);
    if (next === undefined) return;
    this.tickTimer = setTimeout(() => this.tick(), Math.max(0, next - now));
  }

  private tick(): void {
    this.tickTimer = undefined;
    const table = this.table;
    if (this.stopping || !this.measuring || table === undefined) return;
    const now = this.now();
    for (const job of dueBetween(table.jobs, this.cursor, now)) {
      const rttPeer = table.rtt.get(job.key);
      if (rttPeer !== undefined && !this.rttPaused(rttPeer, job.due_ms)) {
        this.launch(job.key, () => this.rttRound(rttPeer));
      }
      const tp = table.throughput.get(job.key);
      if (tp !== undefined) this.launch(job.key, () => this.throughputTest(tp.slot, tp.peer));
    }
    this.cursor = Math.max(this.cursor, now);
    this.scheduleTick();
  }

  /** An RTT round to the peer is left out while a throughput test with it runs (see duringThroughputSlot). */
  private rttPaused(peer: Peer, due_ms: number): boolean {
    const plan = this.plan;
    if (plan === undefined) return false;
    const round_ms = plan.rtt.count * plan.rtt.spacing_ms + plan.rtt.timeout_ms;
    return duringThroughputSlot(plan, peer.site, Math.max(due_ms, this.now()), round_ms);
  }

  /** Runs a job unless its previous run is still going (a slow round is not stacked on itself). */
  private launch(key: string, job: () => Promise<void>): void {
    if (this.running.has(key)) {
      // Once per job: a round that outlasts its interval (count × spacing + timeout > interval) or a
      // throughput test that outlasts its cycle is a plan to fix, not something to log every time.
      if (!this.overlapWarned.has(key)) {
        this.overlapWarned.add(key);
        this.log.warn('a measurement is still running when its next one is due; skipping the next one', {
          job: key,
          hint: 'make probes.rtt.interval longer than count × spacing + timeout',
        });
      }
      return;
    }
    const run = job()
      .catch((err: unknown) => {
        this.countError();
        this.log.error('a measurement job failed unexpectedly', { job: key, error: errorText(err) });
      })
      .finally(() => this.running.delete(key));
    this.running.set(key, run);
  }

  private rttTarget(plan: AgentPlan, peer: Peer): RttTarget {
    const port = rttPort(plan.rtt.method, {
      reflector_port: peer.reflector_port,
      tcp_port: plan.rtt.tcp_port,
    });
    return { src: plan.site, dst: peer.site, host: peer.address, ...(port === undefined ? {} : { port }) };
  }

  private async measureRtt(plan: AgentPlan, peer: Peer): Promise<RttResult> {
    const method = plan.rtt.method;
    const target = this.rttTarget(plan, peer);
    const started = this.now();
    const fail = (message: string): RttResult => {
      this.countError();
      return {
        id: randomUUID(),
        kind: 'rtt',
        method,
        src: target.src,
        dst: target.dst,
        target: target.port === undefined ? target.host : `${target.host}:${target.port}`,
        time_ms: Math.round(started),
        duration_ms: Math.max(0, this.now() - started),
        error: { code: 'internal', message: message.slice(0, 2000) },
        rtt: null,
      };
    };
    let result: RttResult;
    try {
      result = await this.deps.rttProbes[method](target, {
        count: plan.rtt.count,
        spacing_ms: plan.rtt.spacing_ms,
        timeout_ms: plan.rtt.timeout_ms,
        signal: this.abort.signal,
      });
    } catch (err) {
      return fail(`${method} probe to ${peer.site} (${target.host}) threw: ${errorText(err)}`);
    }
    const checked = rttResultSchema.safeParse(result);
    if (!checked.success) {
      return fail(
        `${method} probe to ${peer.site} returned a malformed result: ${checked.error.issues[0]?.message}`,
      );
    }
    return checked.data;
  }

  private async rttRound(peer: Peer): Promise<void> {
    const plan = this.plan;
    if (plan === undefined) return;
    this.emit(await this.measureRtt(plan, peer));
  }

  private async throughputTest(slot: ThroughputSlot, peer: Peer): Promise<void> {
    const plan = this.plan;
    if (plan === undefined) return;
    const directions = plan.throughput.reverse ? [false, true] : [false];
    for (const reverse of directions) {
      if (this.stopping) return;
      this.emit(await this.oneThroughput(plan, slot, peer, reverse));
    }
  }

  /** One iperf3 test; the runner sends an RTT round to the same peer while it runs (latency under load). */
  private async oneThroughput(
    plan: AgentPlan,
    slot: ThroughputSlot,
    peer: Peer,
    reverse: boolean,
  ): Promise<ThroughputResult> {
    const t = plan.throughput;
    const target: ThroughputTarget = {
      src: plan.site,
      dst: peer.site,
      host: peer.address,
      port: peer.iperf3_port,
    };
    const rttPort = this.rttTarget(plan, peer).port;
    const started = this.now();
    try {
      const result = await this.deps.runThroughput(target, {
        protocol: t.protocol,
        duration_ms: t.duration_ms,
        omit_ms: t.omit_ms,
        streams: t.streams,
        reverse,
        ...(t.protocol === 'udp' ? { rate_bps: slot.required_bps } : {}),
        loadedRtt: {
          probe: plan.rtt.method,
          count: plan.rtt.count,
          spacing_ms: plan.rtt.spacing_ms,
          timeout_ms: plan.rtt.timeout_ms,
          ...(rttPort === undefined ? {} : { port: rttPort }),
        },
        signal: this.abort.signal,
      });
      const checked = throughputResultSchema.safeParse(result);
      if (!checked.success)
        throw new Error(`returned a malformed result: ${checked.error.issues[0]?.message}`);
      return checked.data;
    } catch (err) {
      this.countError();
      return {
        id: randomUUID(),
        kind: 'throughput',
        method: 'iperf3',
        src: target.src,
        dst: target.dst,
        target: `${target.host}:${target.port}`,
        time_ms: Math.round(started),
        duration_ms: Math.max(0, this.now() - started),
        error: {
          code: 'internal',
          message:
            `iperf3 ${reverse ? 'reverse ' : ''}test to ${peer.site} failed unexpectedly: ${errorText(err)}`.slice(
              0,
              2000,
            ),
        },
        throughput: null,
        loaded_rtt: null,
      };
    }
  }

  private emit(result: Result): void {
    this.produced += 1;
    this.deps.onResult?.(result);
    this.batcher?.add(result);
  }

  private countError(): void {
    this.errorsTotal += 1;
    this.errorsUnreported += 1;
  }

  // --- heartbeats and plan refresh -------------------------------------------------------------------

  private scheduleHeartbeat(delayMs: number): void {
    if (this.stopping) return;
    this.heartbeatTimer = setTimeout(() => void this.heartbeat(), delayMs);
  }

  private async heartbeat(): Promise<void> {
    const plan = this.plan;
    if (plan === undefined || this.spool === undefined) return;
    const spool = this.spool.stats();
    const reported = this.errorsUnreported;
    const hb: Heartbeat = {
      site: this.opts.site,
      version: this.opts.version ?? '0.0.0',
      time_ms: Math.round(this.now()),
      started_at_ms: Math.round(this.startedAt),
      plan_version: plan.plan_version,
      spool_queued: spool.queued_results + (this.batcher?.size ?? 0),
      spool_dropped: spool.dropped,
      errors: reported,
    };
    const out = await this.client.postHeartbeat(hb, this.abort.signal);
    if (out.kind === 'ok') this.errorsUnreported -= reported;
    else if (out.kind === 'denied' || out.kind === 'rejected') {
      this.log.error(
        `collector refused the heartbeat of site "${this.opts.site}" (${out.status}): ${out.message}`,
      );
    } else {
      this.log.debug('heartbeat not delivered', { reason: out.reason });
    }
    this.scheduleHeartbeat(plan.heartbeat.interval_ms);
  }

  private schedulePlanRefresh(): void {
    if (this.stopping || this.plan === undefined) return;
    this.planTimer = setTimeout(() => void this.refreshPlan(), this.plan.plan_refresh_ms);
  }

  private async refreshPlan(): Promise<void> {
    const out = await this.client.getPlan(this.abort.signal);
    if (this.stopping) return;
    if (out.kind === 'ok') {
      if (out.value.plan_version !== this.plan?.plan_version) await this.apply(out.value);
      // A responder that could not start (port taken) is tried again at every refresh.
      else if (this.responder === undefined) await this.ensureResponder(out.value.responder);
    } else if (out.kind === 'retry') {
      this.log.debug('plan refresh failed; keeping the current plan', { reason: out.reason });
    } else {
      this.log.error(
        `collector refused the plan of site "${this.opts.site}" (${out.status}: ${out.message}); keeping the ` +
          `current plan. Check the token (sites.${this.opts.site}.token_env / token_sha256) and that the site ` +
          'is still in the topology file.',
      );
    }
    this.schedulePlanRefresh();
  }

  /**
   * Stops starting new measurements and resolves once everything measured so far has been acknowledged
   * by the collector (or `timeoutMs` passed: false). Keeps the responder up for the peers. For tests,
   * benchmarks and an orderly hand-over; a signal uses stop(), which does not wait for the collector.
   */
  async drain(timeoutMs = 60_000): Promise<boolean> {
    this.measuring = false;
    // An agent still waiting for its first plan has a spool (maybe from an earlier run) to drain too.
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      this.starting?.catch(() => undefined),
      new Promise((resolve) => {
        timer = setTimeout(resolve, timeoutMs);
      }),
    ]);
    clearTimeout(timer);
    if (this.tickTimer !== undefined) clearTimeout(this.tickTimer);
    this.tickTimer = undefined;
    const end = this.now() + timeoutMs;
    await Promise.allSettled([...this.running.values()]);
    await this.batcher?.flushNow();
    this.sender?.wake();
    while (this.now() < end) {
      if ((this.spool?.stats().queued_results ?? 0) === 0) return true;
      await this.sleep(50);
    }
    return false;
  }

  // --- shutdown ----------------------------------------------------------------------------------------

  /** Stops measuring, cancels running probes, writes pending results to the spool and closes the responder. */
  stop(): Promise<void> {
    this.stopped ??= this.shutdown();
    return this.stopped;
  }

  private async shutdown(): Promise<void> {
    this.stopping = true;
    for (const t of [this.tickTimer, this.planTimer, this.heartbeatTimer])
      if (t !== undefined) clearTimeout(t);
    this.abort.abort();
    this.wakeSleepers();
    await this.tasks?.stop();
    // Cancelled probes return `cancelled` results; give them a moment, they go to the spool too.
    await Promise.race([Promise.allSettled([...this.running.values()]), delay(5000)]);
    await this.batcher?.flushNow();
    await this.sender?.stop();
    await this.closeResponder();
    const s = this.spool?.stats();
    this.log.info('agent stopped', { spool_queued: s?.queued_results ?? 0, spool_dropped: s?.dropped ?? 0 });
  }

  private readonly sleepers = new Set<() => void>();

  /** A sleep that shutdown ends early. */
  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      if (this.stopping) return resolve();
      const done = () => {
        clearTimeout(timer);
        this.sleepers.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.sleepers.add(done);
    });
  }

  private wakeSleepers(): void {
    for (const wake of [...this.sleepers]) wake();
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
