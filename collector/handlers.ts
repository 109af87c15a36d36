// What the API's routes (api/routes.ts) do in a running collector: plans, tokens and credentials come
// from the topology in force, and who may call what is api/access.ts; results and heartbeats are
// checked (api/ingest-checks.ts), and once stored ask for an evaluation and make the outputs write;
// the read API answers from the evaluator and the store; mesh qualifications run in memory and are
// kept in the store once finished (store/qualifications.ts), their errors becoming HTTP errors, each
// start and stop logged with who and from where, and what an operator may ask bounded
// (qualify/admission.ts). Two agents for one site are found from their heartbeats
// (api/instances.ts) and that site's results refused meanwhile; refused tokens are logged
// (api/refusals.ts). While a mesh qualification runs at a site, the plans served leave out the
// throughput slots of that site (plan/hold.ts), and its tasks wait until no monitoring test can still
// run there.
import { heldReport } from '../qualify/report/held.ts';
import { renderHtml } from '../qualify/report/html.ts';
import type { Logger } from '../shared/log.ts';
import { WANWATCH_VERSION } from '../shared/version.ts';
import type { AgentPlan, Heartbeat, IngestReply, ResultBatch } from '../shared/wire.ts';
import { Gate } from './api/access.ts';
import { HttpError } from './api/http.ts';
import { checkBatch, checkHeartbeat, type Refusal } from './api/ingest-checks.ts';
import { AgentInstances } from './api/instances.ts';
import { type ApiLimits, DEFAULT_API_LIMITS, TokenBuckets } from './api/limits.ts';
import { RefusalLog } from './api/refusals.ts';
import { ReportKeys } from './api/report.ts';
import type { ApiContext } from './api/routes.ts';
import { seriesReply } from './api/series.ts';
import { AgentVersions } from './api/versions.ts';
import type { Evaluator } from './evaluate/evaluator.ts';
import type { CollectorMetrics } from './metrics/collector-metrics.ts';
import { ServedPlans, withHold } from './plan/hold.ts';
import { admitQualification } from './qualify/admission.ts';
import { QualificationError, Qualifications } from './qualify/jobs.ts';
import { TaskWaiters } from './qualify/waiters.ts';
import { agentsView, ReadReplies } from './read.ts';
import type { RunningSinks } from './sinks/index.ts';
import { QualificationArchive } from './store/qualifications.ts';
import { SeriesCache } from './store/series.ts';
import type { Store } from './store/store.ts';
import { type LoadedTopology, peersOf } from './topology.ts';

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
  /** Rate limits of the API (tests turn them off); default DEFAULT_API_LIMITS. */
  limits?: Partial<ApiLimits>;
  /** Agents must present a client certificate naming their site (collector.tls.client_ca). */
  clientCertificates?: boolean;
  /** GET /metrics; told of every batch, heartbeat and refused request. */
  metrics: CollectorMetrics;
}

const refused = (r: Refusal | null) => {
  if (r !== null) throw new HttpError(400, r.message, r.details);
};

