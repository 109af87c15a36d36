// Mesh qualification at an agent: the collector hands out one task per link (this site measures towards
// a peer); the agent runs it with the same orchestration as `wanwatch qualify --to` (qualify/run.ts),
// reports progress, stops when the operator cancels, and sends back every measurement. The task's
// measurements are not pushed as ordinary results: rounds under deliberate load would page people.

import type { ThroughputRunner } from '../../probes/throughput.ts';
import type { RttProbe } from '../../probes/types.ts';
import { instruments, type PeerEndpoint, rttTarget } from '../../qualify/measure.ts';
import { qualifyLink } from '../../qualify/run.ts';
import type { Logger } from '../../shared/log.ts';
import type { ProbeMethod } from '../../shared/result.ts';
import type { QualifyTask, TaskProgress } from '../../shared/wire.ts';
import type { CollectorClient } from '../push/client.ts';

/**
 * An agent asks for tasks with a long poll: the collector holds the request up to TASK_WAIT_S seconds
 * and answers as soon as a task is ready, so an idle agent sends one request every 25 s and a task starts
 * at once. A collector that answers an empty list at once (one from before the long poll, or one
 * stopping) is asked again every TASK_POLL_MS, as are failed requests.
 */
export const TASK_WAIT_S = 25;
export const TASK_POLL_MS = 3000;
/** An empty answer sooner than this was not held. */
const HELD_AT_LEAST_MS = 1000;
/** How often a running task reports progress. */
const PROGRESS_EVERY_MS = 2000;

export interface TaskDeps {
  client: CollectorClient;
  site: string;
  rttProbes: Record<ProbeMethod, RttProbe>;
  runThroughput: ThroughputRunner;
  log: Logger;
}

export class QualifyTasks {
  private timer: NodeJS.Timeout | undefined;
  /** Aborts the long poll in flight when the agent stops. */
  private readonly stopping = new AbortController();
  private readonly running = new Map<string, { abort: AbortController; done: Promise<void> }>();
  private stopped = false;
  private readonly deps: TaskDeps;
  private readonly pollMs: number;

  constructor(deps: TaskDeps, pollMs = TASK_POLL_MS) {
    this.deps = deps;
    this.pollMs = pollMs;
  }

  start(): void {
    this.schedule(0);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.stopping.abort();
    if (this.timer) clearTimeout(this.timer);
    for (const r of this.running.values()) r.abort.abort();
    await Promise.allSettled([...this.running.values()].map((r) => r.done));
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => void this.poll(), ms);
    this.timer.unref?.();
  }

  private async poll(): Promise<void> {
    const asked = Date.now();
    const out = await this.deps.client.getTasks(this.stopping.signal, TASK_WAIT_S);
    if (this.stopped) return;
    if (out.kind === 'ok') {
      for (const task of out.value) {
        if (this.running.has(task.id) || this.stopped) continue;
        const abort = new AbortController();
        const done = this.run(task, abort).finally(() => this.running.delete(task.id));
        this.running.set(task.id, { abort, done });
      }
      const held = out.value.length > 0 || Date.now() - asked >= HELD_AT_LEAST_MS;
      this.schedule(held ? 0 : this.pollMs);
    } else {
      this.deps.log.debug('could not ask for qualification tasks', { outcome: out.kind });
      this.schedule(this.pollMs);
    }
  }

  private async run(task: QualifyTask, abort: AbortController): Promise<void> {
    const { site, log, client } = this.deps;
    const peer = task.peer;
    log.info(`qualification: measuring ${site} → ${peer.site} for ${task.duration_ms / 1000} s`, {
      task: task.id,
    });
    let lastReport = 0;
    let reporting = false;
    const report = (p: TaskProgress) => {
      if (reporting || Date.now() - lastReport < PROGRESS_EVERY_MS) return;
      reporting = true;
      lastReport = Date.now();
      void client
        .postTaskProgress(task.id, p)
        .then((out) => {
          if (out.kind === 'ok' && out.value.cancelled && !abort.signal.aborted) {
            log.info('qualification cancelled by the operator; sending what was measured', { task: task.id });
            abort.abort();
          }
        })
        .finally(() => {
          reporting = false;
        });
    };
    let result: { measurements: Awaited<ReturnType<typeof qualifyLink>> | null; error: string | null };
    const endpoint: PeerEndpoint = {
      src: site,
      dst: peer.site,
      host: peer.address,
      reflector_port: peer.reflector_port,
      tcp_port: task.rtt.tcp_port,
      iperf3_port: peer.iperf3_port,
      method: task.rtt.method,
    };
    try {
      const measurements = await qualifyLink(
        {
          target: rttTarget(endpoint),
          duration_ms: task.duration_ms,
          test_duration_ms: task.test_duration_ms,
          required_bps: task.required_bps,
          round: { count: task.rtt.count, spacing_ms: task.rtt.spacing_ms, timeout_ms: task.rtt.timeout_ms },
          skip_throughput: task.skip_throughput,
          signal: abort.signal,
        },
        instruments(endpoint, {
          rttProbe: this.deps.rttProbes[task.rtt.method],
          runThroughput: this.deps.runThroughput,
        }),
        report,
      );
      result = { measurements, error: null };
    } catch (err) {
      result = {
        measurements: null,
        error: `the agent at ${site} could not run the task: ${(err as Error).message}`,
      };
    }
    // The result matters more than anything else this task did: retry it for a while.
    for (let attempt = 0; attempt < 10 && !(this.stopped && attempt > 0); attempt++) {
      const out = await client.postTaskResult(task.id, result);
      if (out.kind === 'ok' || out.kind === 'denied' || out.kind === 'rejected') {
        if (out.kind !== 'ok')
          log.error('the collector refused a qualification result', {
            task: task.id,
            status: out.status,
            message: out.message,
          });
        break;
      }
      await new Promise((r) => setTimeout(r, 1000 * (attempt + 1)));
    }
    log.info(`qualification: ${site} → ${peer.site} done`, { task: task.id });
  }
}
