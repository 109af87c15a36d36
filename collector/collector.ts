// The collector: loads the topology, serves the agent API and the read API, stores results, evaluates
// alerts, delivers notifications and copies what it stores to the `outputs:` (InfluxDB).
// `startCollector` runs one in-process (tests use it directly; `wanwatch collector` wraps it). The
// topology file is watched and re-read on change or SIGHUP; a broken edit is logged and the previous
// topology stays in force.
import { createHash } from 'node:crypto';
import { type FSWatcher, readFileSync, watch } from 'node:fs';
import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { basename, dirname } from 'node:path';
import { ConfigError, loadTopology } from '../shared/config/load.ts';
import { createLogger, type Logger } from '../shared/log.ts';
import type { Topology } from '../shared/topology/model.ts';
import { deriveLinks, type LinkRequirement } from '../shared/topology/requirements.ts';
import type { AgentPlan, Heartbeat, IngestReply, ResultBatch } from '../shared/wire.ts';
import { Evaluator } from './alerts/evaluator.ts';
import type { AlertEvent } from './alerts/event.ts';
import { type SiteTokens, siteTokens } from './api/auth.ts';
import { HttpError } from './api/http.ts';
import { createHandler } from './api/routes.ts';
import { Outbox } from './outbox/outbox.ts';
import { DEFAULT_RETRY, type RetryPolicy } from './outbox/retry.ts';
import { buildPlans } from './plan/plan.ts';
import { QualificationError, Qualifications } from './qualify/jobs.ts';
import { agentsView, alertsView, linksView } from './read.ts';
import { NO_SINKS, type RunningSinks, startSinks } from './sinks/index.ts';
import type { SinkOptions } from './sinks/influx.ts';
import { Store } from './store/store.ts';

export const DEFAULT_EVALUATE_INTERVAL_MS = 5000;
const PRUNE_INTERVAL_MS = 3_600_000;
/** Evaluations asked for by ingest run at most this often (or every evaluate interval, if shorter). */
const MIN_EVALUATION_SPACING_MS = 1000;

export interface CollectorOptions {
  /** Topology file. */
  configPath: string;
  /** HOST:PORT (port 0 picks a free port); default: the file's collector.listen. */
  listen?: string;
  /** Default: the file's collector.data_dir. */
  dataDir?: string;
  /** HTTPS with this certificate and key (PEM files); default: the file's collector.tls. */
  tls?: { cert: string; key: string };
  /** How often alerts are evaluated; default WANWATCH_EVALUATE_INTERVAL_MS or 5000. */
  evaluateIntervalMs?: number;
  /** Notification retry policy (tests shorten it). */
  retry?: Partial<RetryPolicy>;
  /** Output sink settings (tests shorten the backoff); secrets are read from `env`. */
  sinks?: Omit<SinkOptions, 'env'>;
  /** How often agents are told to re-fetch their plan. */
  planRefreshMs?: number;
  /** Watch the topology file for changes (default true). */
  watch?: boolean;
  /** Re-read the topology on SIGHUP (the CLI turns this on). */
  handleSignals?: boolean;
  /** Where token_env and secret environment variables are read; default process.env. */
  env?: NodeJS.ProcessEnv;
  log?: Logger;
}

export interface RunningCollector {
  /** Base URL, e.g. http://127.0.0.1:41234 */
  url: string;
  port: number;
  store: Store;
  topology(): Topology;
  /** The running output sinks (replaced when a reload changes `outputs:`). */
  sinks(): RunningSinks;
  /** Re-reads the topology file; false (and the old topology kept) when it is broken. */
  reload(): boolean;
  /** Runs one evaluation now and returns the events it raised. */
  evaluateNow(): AlertEvent[];
  /** Tries every due notification now. */
  flushOutbox(): void;
  close(): Promise<void>;
}

interface Loaded {
  topology: Topology;
  links: LinkRequirement[];
  plans: Map<string, AgentPlan>;
  tokens: SiteTokens;
  hash: string;
}

export function parseListen(listen: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d{1,5})$/.exec(listen.trim());
  const port = m ? Number(m[3]) : Number.NaN;
  if (!m || port > 65535) {
    throw new Error(
      `listen address "${listen}" is not HOST:PORT (e.g. 127.0.0.1:8080, [::1]:8080, 0.0.0.0:8080)`,
    );
  }
  return { host: (m[1] ?? m[2]) as string, port };
}

