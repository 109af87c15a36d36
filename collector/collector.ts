// The collector: loads the topology, serves the agent API and the read API, stores results, evaluates
// alerts, delivers notifications and copies what it stores to the `outputs:` (InfluxDB).
// `startCollector` runs one in-process (tests use it directly; `wanwatch collector` wraps it): it wires
// the parts together, starts them in order and stops them in the reverse order. The parts:
// topology.ts (the topology in force and its reloads), server.ts and handlers.ts (HTTP), evaluate/
// (alert evaluation and when it runs), outputs.ts (the sinks across reloads), outbox/ (notifications)
// and retention.ts (pruning).
import { createLogger, type Logger } from '../shared/log.ts';
import type { Topology } from '../shared/topology/model.ts';
import { WANWATCH_VERSION } from '../shared/version.ts';
import type { AlertEvent } from './alerts/event.ts';
import type { ApiLimits } from './api/limits.ts';
import { type ApiContext, createHandler } from './api/routes.ts';
import { DataDirLock } from './data-dir-lock.ts';
import { Evaluator } from './evaluate/evaluator.ts';
import { DEFAULT_EVALUATE_INTERVAL_MS, EvaluationLoop } from './evaluate/loop.ts';
import { apiHandlers } from './handlers.ts';
import { CollectorMetrics } from './metrics/collector-metrics.ts';
import { Outbox } from './outbox/outbox.ts';
import { DEFAULT_RETRY, type RetryPolicy } from './outbox/retry.ts';
import { Outputs } from './outputs.ts';
import { pruneOnSchedule } from './retention.ts';
import { parseListen, serve } from './server.ts';
import type { RunningSinks } from './sinks/index.ts';
import type { SinkOptions } from './sinks/influx.ts';
import { RefusedRows } from './sinks/refused.ts';
import { Store } from './store/store.ts';
import { reloadOnChange, TopologyInForce } from './topology.ts';

export { DEFAULT_EVALUATE_INTERVAL_MS, parseListen };

