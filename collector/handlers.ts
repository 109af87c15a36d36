// What the API's routes (api/routes.ts) do in a running collector: plans and tokens come from the
// topology in force; stored results and heartbeats ask for an evaluation and make the outputs write;
// the read API answers from the evaluator and the store; mesh qualifications run in memory, their
// errors becoming HTTP errors. Two agents for one site are found from their heartbeats
// (api/instances.ts) and that site's results refused meanwhile; refused tokens are logged
// (api/refusals.ts). While a mesh qualification runs at a site, the plans served leave out the
// throughput slots of that site (plan/hold.ts), and its tasks wait until no monitoring test can still
// run there.
import type { Logger } from '../shared/log.ts';
import type { AgentPlan, Heartbeat, IngestReply, ResultBatch } from '../shared/wire.ts';
import { HttpError } from './api/http.ts';
import { AgentInstances } from './api/instances.ts';
import { RefusalLog } from './api/refusals.ts';
import type { ApiContext } from './api/routes.ts';
import type { Evaluator } from './evaluate/evaluator.ts';
import { ServedPlans, withHold } from './plan/hold.ts';
import { QualificationError, Qualifications } from './qualify/jobs.ts';
import { agentsView, ReadReplies } from './read.ts';
import type { RunningSinks } from './sinks/index.ts';
import type { Store } from './store/store.ts';
import type { LoadedTopology } from './topology.ts';

export interface HandlerParts {
  topology(): LoadedTopology;
  store: Store;
  evaluator: Evaluator;
  /** Asks for an evaluation soon (new data may change an alert). */
  queueEvaluation(): void;
  /** Makes the outputs write newly stored rows now. */
  pokeOutputs(): void;
  /** The outputs running now. */
  outputs(): RunningSinks;
  startedAtMs: number;
  log: Logger;
  /** Aborted when the collector closes. */
  shutdown: AbortSignal;
  /** At most one log line per address per this long about refused tokens (default a minute). */
  refusalLogIntervalMs?: number;
}

export function apiHandlers(parts: HandlerParts): ApiContext {
  const { store, evaluator, log } = parts;
  const served = new ServedPlans();
  const qualifications = new Qualifications((sites, holdSince, now) => {
    const clear = served.clearAt(sites, parts.topology().plans, holdSince, now);
    return clear !== null && clear <= now;
  });
  /** The site's plan as served now: without the throughput slots held for a qualification. */
  const planOf = (site: string): AgentPlan | undefined => {
    const base = parts.topology().plans.get(site);
    return base === undefined ? undefined : withHold(base, qualifications.heldSites());
  };
  const replies = new ReadReplies(evaluator, store);
  const instances = new AgentInstances(log);
  const refusals = new RefusalLog(log, parts.refusalLogIntervalMs);
  parts.shutdown.addEventListener('abort', () => refusals.close(), { once: true });
  /** How long an agent counts as up after a heartbeat. */
  const aliveMs = () => {
    const { heartbeat } = parts.topology().topology.probes;
    return heartbeat.interval + heartbeat.timeout;
  };
  const asHttp = <T>(f: () => T): T => {
    try {
      return f();
    } catch (err) {
      if (err instanceof QualificationError) throw new HttpError(err.status, err.message);
      throw err;
    }
  };
  return {
    qualifications: {
      create: (req) =>
        asHttp(() => {
          const { topology, links } = parts.topology();
          const q = qualifications.create(req, topology, links, Date.now());
          log.info('qualification started', {
            id: q.id,
            tasks: q.tasks.length,
            monitoring_throughput_held_at: q.monitoring_paused,
          });
          return q;
        }),
      get: (id) => qualifications.get(id, Date.now()),
      cancel: (id) => qualifications.cancel(id, Date.now()),
      take: (site) => qualifications.takeTasks(site, Date.now()),
      progress: (id, site, p) => asHttp(() => qualifications.progress(id, site, p, Date.now())),
      complete: (id, site, r) => asHttp(() => qualifications.complete(id, site, r, Date.now())),
    },
    tokens: () => parts.topology().tokens,
    knownSites: () => [...parts.topology().topology.sites.keys()],
    plan: (site) => {
      const plan = planOf(site);
      if (plan !== undefined) served.record(site, plan, Date.now());
      return plan;
    },
    ingest: (batch: ResultBatch): IngestReply => {
      const now = Date.now();
      const alive = aliveMs();
      const double = instances.double(batch.site, now, alive);
      // Retry once a stopped double could have been seen gone (alive after its last heartbeat), ≤ 60 s.
      const retryAfterS = Math.min(60, Math.max(1, Math.ceil(alive / 1000)));
      if (double !== null)
        throw new HttpError(
          503,
          `two agents are running for site "${batch.site}" (instances ${double.instances.map((i) => i.instance).join(', ')}): ` +
            "its results are refused until one of them is stopped; they wait in the agents' spools",
          undefined,
          { 'retry-after': String(retryAfterS) },
        );
      const out = store.ingestBatch(batch, now);
      if (out.stored > 0) {
        parts.queueEvaluation();
        parts.pokeOutputs();
      }
      return { stored: out.stored, duplicates: out.duplicates };
    },
    heartbeat: (hb: Heartbeat, from) => {
      const now = Date.now();
      instances.heard(hb, from, now, aliveMs());
      store.recordHeartbeat(hb, now);
      parts.queueEvaluation();
      parts.pokeOutputs();
      return { ok: true, plan_version: planOf(hb.site)?.plan_version ?? null };
    },
    links: () => {
      const { topology, links } = parts.topology();
      return replies.linksReply(topology, links, Date.now());
    },
    alerts: () => replies.alertsReply(),
    agents: () => {
      const { topology, plans } = parts.topology();
      const now = Date.now();
      const asServed = new Map([...plans.keys()].map((site) => [site, planOf(site) as AgentPlan]));
      const view = agentsView(topology, asServed, store, evaluator.alertStates(), parts.startedAtMs, now);
      const alive = aliveMs();
      return { agents: view.agents.map((a) => ({ ...a, double: instances.double(a.site, now, alive) })) };
    },
    outputs: () => ({ outputs: parts.outputs().sinks.map((s) => s.status()) }),
    onError: (err, req) => log.error('request failed', { method: req.method, url: req.url, error: err }),
    onRefused: (err, req, from) =>
      refusals.refused(from ?? 'an unknown address', {
        status: err.status,
        reason: err.message,
        request: `${req.method} ${req.url?.split('?')[0]}`,
      }),
  };
}