export async function startCollector(opts: CollectorOptions): Promise<RunningCollector> {
  const log = opts.log ?? createLogger({ component: 'collector' });
  const env = opts.env ?? process.env;
  const startedAt = Date.now();

  const load = (): Loaded => {
    const text = readFileSync(opts.configPath, 'utf8');
    const topology = loadTopology(opts.configPath);
    const plans = buildPlans(
      topology,
      opts.planRefreshMs !== undefined ? { plan_refresh_ms: opts.planRefreshMs } : {},
    );
    return {
      topology,
      links: deriveLinks(topology),
      plans,
      tokens: siteTokens(topology, env),
      hash: createHash('sha256').update(text).digest('hex'),
    };
  };
  let current = load();
  const warnTokenless = (t: SiteTokens) => {
    for (const [site, why] of t.tokenless)
      log.warn(`site ${site} has no agent token and cannot push`, { why });
  };
  warnTokenless(current.tokens);

  const settings = current.topology.collector;
  const listen = parseListen(opts.listen ?? settings.listen);
  const dataDir = opts.dataDir ?? settings.data_dir;
  const tls = opts.tls ?? settings.tls;
  const evaluateIntervalMs =
    opts.evaluateIntervalMs ?? (Number(env.WANWATCH_EVALUATE_INTERVAL_MS) || DEFAULT_EVALUATE_INTERVAL_MS);

  let closed = false;
  const store = Store.open(dataDir);
  const evaluator = new Evaluator(store, startedAt);
  let collectorUrl: string | null = null;
  const outbox = new Outbox(
    store,
    {
      notifiers: () => current.topology.notify,
      collectorUrl: () => collectorUrl,
      repeatIntervalMs: () => current.topology.alerts.repeat_interval,
      env,
    },
    { ...DEFAULT_RETRY, ...opts.retry },
    log.child({ part: 'outbox' }),
  );

  // The outputs. Restarting them (on a reload that changes `outputs:`) closes the old ones first, so
  // that an old and a new sink never advance the same cursor at once.
  let sinks: RunningSinks = NO_SINKS;
  let sinkChange: Promise<void> = Promise.resolve();
  const sinkLog = log.child({ part: 'sinks' });
  const launchSinks = (topology: Topology) => {
    try {
      sinks = startSinks(topology, store, sinkLog, { ...opts.sinks, env });
    } catch (err) {
      sinkLog.error('the outputs could not be started', { error: err });
    }
  };
  const restartSinks = (topology: Topology) => {
    sinkChange = sinkChange.then(async () => {
      const old = sinks;
      sinks = NO_SINKS;
      await old.close().catch((err) => sinkLog.error('stopping the outputs failed', { error: err }));
      if (!closed) launchSinks(topology);
    });
  };

  const evaluateNow = (): AlertEvent[] => {
    const events = evaluator.evaluate({ topology: current.topology, links: current.links }, Date.now());
    // The evaluation stored link status points (and maybe alert events) for the outputs.
    sinks.poke();
    for (const e of events) {
      log.info(`alert ${e.status}${e.reminder ? ' (reminder)' : ''}: ${e.summary}`, {
        dedup_key: e.dedup_key,
      });
    }
    if (events.length > 0) outbox.wake();
    return events;
  };
  const safeEvaluate = () => {
    lastEvaluation = Date.now();
    try {
      evaluateNow();
    } catch (err) {
      log.error('alert evaluation failed; retrying at the next interval', { error: err });
    }
  };
  // Ingest and heartbeats ask for an evaluation; they are coalesced and spaced out, so a burst of
  // batches costs one evaluation (each reads the whole alert window from the store).
  let evaluationQueued = false;
  let lastEvaluation = 0;
  const queueEvaluation = () => {
    if (evaluationQueued) return;
    evaluationQueued = true;
    const wait = Math.max(
      0,
      lastEvaluation + Math.min(evaluateIntervalMs, MIN_EVALUATION_SPACING_MS) - Date.now(),
    );
    setTimeout(() => {
      evaluationQueued = false;
      if (!closed) safeEvaluate();
    }, wait).unref();
  };

  const prune = () => {
    try {
      const n = store.prune(Date.now(), current.topology.collector.retention);
      if (n.results + n.link_status + n.heartbeats > 0) log.info('pruned data older than the retention', n);
    } catch (err) {
      log.error('pruning old data failed', { error: err });
    }
  };

  const reload = (): boolean => {
    let next: Loaded;
    try {
      next = load();
    } catch (err) {
      if (err instanceof ConfigError) {
        log.error(
          `the topology file changed but is not valid; keeping the previous topology.\n${err.message}`,
        );
      } else {
        log.error('the topology file could not be re-read; keeping the previous topology', { error: err });
      }
      return false;
    }
    if (next.hash === current.hash) return true;
    const before = current.topology.collector;
    const after = next.topology.collector;
    if (
      before.listen !== after.listen ||
      before.data_dir !== after.data_dir ||
      JSON.stringify(before.tls) !== JSON.stringify(after.tls)
    ) {
      log.warn('collector.listen, data_dir and tls take effect at the next restart');
    }
    const outputsChanged = JSON.stringify(current.topology.outputs) !== JSON.stringify(next.topology.outputs);
    current = next;
    warnTokenless(current.tokens);
    if (outputsChanged) {
      log.info('outputs changed; restarting them', { outputs: current.topology.outputs.length });
      restartSinks(current.topology);
    }
    log.info('topology reloaded', { sites: current.topology.sites.size, links: current.links.length });
    queueEvaluation();
    return true;
  };

  const qualifications = new Qualifications();
  const asHttp = <T>(f: () => T): T => {
    try {
      return f();
    } catch (err) {
      if (err instanceof QualificationError) throw new HttpError(err.status, err.message);
      throw err;
    }
  };
  const handler = createHandler({
    qualifications: {
      create: (req) =>
        asHttp(() => {
          const q = qualifications.create(req, current.topology, current.links, Date.now());
          log.info('qualification started', { id: q.id, tasks: q.tasks.length });
          return q;
        }),
      get: (id) => qualifications.get(id, Date.now()),
      cancel: (id) => qualifications.cancel(id, Date.now()),
      take: (site) => qualifications.takeTasks(site, Date.now()),
      progress: (id, site, p) => asHttp(() => qualifications.progress(id, site, p, Date.now())),
      complete: (id, site, r) => asHttp(() => qualifications.complete(id, site, r, Date.now())),
    },
    tokens: () => current.tokens,
    knownSites: () => [...current.topology.sites.keys()],
    plan: (site) => current.plans.get(site),
    ingest: (batch: ResultBatch): IngestReply => {
      const out = store.ingestBatch(batch, Date.now());
      if (out.stored > 0) {
        queueEvaluation();
        sinks.poke();
      }
      return { stored: out.stored, duplicates: out.duplicates };
    },
    heartbeat: (hb: Heartbeat) => {
      store.recordHeartbeat(hb, Date.now());
      queueEvaluation();
      sinks.poke();
      return { ok: true, plan_version: current.plans.get(hb.site)?.plan_version ?? null };
    },
    links: () => linksView(current.topology, current.links, evaluator, Date.now()),
    alerts: () => alertsView(evaluator, store),
    agents: () => agentsView(current.topology, current.plans, store, startedAt, Date.now()),
    onError: (err, req) => log.error('request failed', { method: req.method, url: req.url, error: err }),
  });

  const server: Server = tls
    ? createHttpsServer({ cert: readFileSync(tls.cert), key: readFileSync(tls.key) }, handler)
    : createHttpServer(handler);
  server.requestTimeout = 60_000;
  server.headersTimeout = 30_000;
  server.on('clientError', (err: NodeJS.ErrnoException, socket) => {
    // Requests node:http cannot even parse still get a JSON error body.
    const tooBig = err.code === 'HPE_HEADER_OVERFLOW';
    const body = JSON.stringify({
      error: tooBig ? 'request headers too large' : `malformed HTTP request: ${err.code ?? err.message}`,
    });
    if (!socket.writable) return socket.destroy();
    socket.end(
      `HTTP/1.1 ${tooBig ? '431 Request Header Fields Too Large' : '400 Bad Request'}\r\n` +
        `content-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => {
      store.close();
      reject(
        new Error(
          `cannot listen on ${listen.host}:${listen.port}: ${err.code ?? err.message}; choose another with --listen`,
        ),
      );
    });
    server.listen(listen.port, listen.host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const hostInUrl = listen.host.includes(':') ? `[${listen.host}]` : listen.host;
  collectorUrl = `${tls ? 'https' : 'http'}://${hostInUrl}:${port}`;
  log.info('collector listening', { url: collectorUrl, data_dir: dataDir, topology: opts.configPath });

  launchSinks(current.topology);
  const evalTimer = setInterval(safeEvaluate, evaluateIntervalMs);
  const pruneTimer = setInterval(prune, PRUNE_INTERVAL_MS);
  pruneTimer.unref();
  prune();
  outbox.wake();
  queueEvaluation();

  let watcher: FSWatcher | undefined;
  let reloadTimer: NodeJS.Timeout | undefined;
  if (opts.watch !== false) {
    // Watch the directory, not the file: editors replace a file by renaming a new one over it.
    const file = basename(opts.configPath);
    try {
      watcher = watch(dirname(opts.configPath), (_event, name) => {
        if (name !== null && name !== file) return;
        if (reloadTimer) clearTimeout(reloadTimer);
        reloadTimer = setTimeout(() => {
          if (!closed) reload();
        }, 150);
      });
      watcher.on('error', (err) =>
        log.warn('stopped watching the topology file; use SIGHUP to reload', { error: err }),
      );
    } catch (err) {
      log.warn('cannot watch the topology file; use SIGHUP to reload', { error: err });
    }
  }
  const onHup = () => {
    log.info('SIGHUP: re-reading the topology file');
    reload();
  };
  if (opts.handleSignals) process.on('SIGHUP', onHup);

  return {
    url: collectorUrl,
    port,
    store,
    topology: () => current.topology,
    sinks: () => sinks,
    reload,
    evaluateNow,
    flushOutbox: () => outbox.wake(),
    close: async () => {
      if (closed) return;
      closed = true;
      clearInterval(evalTimer);
      clearInterval(pruneTimer);
      if (reloadTimer) clearTimeout(reloadTimer);
      watcher?.close();
      if (opts.handleSignals) process.off('SIGHUP', onHup);
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      // Outputs write what is left before the store closes (unless one is failing).
      await sinkChange;
      await sinks.close();
      sinks = NO_SINKS;
      await outbox.close();
      store.close();
    },
  };
}
