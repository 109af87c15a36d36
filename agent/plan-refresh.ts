// Getting the plan from the collector. At start the agent waits for it: an unreachable collector is
// retried with backoff and a log line, while a wrong site or token ends the start (AgentDeniedError),
// as no retry can fix it. Afterwards the plan is asked for again every plan_refresh_ms; a failed
// refresh keeps the current plan, and a new plan_version re-plans without a restart.

import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '../shared/log.ts';
import { isVersionRefusal } from '../shared/version.ts';
import type { AgentPlan } from '../shared/wire.ts';
import type { CollectorClient } from './push/client.ts';
import { backoffMs } from './push/sender.ts';

/** The collector answered 401/403/404 to the plan request at start: wrong site or token. */
export class AgentDeniedError extends Error {
  readonly status: number;
  constructor(message: string, status: number) {
    super(message);
    this.name = 'AgentDeniedError';
    this.status = status;
  }
}

export interface PlanRefreshDeps {
  client: CollectorClient;
  site: string;
  log: Logger;
  /** Aborted at shutdown: ends the wait for the first plan, and the refreshing. */
  signal: AbortSignal;
  /** Backoff bounds while the first plan cannot be had. */
  retryMinMs?: number;
  retryMaxMs?: number;
  /** The plan being followed. */
  current: () => AgentPlan | undefined;
  /** A refresh brought a plan of another version. */
  onNewVersion: (plan: AgentPlan) => Promise<void>;
  /** A refresh brought the same version again. */
  onSameVersion: (plan: AgentPlan) => Promise<void>;
}

export class PlanRefresh {
  private readonly deps: PlanRefreshDeps;
  private timer: NodeJS.Timeout | undefined;

  constructor(deps: PlanRefreshDeps) {
    this.deps = deps;
  }

  /** The first plan, once the collector gives it; undefined when shutdown came first. */
  async first(): Promise<AgentPlan | undefined> {
    const { client, log, signal, site } = this.deps;
    let attempt = 0;
    while (!signal.aborted) {
      const out = await client.getPlan(signal);
      if (signal.aborted) return undefined;
      if (out.kind === 'ok') {
        if (attempt > 0) log.info('collector reached; got the plan', { collector: client.url });
        return out.value;
      }
      if (out.kind === 'denied') {
        throw new AgentDeniedError(
          `collector ${client.url} refused site "${site}" (${out.status}): ${out.message}. ` +
            (isVersionRefusal(out.message)
              ? 'The results in its spool are kept for the next start.'
              : out.status === 401
                ? `Check the token: it must match sites.${site}.token_env or token_sha256 in the collector’s topology file.`
                : `Check --site against the sites in the collector’s topology file, and that the token is site "${site}"’s.`),
          out.status,
        );
      }
      if (out.kind === 'rejected') {
        throw new AgentDeniedError(
          `collector ${client.url} rejected the plan request of site "${site}" (${out.status}): ${out.message}`,
          out.status,
        );
      }
      attempt += 1;
      const wait =
        out.retryAfterMs ?? backoffMs(attempt, this.deps.retryMinMs ?? 1000, this.deps.retryMaxMs ?? 30_000);
      log.warn(`cannot get the plan from the collector yet; retrying in ${(wait / 1000).toFixed(1)} s`, {
        reason: out.reason,
      });
      // Shutdown ends the wait early (the sleep rejects; that is the point).
      await sleep(wait, undefined, { signal }).catch(() => undefined);
    }
    return undefined;
  }

  /** Asks again every plan_refresh_ms of the plan being followed. */
  start(): void {
    this.schedule();
  }

  stop(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
  }

  private schedule(): void {
    const plan = this.deps.current();
    if (this.deps.signal.aborted || plan === undefined) return;
    this.timer = setTimeout(() => void this.refresh(), plan.plan_refresh_ms);
  }

  private async refresh(): Promise<void> {
    const { client, log, signal, site } = this.deps;
    const out = await client.getPlan(signal);
    if (signal.aborted) return;
    if (out.kind === 'ok') {
      if (out.value.plan_version !== this.deps.current()?.plan_version)
        await this.deps.onNewVersion(out.value);
      else await this.deps.onSameVersion(out.value);
    } else if (out.kind === 'retry') {
      log.debug('plan refresh failed; keeping the current plan', { reason: out.reason });
    } else {
      log.error(
        `collector refused the plan of site "${site}" (${out.status}: ${out.message}); keeping the ` +
          `current plan. Check the token (sites.${site}.token_env / token_sha256) and that the site ` +
          'is still in the topology file.',
      );
    }
    this.schedule();
  }
}
