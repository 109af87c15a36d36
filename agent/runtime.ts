// The agent: asks the collector for its plan, serves its peers (UDP reflector + iperf3 server), measures
// every peer on the plan's timetable, and pushes the results through the disk spool. The probes, the
// throughput runner and the responder are passed in (`createAgent(deps, options)`); the `wanwatch agent`
// command wires in the real ones, tests may wire in others.
//
// Nothing a measurement does can stop the agent: a probe that throws or returns something malformed
// becomes an `internal` error Result and is counted in the next heartbeat's `errors`.
//
// At start it checks what it needs: a data directory it can write (DataDirError otherwise: it does not
// start), and, once the plan names the probe method, the privilege that method needs (raw sockets for
// icmp): without it the agent says so loudly, once, with what to run, and goes on; each round then is a
// `permission_denied` Result, counted by code in its heartbeats. At shutdown, rounds and tests still
// running are dropped, not stored (agent/measure.ts says why), and the log line says how many.
//
// This file wires the parts together and runs the lifecycle (start, drain, stop); each part has a file:
// plan-refresh.ts (getting the plan), responder.ts (the site's responder), jobs.ts (the timetable),
// measure.ts (one round or throughput slot as Results), push/delivery.ts (batcher, spool, sender),
// heartbeat.ts (heartbeats and the error tally), tasks/qualify.ts (mesh-qualification tasks).
import { realpathSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { checkIcmpPrivilege } from '../probes/icmp.ts';
import type { ThroughputOptions, ThroughputRunner, ThroughputTarget } from '../probes/throughput.ts';
import type { RttProbe } from '../probes/types.ts';
import { createLogger, type Logger } from '../shared/log.ts';
import type { ProbeMethod, Result } from '../shared/result.ts';
import { WANWATCH_VERSION } from '../shared/version.ts';
import type { AgentPlan } from '../shared/wire.ts';
import { ErrorTally, Heartbeats } from './heartbeat.ts';
import { Jobs } from './jobs.ts';
import { Measurer } from './measure.ts';
import { PlanRefresh } from './plan-refresh.ts';
import { CollectorClient } from './push/client.ts';
import { Delivery, type DeliveryOptions } from './push/delivery.ts';
import { SiteResponder, type StartResponder } from './responder.ts';
import type { SpoolStats } from './spool/spool.ts';
import { QualifyTasks } from './tasks/qualify.ts';

export { DataDirError, iperf3PidFile } from './data-dir.ts';
export { AgentDeniedError } from './plan-refresh.ts';
export type { DeliveryOptions } from './push/delivery.ts';
export type { Responder, ResponderConfig, StartResponder } from './responder.ts';
export type { ThroughputOptions, ThroughputRunner, ThroughputTarget };

export interface AgentDeps {
  rttProbes: Record<ProbeMethod, RttProbe>;
  runThroughput: ThroughputRunner;
  startResponder: StartResponder;
  fetch?: typeof fetch;
  now?: () => number;
  log?: Logger;
  /** Sees every result the agent produces (tests and benchmarks count them). */
  onResult?: (result: Result) => void;
  /**
   * Whether this process has what `method` needs; a message saying what is missing and how to allow it
   * when not. Default: icmp needs raw sockets (probes/icmp.ts), tcp and udp nothing.
   */
  checkMethod?: (method: ProbeMethod) => string | null;
}

/** The site, its data dir and the spool, batching and retry settings are in DeliveryOptions. */
export interface AgentOptions extends DeliveryOptions {
  /** Collector base URL, e.g. http://127.0.0.1:8080 */
  collector: string;
  token: string;
  requestTimeoutMs?: number;
  /** How often to ask the collector for mesh-qualification tasks (default 3 s). */
  taskPollMs?: number;
  version?: string;
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
  /** Measurements that could not run (permission_denied, tool_missing, internal) and own failures, since start. */
  errors_total: number;
  /** Rounds and tests cut short by stop() and dropped (not stored), since start. */
  dropped_at_stop: number;
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
  /** Aborted by stop(): every part stops starting things, and running probes and requests are cancelled. */
  private readonly abort = new AbortController();
  private readonly errors = new ErrorTally();
  private readonly responder: SiteResponder;
  private readonly jobs: Jobs;
  private readonly planRefresh: PlanRefresh;
  private readonly heartbeats: Heartbeats;

  private plan: AgentPlan | undefined;
  /** Opened by start(). */
  private delivery: Delivery | undefined;
  private tasks: QualifyTasks | undefined;
  private starting: Promise<void> | undefined;
  /** Opening the spool at start: stop() waits for it, so a sender started late is stopped too. */
  private opening: Promise<Delivery> | undefined;
  private stopped: Promise<void> | undefined;
  private produced = 0;
  private droppedAtStop = 0;
  /** The method whose missing privilege was last logged, so it is said once, not at every refresh. */
  private privilegeWarned: ProbeMethod | undefined;

  constructor(deps: AgentDeps, opts: AgentOptions) {
    this.deps = deps;
    this.opts = opts;
    this.log = (deps.log ?? createLogger()).child({ site: opts.site });
    this.now = deps.now ?? Date.now;
    const startedAt = this.now();
    this.client = new CollectorClient({
      url: opts.collector,
      site: opts.site,
      token: opts.token,
      version: opts.version ?? WANWATCH_VERSION,
      ...(opts.requestTimeoutMs === undefined ? {} : { timeoutMs: opts.requestTimeoutMs }),
      ...(deps.fetch === undefined ? {} : { fetch: deps.fetch }),
    });
    const { log, now, client } = this;
    const signal = this.abort.signal;
    this.responder = new SiteResponder({
      start: deps.startResponder,
      log,
      signal,
      countError: () => this.errors.count(),
    });
    const measurer = new Measurer({
      rttProbes: deps.rttProbes,
      runThroughput: deps.runThroughput,
      now,
      signal,
      emit: (result) => this.emit(result),
      dropped: () => {
        this.droppedAtStop += 1;
      },
    });
    this.jobs = new Jobs({ measurer, now, log, signal, countError: () => this.errors.count('internal') });
    this.planRefresh = new PlanRefresh({
      client,
      site: opts.site,
      log,
      signal,
      retryMinMs: opts.retryMinMs,
      retryMaxMs: opts.retryMaxMs,
      current: () => this.plan,
      onNewVersion: (plan) => this.apply(plan),
      // A responder that could not start (port taken) is tried again at every refresh.
      onSameVersion: async (plan) => {
        if (!this.responder.up) await this.responder.ensure(plan.responder);
      },
    });
    this.heartbeats = new Heartbeats({
      client,
      site: opts.site,
      version: opts.version ?? WANWATCH_VERSION,
      startedAt,
      now,
      log,
      signal,
      errors: this.errors,
      plan: () => this.plan,
      delivery: () => this.delivery,
      responder: () => this.responder.health(),
    });
  }

  stats(): AgentStats {
    return {
      plan_version: this.plan?.plan_version ?? null,
      produced: this.produced,
      sent: this.delivery?.sent ?? 0,
      batching: this.delivery?.batching ?? 0,
      in_flight: this.jobs.inFlight,
      spool: this.delivery?.spoolStats() ?? { queued_results: 0, queued_batches: 0, dropped: 0 },
      errors_total: this.errors.total,
      dropped_at_stop: this.droppedAtStop,
    };
  }

  get currentPlan(): AgentPlan | undefined {
    return this.plan;
  }

  private get stopping(): boolean {
    return this.abort.signal.aborted;
  }

  /**
   * Opens the spool (resending what a previous run left), then waits for the first plan: an unreachable
   * collector is retried with a log line; a 401/403/404 rejects with AgentDeniedError, a data directory
   * it cannot write with DataDirError.
   */
  start(): Promise<void> {
    this.starting ??= this.startOnce();
    return this.starting;
  }

  private async startOnce(): Promise<void> {
    if (this.stopping) return;
    this.opening = Delivery.open(this.opts, this.client, this.log);
    this.delivery = await this.opening;
    // stop() came while the spool was opening: it closes this delivery (it waits for `opening`).
    if (this.stopping) return;
    const plan = await this.planRefresh.first();
    if (plan === undefined) return; // stopped while waiting
    await this.apply(plan);
    this.heartbeats.start();
    this.planRefresh.start();
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

  private async apply(plan: AgentPlan): Promise<void> {
    if (this.stopping) return;
    const previous = this.plan;
    this.plan = plan;
    const table = this.jobs.follow(plan);
    if (previous === undefined) {
      this.log.info('plan received; measuring', {
        plan_version: plan.plan_version,
        peers: plan.peers.map((p) => p.site),
        rtt_method: plan.rtt.method,
        rtt_interval_ms: plan.rtt.interval_ms,
        throughput_slots: table.throughput.size,
      });
    } else {
      this.log.info('plan changed; re-planned without restart', {
        from: previous.plan_version,
        to: plan.plan_version,
        peers: plan.peers.map((p) => p.site),
      });
    }
    this.checkPrivilege(plan);
    await this.responder.ensure(plan.responder);
    this.jobs.startFromNow();
  }

  /** Says loudly, once per method, when this process lacks what the plan's probe method needs. */
  private checkPrivilege(plan: AgentPlan): void {
    const method = plan.rtt.method;
    const problem = (this.deps.checkMethod ?? defaultCheckMethod)(method);
    if (problem === null) {
      this.privilegeWarned = undefined;
      return;
    }
    if (this.privilegeWarned === method) return;
    this.privilegeWarned = method;
    this.log.error(`CANNOT MEASURE: ${problem}`, { method });
  }

  private emit(result: Result): void {
    this.produced += 1;
    this.errors.result(result);
    this.deps.onResult?.(result);
    this.delivery?.add(result);
  }

  /**
   * Stops starting new measurements and resolves once everything measured so far has been acknowledged
   * by the collector (or `timeoutMs` passed: false). Keeps the responder up for the peers. For tests,
   * benchmarks and an orderly hand-over; a signal uses stop(), which does not wait for the collector.
   */
  async drain(timeoutMs = 60_000): Promise<boolean> {
    if (this.stopping) return this.drained();
    this.jobs.stop();
    // An agent still waiting for its first plan has a spool (maybe from an earlier run) to drain too.
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      this.starting?.catch(() => undefined),
      new Promise((resolve) => {
        timer = setTimeout(resolve, timeoutMs);
      }),
    ]);
    clearTimeout(timer);
    const end = this.now() + timeoutMs;
    await this.jobs.settled();
    await this.delivery?.flush();
    // stop() ends the wait: it stops the sender, so nothing more would be acknowledged.
    while (this.now() < end && !this.stopping) {
      if (this.drained()) return true;
      await this.wait(50);
    }
    return this.drained();
  }

  private drained(): boolean {
    return (this.delivery?.spoolStats().queued_results ?? 0) === 0;
  }

  /** Stops measuring, cancels running probes, writes pending results to the spool and closes the responder. */
  stop(): Promise<void> {
    this.stopped ??= this.shutdown();
    return this.stopped;
  }

  private async shutdown(): Promise<void> {
    this.jobs.stop();
    this.planRefresh.stop();
    this.heartbeats.stop();
    this.abort.abort();
    await this.tasks?.stop();
    // Rounds and tests running now were cancelled: they end soon, and are dropped (not stored).
    await Promise.race([this.jobs.settled(), sleep(5000, undefined, { ref: false })]);
    // A spool still opening (stop() during start) is waited for, so its sender is stopped too.
    const delivery = await this.opening?.catch(() => undefined);
    await delivery?.close();
    await this.responder.close();
    // An agent that never opened its spool (its start failed, saying why) has nothing to report.
    if (delivery === undefined) return;
    const s = delivery.spoolStats();
    this.log.info('agent stopped', {
      spool_queued: s.queued_results,
      spool_dropped: s.dropped,
      dropped_in_progress: this.droppedAtStop,
      why_dropped:
        this.droppedAtStop > 0
          ? 'measurements cut short by the shutdown say nothing about the link: not stored'
          : undefined,
    });
  }

  /** A wait that stop() ends early. */
  private wait(ms: number): Promise<void> {
    return sleep(ms, undefined, { signal: this.abort.signal }).catch(() => undefined);
  }
}

/** icmp needs raw sockets (root or CAP_NET_RAW); tcp and udp need nothing. */
function defaultCheckMethod(method: ProbeMethod): string | null {
  if (method !== 'icmp') return null;
  const r = checkIcmpPrivilege();
  if (r.ok) return null;
  let node = process.execPath;
  try {
    node = realpathSync(node);
  } catch {
    // keep the path as it is
  }
  const uid = process.getuid?.();
  return (
    `the plan's probe method is icmp, and this agent (uid ${uid ?? '?'}) may not open raw ICMP sockets: ` +
    `${r.message.split(':')[0]}. Every round is stored as permission_denied until this is fixed. Fix it with ` +
    'one of: run the agent as its systemd unit does (wanwatch-agent@SITE.service from deploy/systemd: an ' +
    'unprivileged user with AmbientCapabilities=CAP_NET_RAW, nothing else), or as root; measure without raw ' +
    "sockets: set `probes.rtt.method: udp` (or tcp) in the collector's topology file; or, last, " +
    `\`sudo setcap cap_net_raw+ep ${node}\` and restart the agent (every node program on this host can then ` +
    'open raw sockets).'
  );
}
