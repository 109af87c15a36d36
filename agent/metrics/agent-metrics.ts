// The agent's own /metrics (`wanwatch agent --metrics-listen`, docs/prometheus.md): what it measured and
// what failed, by method and error code; its spool; how long pushing a batch to the collector takes;
// the plan it runs; and the process. Counted as results are produced and requests answered; the spool
// and the plan are read from the agent at each scrape.
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import {
  collectProcessMetrics,
  type Exposition,
  OPENMETRICS_TEXT,
  PROMETHEUS_TEXT,
  Renderer,
  wantsOpenMetrics,
} from '../../shared/metrics/exposition.ts';
import type { Result } from '../../shared/result.ts';
import type { AgentStats } from '../runtime.ts';

/** The path of the result batches the agent pushes (shared/wire.ts API_PREFIX + /results). */
const RESULTS_PATH = /\/api\/v1\/results$/;

export class AgentMetrics {
  private readonly registry = new Registry();
  private readonly renderer = new Renderer();
  private readonly measurements: Counter<'method'>;
  private readonly failed: Counter<'method' | 'code'>;
  private readonly probesSent: Counter<'method'>;
  private readonly probesLost: Counter<'method'>;
  private readonly push: Histogram<'outcome'>;
  private stats: (() => AgentStats) | null = null;

  constructor(opts: { site: string; version: string }) {
    const registers = [this.registry];
    this.measurements = new Counter({
      name: 'wanwatch_agent_measurements_total',
      help: 'RTT rounds and throughput tests the agent made (or tried), by method.',
      labelNames: ['method'],
      registers,
    });
    this.failed = new Counter({
      name: 'wanwatch_agent_measurements_failed_total',
      help: 'Rounds and tests that ended in an error, by method and error code (timeout, refused, busy, permission_denied, …).',
      labelNames: ['method', 'code'],
      registers,
    });
    this.probesSent = new Counter({
      name: 'wanwatch_agent_probes_sent_total',
      help: 'Single probes (packets, or connects for tcp) sent in RTT rounds, by method.',
      labelNames: ['method'],
      registers,
    });
    this.probesLost = new Counter({
      name: 'wanwatch_agent_probes_lost_total',
      help: 'Probes of RTT rounds that got no answer, by method.',
      labelNames: ['method'],
      registers,
    });
    this.push = new Histogram({
      name: 'wanwatch_agent_push_duration_seconds',
      help: 'How long pushing one batch of results to the collector took, by outcome (ok, the HTTP status refused, or error when no answer came).',
      labelNames: ['outcome'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    });
    const stats = () => this.stats?.();
    new Gauge({
      name: 'wanwatch_agent_build_info',
      help: 'The agent running: its site and version (always 1).',
      labelNames: ['site', 'version'],
      registers,
      collect() {
        this.set({ site: opts.site, version: opts.version }, 1);
      },
    });
    new Gauge({
      name: 'wanwatch_agent_plan_info',
      help: 'The plan the agent runs: its plan_version as the collector named it (always 1; absent before the first plan).',
      labelNames: ['plan_version'],
      registers,
      collect() {
        this.reset();
        const v = stats()?.plan_version;
        if (v) this.set({ plan_version: v }, 1);
      },
    });
    new Gauge({
      name: 'wanwatch_agent_spool_queued_results',
      help: 'Results waiting in the spool to be sent to the collector.',
      registers,
      collect() {
        this.set(stats()?.spool.queued_results ?? 0);
      },
    });
    new Counter({
      name: 'wanwatch_agent_spool_dropped_results_total',
      help: "Results dropped past the spool's bound over the spool's life (it survives restarts when it can be written).",
      registers,
      collect() {
        this.reset();
        this.inc(stats()?.spool.dropped ?? 0);
      },
    });
    new Counter({
      name: 'wanwatch_agent_results_sent_total',
      help: 'Results the collector acknowledged since the agent started.',
      registers,
      collect() {
        this.reset();
        this.inc(stats()?.sent ?? 0);
      },
    });
    collectProcessMetrics(this.registry);
  }

  /** Where the spool and plan figures come from: the agent, once created. */
  readFrom(stats: () => AgentStats): void {
    this.stats = stats;
  }

  /** Every result the agent produces (AgentDeps.onResult). */
  result(r: Result): void {
    this.measurements.inc({ method: r.method });
    if (r.error !== null) this.failed.inc({ method: r.method, code: r.error.code });
    if (r.kind === 'rtt' && r.rtt !== null) {
      this.probesSent.inc({ method: r.method }, r.rtt.sent);
      this.probesLost.inc({ method: r.method }, r.rtt.sent - r.rtt.received);
    }
  }

  /** `send`, timing the batches it pushes (the other requests pass through untimed). */
  timedFetch(send: typeof fetch): typeof fetch {
    return async (input, init) => {
      const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
      if (!RESULTS_PATH.test(new URL(url).pathname)) return send(input, init);
      const start = process.hrtime.bigint();
      const seconds = () => Number(process.hrtime.bigint() - start) / 1e9;
      try {
        const res = await send(input, init);
        this.push.observe({ outcome: res.ok ? 'ok' : String(res.status) }, seconds());
        return res;
      } catch (err) {
        this.push.observe({ outcome: 'error' }, seconds());
        throw err;
      }
    };
  }

  async scrape(accept: string | undefined): Promise<Exposition> {
    const openMetrics = wantsOpenMetrics(accept);
    return {
      contentType: openMetrics ? OPENMETRICS_TEXT : PROMETHEUS_TEXT,
      text: await this.renderer.render(this.registry, openMetrics),
    };
  }
}