export interface CollectorOptions {
  /** Topology file. */
  configPath: string;
  /** HOST:PORT (port 0 picks a free port); default: the file's collector.listen. */
  listen?: string;
  /** Default: the file's collector.data_dir. */
  dataDir?: string;
  /** HTTPS with this certificate and key (PEM files); default: the file's collector.tls (its client_ca kept). */
  tls?: { cert: string; key: string; client_ca?: string };
  /** Rate limits of the API (tests turn them off); default api/limits.ts DEFAULT_API_LIMITS. */
  limits?: Partial<ApiLimits>;
  /** How often alerts are evaluated besides on arrival; default WANWATCH_EVALUATE_INTERVAL_MS or 1000. */
  evaluateIntervalMs?: number;
  /** Notification retry policy (tests shorten it). */
  retry?: Partial<RetryPolicy>;
  /** Output sink settings (tests shorten the backoff); secrets are read from `env`. */
  sinks?: Omit<SinkOptions, 'env'>;
  /** How often agents are told to re-fetch their plan. */
  planRefreshMs?: number;
  /** Watch the topology file for changes (default true). */
  watch?: boolean;
  /** At most one log line per remote address per this long about refused tokens (tests shorten it). */
  refusalLogIntervalMs?: number;
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

export async function startCollector(opts: CollectorOptions): Promise<RunningCollector> {
  const log = opts.log ?? createLogger({ component: 'collector' });
  const env = opts.env ?? process.env;
  const startedAt = Date.now();
  // Aborted by close(): the timers, the file watcher and SIGHUP stop, and nothing new starts.
  const shutdown = new AbortController();

  const topology = new TopologyInForce({
    configPath: opts.configPath,
    ...(opts.planRefreshMs !== undefined ? { planRefreshMs: opts.planRefreshMs } : {}),
    env,
    log,
  });
  const settings = topology.current.topology.collector;
  const listen = parseListen(opts.listen ?? settings.listen);
  const dataDir = opts.dataDir ?? settings.data_dir;
  const clientCa = opts.tls?.client_ca ?? settings.tls?.client_ca;
  const tls = opts.tls
    ? { ...opts.tls, ...(clientCa === undefined ? {} : { client_ca: clientCa }) }
    : settings.tls;
  const evaluateIntervalMs =
    opts.evaluateIntervalMs ?? (Number(env.WANWATCH_EVALUATE_INTERVAL_MS) || DEFAULT_EVALUATE_INTERVAL_MS);

  // One collector per data directory (data-dir-lock.ts), taken before the store is opened.
  const lock = DataDirLock.acquire(dataDir);
  let store: Store;
  try {
    store = Store.open(dataDir);
  } catch (err) {
    lock.release();
    throw err;
  }
  const evaluator = new Evaluator(store, startedAt);
  let collectorUrl: string | null = null;
  const outbox = new Outbox(
    store,
    {
      notifiers: () => topology.current.topology.notify,
      collectorUrl: () => collectorUrl,
      env,
    },
    { ...DEFAULT_RETRY, ...opts.retry },
    log.child({ part: 'outbox' }),
  );
  const outputs = new Outputs(
    store,
    { ...opts.sinks, env, refused: new RefusedRows(store.db) },
    log.child({ part: 'sinks' }),
    shutdown.signal,
  );
  // /metrics reads the API's links and agents replies (set once the handlers exist, below).
  let api: ApiContext | null = null;
  const metrics = new CollectorMetrics({
    links: () => (api as ApiContext).links(),
    agents: () => (api as ApiContext).agents(),
    notifiers: () => topology.current.notifiers,
    outputs: () => outputs.sinks.sinks,
    store,
    version: WANWATCH_VERSION,
  });
  const evaluation = new EvaluationLoop(evaluator, {
    intervalMs: evaluateIntervalMs,
    // A step reads its context first and pokes the outputs last: /metrics times it between the two.
    context: () => {
      metrics.evaluationStarted();
      return topology.current;
    },
    outputs: {
      poke: () => {
        metrics.evaluationEnded();
        outputs.poke();
      },
    },
    outbox,
    log,
    shutdown: shutdown.signal,
  });

  const reload = (): boolean => {
    const r = topology.reload();
    if (r.kind === 'broken') return false;
    if (r.kind === 'unchanged') return true;
    const outputsNow = r.after.topology.outputs;
    if (JSON.stringify(r.before.topology.outputs) !== JSON.stringify(outputsNow)) {
      log.info('outputs changed; restarting them', { outputs: outputsNow.length });
      outputs.restart(r.after.topology);
    }
    log.info('topology reloaded', { sites: r.after.topology.sites.size, links: r.after.links.length });
    evaluation.queue();
    return true;
  };

  api = apiHandlers({
    topology: () => topology.current,
    store,
    evaluator,
    queueEvaluation: () => evaluation.queue(),
    pokeOutputs: () => outputs.poke(),
    outputs: () => outputs.sinks,
    startedAtMs: startedAt,
    log,
    shutdown: shutdown.signal,
    ...(opts.refusalLogIntervalMs !== undefined ? { refusalLogIntervalMs: opts.refusalLogIntervalMs } : {}),
    ...(opts.limits !== undefined ? { limits: opts.limits } : {}),
    clientCertificates: tls?.client_ca !== undefined,
    metrics,
  });
  const handler = createHandler(api);
  const closeStore = () => {
    store.close();
    lock.release();
  };
  const server = await serve(handler, listen, tls, closeStore, { log, shutdown: shutdown.signal });
  collectorUrl = server.url;
  lock.listening(collectorUrl);
  log.info('collector listening', { url: collectorUrl, data_dir: dataDir, topology: opts.configPath });

  outputs.start(topology.current.topology);
  evaluation.start();
  pruneOnSchedule(store, () => topology.current.topology.collector.retention, log, shutdown.signal);
  outbox.wake();
  evaluation.queue();
  reloadOnChange(opts.configPath, reload, {
    watchFile: opts.watch !== false,
    onSighup: opts.handleSignals === true,
    log,
    shutdown: shutdown.signal,
  });

  return {
    url: collectorUrl,
    port: server.port,
    store,
    topology: () => topology.current.topology,
    sinks: () => outputs.sinks,
    reload,
    evaluateNow: () => evaluation.evaluateNow(),
    flushOutbox: () => outbox.wake(),
    close: async () => {
      if (shutdown.signal.aborted) return;
      shutdown.abort();
      await server.close();
      // Outputs write what is left before the store closes (unless one is failing).
      await outputs.close();
      await outbox.close();
      closeStore();
    },
  };
}
