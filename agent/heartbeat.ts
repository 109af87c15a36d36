// Heartbeats: every heartbeat.interval of the plan the agent tells the collector it is alive, which plan
// it follows, how many results wait to be sent or were dropped (and why the spool cannot be written, if
// it cannot), its error Results by code, how many measurements could not run at all, and whether its
// responder (reflector, iperf3 server) is up. An error is reported until a heartbeat carrying it is
// acknowledged, so a collector that was away still hears of every one, and none is counted twice.
// The collector's reply carries its clock: an agent whose clock is off says so loudly (its results would
// be misdated, and past collector.max_clock_skew refused).
import { randomUUID } from 'node:crypto';
import type { Logger } from '../shared/log.ts';
import type { ErrorCode, Result } from '../shared/result.ts';
import type { AgentPlan, Heartbeat, HeartbeatReply, ResponderHealth } from '../shared/wire.ts';
import type { CollectorClient } from './push/client.ts';
import type { Delivery } from './push/delivery.ts';

/** Error codes that say the agent could not measure at all (not what the link did): `errors` counts them. */
export const COULD_NOT_MEASURE: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  'permission_denied',
  'tool_missing',
  'internal',
]);

export type ErrorsByCode = Partial<Record<ErrorCode, number>>;

/** Off from the collector's clock by more than this (or half its max skew), beyond the round trip: an error. */
export const CLOCK_WARN_MS = 10_000;

/**
 * The agent's errors: every error Result by its code, and in `total` / `unreported` the measurements that
 * could not run (COULD_NOT_MEASURE) plus the agent's own failures (a job that crashed, a responder that
 * could not start).
 */
export class ErrorTally {
  /** Since start. */
  total = 0;
  /** Not yet in an acknowledged heartbeat. */
  unreported = 0;
  /** Error Results (and crashed jobs, as `internal`) not yet in an acknowledged heartbeat, by code. */
  private unreportedByCode = new Map<ErrorCode, number>();

  /** A failure of the agent's own that is no Result; with a code, counted under it too. */
  count(code?: ErrorCode): void {
    this.total += 1;
    this.unreported += 1;
    if (code !== undefined) this.unreportedByCode.set(code, (this.unreportedByCode.get(code) ?? 0) + 1);
  }

  /** A Result the agent produced: counted by code when it is an error. */
  result(r: Result): void {
    if (r.error === null) return;
    const code = r.error.code;
    if (COULD_NOT_MEASURE.has(code)) this.count(code);
    else this.unreportedByCode.set(code, (this.unreportedByCode.get(code) ?? 0) + 1);
  }

  /** What the next heartbeat reports. */
  snapshot(): { errors: number; by_code: ErrorsByCode } {
    return { errors: this.unreported, by_code: Object.fromEntries(this.unreportedByCode) };
  }

  /** A heartbeat carrying `snap` was acknowledged: those errors are reported. */
  reported(snap: { errors: number; by_code: ErrorsByCode }): void {
    this.unreported -= snap.errors;
    for (const [code, n] of Object.entries(snap.by_code) as [ErrorCode, number][]) {
      const left = (this.unreportedByCode.get(code) ?? 0) - n;
      if (left > 0) this.unreportedByCode.set(code, left);
      else this.unreportedByCode.delete(code);
    }
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
  /** The responder's health; undefined before the first plan. */
  responder: () => ResponderHealth | undefined;
}

export class Heartbeats {
  private readonly deps: HeartbeatDeps;
  private timer: NodeJS.Timeout | undefined;
  /** This agent process, so the collector can tell two agents with one site's token apart. */
  private readonly instance = randomUUID();
  /** The latest heartbeat found this host's clock off. */
  private clockOff = false;

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
    const reported = errors.snapshot();
    const responder = this.deps.responder();
    const hb: Heartbeat = {
      site,
      version: this.deps.version,
      time_ms: Math.round(this.deps.now()),
      started_at_ms: Math.round(this.deps.startedAt),
      plan_version: plan.plan_version,
      spool_queued: spool.queued_results + delivery.batching,
      spool_dropped: spool.dropped,
      spool_error: delivery.spoolError(),
      errors: reported.errors,
      errors_by_code: reported.by_code,
      ...(responder === undefined ? {} : { responder }),
      instance: this.instance,
    };
    const sentAt = this.deps.now();
    const out = await client.postHeartbeat(hb, this.deps.signal);
    if (out.kind === 'ok') {
      errors.reported(reported);
      delivery.spoolErrorReported();
      this.checkClock(out.value, sentAt, this.deps.now());
    } else if (out.kind === 'denied' || out.kind === 'rejected') {
      log.error(`collector refused the heartbeat of site "${site}" (${out.status}): ${out.message}`);
    } else {
      log.debug('heartbeat not delivered', { reason: out.reason });
    }
    this.schedule(plan.heartbeat.interval_ms);
  }

  /** Logs an error at every heartbeat while this host's clock is off from the collector's. */
  private checkClock(reply: HeartbeatReply, sentAt: number, answeredAt: number): void {
    if (reply.time_ms === undefined) return;
    const skew = reply.max_clock_skew_ms;
    const bound = Math.min(CLOCK_WARN_MS, skew === undefined ? CLOCK_WARN_MS : skew / 2);
    // The collector read its clock somewhere within the round trip: only what that cannot explain counts.
    const offset = (sentAt + answeredAt) / 2 - reply.time_ms;
    const off = Math.abs(offset) - (answeredAt - sentAt) / 2 > bound;
    const { log } = this.deps;
    if (off)
      log.error(
        `CLOCK OFF: this host's clock is ${(Math.abs(offset) / 1000).toFixed(1)} s ${offset > 0 ? 'ahead of' : 'behind'} the collector's. ` +
          'Its measurements are dated wrong, and the collector refuses results and heartbeats dated more than ' +
          `${skew === undefined ? 'its max clock skew' : `${Math.round(skew / 1000)} s`} from its clock (collector.max_clock_skew). ` +
          'Set up time sync on this host (chrony, ntpd or systemd-timesyncd)',
        { clock_offset_ms: Math.round(offset) },
      );
    else if (this.clockOff)
      log.info("this host's clock agrees with the collector's again", {
        clock_offset_ms: Math.round(offset),
      });
    this.clockOff = off;
  }
}
