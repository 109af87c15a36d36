// Heartbeats: every heartbeat.interval of the plan the agent tells the collector it is alive, which plan
// it follows, how many results wait to be sent or were dropped, and how many internal errors happened.
// An error is reported until a heartbeat carrying it is acknowledged, so a collector that was away
// still hears of every one, and none is counted twice.
import type { Logger } from '../shared/log.ts';
import type { AgentPlan, Heartbeat } from '../shared/wire.ts';
import type { CollectorClient } from './push/client.ts';
import type { Delivery } from './push/delivery.ts';

/** The agent's internal errors: probes that failed to run, a responder that could not start. */
export class ErrorTally {
  /** Since start. */
  total = 0;
  /** Not yet in an acknowledged heartbeat. */
  unreported = 0;

  count(): void {
    this.total += 1;
    this.unreported += 1;
  }
}

export interface HeartbeatDeps {
  client: CollectorClient;
  site: string;
  version: string;
  startedAt: number;
  now: () => number;
  log: Logger;
  /** Aborted at shutdown: no more heartbeats. */
  signal: AbortSignal;
  errors: ErrorTally;
  plan: () => AgentPlan | undefined;
  delivery: () => Delivery | undefined;
}

export class Heartbeats {
  private readonly deps: HeartbeatDeps;
  private timer: NodeJS.Timeout | undefined;

  constructor(deps: HeartbeatDeps) {
    this.deps = deps;
  }

  /** Sends the first heartbeat now, the next ones at the plan's interval. */
  start(): void {
    this.schedule(0);
  }

  stop(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
  }

  private schedule(delayMs: number): void {
    if (this.deps.signal.aborted) return;
    this.timer = setTimeout(() => void this.beat(), delayMs);
  }

  private async beat(): Promise<void> {
    const { client, errors, log, site } = this.deps;
    const plan = this.deps.plan();
    const delivery = this.deps.delivery();
    if (plan === undefined || delivery === undefined) return;
    const spool = delivery.spoolStats();
    const reported = errors.unreported;
    const hb: Heartbeat = {
      site,
      version: this.deps.version,
      time_ms: Math.round(this.deps.now()),
      started_at_ms: Math.round(this.deps.startedAt),
      plan_version: plan.plan_version,
      spool_queued: spool.queued_results + delivery.batching,
      spool_dropped: spool.dropped,
      errors: reported,
    };
    const out = await client.postHeartbeat(hb, this.deps.signal);
    if (out.kind === 'ok') errors.unreported -= reported;
    else if (out.kind === 'denied' || out.kind === 'rejected') {
      log.error(`collector refused the heartbeat of site "${site}" (${out.status}): ${out.message}`);
    } else {
      log.debug('heartbeat not delivered', { reason: out.reason });
    }
    this.schedule(plan.heartbeat.interval_ms);
  }
}