export function apiHandlers(parts: HandlerParts): ApiContext {
  const { store, evaluator, log } = parts;
  const served = new ServedPlans();
  const qualifications = new Qualifications((sites, holdSince, now) => {
    const clear = served.clearAt(sites, parts.topology().plans, holdSince, now);
    return clear !== null && clear <= now;
  }, new QualificationArchive(store.db));
  // Agents long-poll for their tasks (qualify/waiters.ts); a stopping collector answers them at once.
  const waiters = new TaskWaiters(
    (site, now) => qualifications.takeTasks(site, now),
    () => qualifications.heldSites().size > 0,
  );
  parts.shutdown.addEventListener('abort', () => waiters.releaseAll(), { once: true });
  /** The site's plan as served now: without the throughput slots held for a qualification. */
  const planOf = (site: string): AgentPlan | undefined => {
    const base = parts.topology().plans.get(site);
    return base === undefined ? undefined : withHold(base, qualifications.heldSites());
  };
  const replies = new ReadReplies(evaluator, store);
  const reportKeys = new ReportKeys();
  const seriesCache = new SeriesCache(store.db);
  const instances = new AgentInstances(log);
  const versions = new AgentVersions(WANWATCH_VERSION);
  const limits = { ...DEFAULT_API_LIMITS, ...parts.limits };
  const gate = new Gate({
    credentials: () => parts.topology().credentials,
    publicRead: () => parts.topology().topology.collector.public_read,
    knownSites: () => [...parts.topology().topology.sites.keys()],
    clientCertificates: parts.clientCertificates === true,
    versions,
    limits,
    log,
  });
  const starts = new TokenBuckets(
    (limits.qualificationStarts * 1000) / limits.qualificationStartWindowMs,
    limits.qualificationStarts,
  );
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
      create: (req, by) =>
        asHttp(() => {
          const { topology, links } = parts.topology();
          const asked = {
            by: by.name,
            remote_address: by.from,
            links: req.links?.map((l) => l.join('-')) ?? 'all',
            duration_ms: req.duration_ms,
            test_duration_ms: req.skip_throughput ? null : req.test_duration_ms,
          };
          let q: ReturnType<typeof qualifications.create>;
          try {
            admitQualification(req, topology.collector.qualifications, starts, Date.now());
            q = qualifications.create(req, topology, links, Date.now());
          } catch (err) {
            log.warn(`qualification refused: ${(err as Error).message}`, asked);
            throw err;
          }
          log.info(`qualification ${q.id} started by ${by.name} from ${by.from}`, {
            id: q.id,
            ...asked,
            tasks: q.tasks.length,
            monitoring_throughput_held_at: q.monitoring_paused,
          });
          waiters.poke();
          return q;
        }),
      list: () => qualifications.list(Date.now()),
      get: (id) => qualifications.get(id, Date.now()),
      report: (id) => {
        const q = qualifications.get(id, Date.now());
        if (q === undefined || q.state === 'running') return undefined;
        const { topology, links } = parts.topology();
        return renderHtml(heldReport(q, links, topology.thresholds, WANWATCH_VERSION, Date.now()));
      },
      reportKeys,
      cancel: (id, by) => {
        const q = qualifications.cancel(id, Date.now());
        waiters.poke();
        log.info(`qualification ${id} ${q ? 'stopped' : 'not found to stop'} by ${by.name} from ${by.from}`, {
          id,
          by: by.name,
          remote_address: by.from,
        });
        return q;
      },
      take: (site, waitMs, signal) => waiters.wait(site, waitMs, signal),
      progress: (id, site, p) => asHttp(() => qualifications.progress(id, site, p, Date.now())),
      complete: (id, site, r) =>
        asHttp(() => {
          qualifications.complete(id, site, r, Date.now());
          waiters.poke();
        }),
    },
    gate,
    knownSites: () => [...parts.topology().topology.sites.keys()],
    plan: (site) => {
      const plan = planOf(site);
      if (plan !== undefined) served.record(site, plan, Date.now());
      return plan;
    },
    ingest: (batch: ResultBatch): IngestReply => {
      const now = Date.now();
      const loaded = parts.topology();
      const { max_clock_skew, retention } = loaded.topology.collector;
      refused(
        checkBatch(
          batch,
          batch.site,
          { peers: peersOf(loaded, batch.site, now), maxSkewMs: max_clock_skew, retentionMs: retention },
          now,
        ),
      );
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
      parts.metrics.ingested(batch, out);
      if (out.stored > 0) {
        parts.queueEvaluation();
        parts.pokeOutputs();
      }
      return { stored: out.stored, duplicates: out.duplicates };
    },
    heartbeat: (hb: Heartbeat, from) => {
      const now = Date.now();
      const maxSkewMs = parts.topology().topology.collector.max_clock_skew;
      refused(checkHeartbeat(hb, maxSkewMs, now));
      versions.check(hb.site, hb.version, now);
      instances.heard(hb, from, now, aliveMs());
      store.recordHeartbeat(hb, now);
      parts.metrics.heard(hb);
      parts.evaluator.heard(hb.site);
      parts.queueEvaluation();
      parts.pokeOutputs();
      // The collector's clock, so the agent can tell its operator when its own is off.
      return {
        ok: true,
        plan_version: planOf(hb.site)?.plan_version ?? null,
        time_ms: Date.now(),
        max_clock_skew_ms: maxSkewMs,
      };
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
      return {
        agents: view.agents.map((a) => ({
          ...a,
          double: instances.double(a.site, now, alive),
          version_refused: versions.refusal(a.site),
        })),
      };
    },
    series: (q) => seriesReply(seriesCache, parts.topology().links, q),
    outputs: () => ({ outputs: parts.outputs().sinks.map((s) => s.status()) }),
    metrics: (accept) => parts.metrics.scrape(accept),
    onHttpError: (status) => parts.metrics.refusedRequest(status),
    onError: (err, req) => log.error('request failed', { method: req.method, url: req.url, error: err }),
    onRefused: (err, req, from) => {
      const path = req.url?.split('?')[0] ?? '';
      refusals.refused(from, {
        status: err.status,
        reason: err.message,
        request: `${req.method} ${path}`,
        kind: /^\/api\/v1\/(plan|results|heartbeat|tasks)\b/.test(path) ? 'agent' : 'API',
      });
    },
  };
}
