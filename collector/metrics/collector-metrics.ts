// GET /metrics of the collector (docs/prometheus.md): every link direction against its requirement
// (links.ts, from the read API's links reply, rendered once per evaluation), every agent as its
// heartbeats show it (the read API's agents view), and the collector itself: what it ingested and
// refused, how long evaluations take, the outbox and the outputs, and the process (prom-client's
// default metrics). A scrape reads state the collector keeps; it observes no link itself.
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import {
  bare,
  collectProcessMetrics,
  type Exposition,
  joinBodies,
  OPENMETRICS_TEXT,
  PROMETHEUS_TEXT,
  Renderer,
  wantsOpenMetrics,
} from '../../shared/metrics/exposition.ts';
import { ERROR_CODES } from '../../shared/result.ts';
import type { AgentsReply, Heartbeat, LinksReply, ResultBatch } from '../../shared/wire.ts';
import type { SinkStream } from '../sinks/source.ts';
import type { Store } from '../store/store.ts';
import { LatestRounds } from './latest-rounds.ts';
import { LinkMetrics } from './links.ts';
import { OutputLag } from './outputs.ts';

export interface MetricsSources {
  /** The read API's links reply: a new object at each evaluation (read.ts ReadReplies). */
  links(): { text: string };
  /** The read API's agents view. */
  agents(): AgentsReply;
  /** The names of the `notify:` entries in force (each shows in the outbox families, 0 when idle). */
  notifiers(): readonly string[];
  /** The outputs running now: their names and whether their writes fail. */
  outputs(): { name: string; failing: boolean }[];
  store: Store;
  version: string;
}

/** Why a request was refused, by its status. */
const REASONS: Record<number, string> = {
  400: 'invalid',
  401: 'unauthenticated',
  403: 'forbidden',
  404: 'not_found',
  405: 'method_not_allowed',
  413: 'too_large',
  429: 'rate_limited',
  503: 'unavailable',
};

export class CollectorMetrics {
  private readonly registry = new Registry();
  private readonly renderer = new Renderer();
  private readonly rounds = new LatestRounds();
  private readonly links = new LinkMetrics(this.rounds);
  private readonly results: Counter;
  private readonly batches: Counter;
  private readonly duplicates: Counter;
  private readonly refused: Counter<'reason'>;
  private readonly agentErrors: Counter<'site' | 'code'>;
  private readonly evaluation: Histogram;
  private evaluationStart: bigint | null = null;

  constructor(private readonly sources: MetricsSources) {
    const registers = [this.registry];
    this.results = new Counter({
      name: 'wanwatch_ingested_results_total',
      help: 'Results stored from agents (duplicates of stored results not counted).',
      registers,
    });
    this.duplicates = new Counter({
      name: 'wanwatch_ingested_duplicate_results_total',
      help: 'Results agents sent again that were already stored (a resent batch), not stored twice.',
      registers,
    });
    this.batches = new Counter({
      name: 'wanwatch_ingested_batches_total',
      help: 'Result batches accepted from agents.',
      registers,
    });
    this.refused = new Counter({
      name: 'wanwatch_refused_requests_total',
      help: 'Requests answered with an error, by reason (invalid, unauthenticated, forbidden, rate_limited, too_large, unavailable, …).',
      labelNames: ['reason'],
      registers,
    });
    this.agentErrors = new Counter({
      name: 'wanwatch_agent_errors_total',
      help: 'Error results the agents reported in their heartbeats since the collector started, by site and error code (link failures such as timeout included).',
      labelNames: ['site', 'code'],
      registers,
    });
    this.evaluation = new Histogram({
      name: 'wanwatch_evaluation_duration_seconds',
      help: 'How long one evaluation step takes (observing every link direction, stepping the alerts, writing them).',
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    });
    new Gauge({
      name: 'wanwatch_build_info',
      help: 'The collector running: its version (always 1).',
      labelNames: ['version'],
      registers,
      collect() {
        this.set({ version: sources.version }, 1);
      },
    });
    this.agentFamilies();
    this.outboxFamilies();
    collectProcessMetrics(this.registry);
  }

  /** A batch was accepted: `stored` results stored, `duplicates` already there. */
  ingested(batch: ResultBatch, out: { stored: number; duplicates: number }): void {
    this.batches.inc();
    this.results.inc(out.stored);
    this.duplicates.inc(out.duplicates);
    for (const r of batch.results) if (r.kind === 'rtt') this.rounds.record(r);
  }

  /** A heartbeat was accepted: its errors since the agent's previous one count. */
  heard(hb: Heartbeat): void {
    for (const [code, n] of Object.entries(hb.errors_by_code ?? {}))
      if (n > 0) this.agentErrors.inc({ site: hb.site, code }, n);
  }

  /** A request got an HTTP error with this status. */
  refusedRequest(status: number): void {
    this.refused.inc({ reason: REASONS[status] ?? (status >= 500 ? 'server_error' : 'other') });
  }

  /** The evaluation loop reads its context at the start of a step and pokes the outputs at its end. */
  evaluationStarted(): void {
    this.evaluationStart = process.hrtime.bigint();
  }

  evaluationEnded(): void {
    if (this.evaluationStart === null) return;
    this.evaluation.observe(Number(process.hrtime.bigint() - this.evaluationStart) / 1e9);
    this.evaluationStart = null;
  }

  /** The exposition for a scrape whose Accept header is `accept`. */
  async scrape(accept: string | undefined): Promise<Exposition> {
    const openMetrics = wantsOpenMetrics(accept);
    const reply = this.sources.links();
    const links = this.links.text(reply, () => JSON.parse(reply.text) as LinksReply);
    const own = await this.renderer.render(this.registry, openMetrics);
    return {
      contentType: openMetrics ? OPENMETRICS_TEXT : PROMETHEUS_TEXT,
      text: joinBodies([bare(own, openMetrics), links], openMetrics),
    };
  }

  private agentFamilies(): void {
    const registers = [this.registry];
    const { sources } = this;
    // The agents view is read once per scrape and shared by the families below.
    let view: { at: number; reply: AgentsReply } | null = null;
    const agents = () => {
      const now = Date.now();
      if (view === null || now - view.at > 500) view = { at: now, reply: sources.agents() };
      return view.reply.agents;
    };
    const perAgent = (
      name: string,
      help: string,
      value: (a: AgentsReply['agents'][number]) => number | null,
    ) =>
      new Gauge({
        name,
        help,
        labelNames: ['site'],
        registers,
        collect() {
          this.reset();
          for (const a of agents()) {
            const v = value(a);
            if (v !== null) this.set({ site: a.site }, v);
          }
        },
      });
    perAgent(
      'wanwatch_agent_up',
      "1 when the site's agent was heard within the heartbeat interval plus its timeout, else 0.",
      (a) => (a.up ? 1 : 0),
    );
    perAgent(
      'wanwatch_agent_last_heartbeat_timestamp_seconds',
      "When the site's agent was last heard (Unix time); absent if never. Its age is time() minus this.",
      (a) => (a.last_heartbeat_ms === null ? null : a.last_heartbeat_ms / 1000),
    );
    perAgent(
      'wanwatch_agent_spool_queued_results',
      "Results waiting in the agent's spool to be sent, at its latest heartbeat.",
      (a) => a.spool_queued,
    );
    perAgent(
      'wanwatch_agent_plan_current',
      '1 when the agent runs the plan the collector holds for it now, else 0.',
      (a) => (a.plan_current ? 1 : 0),
    );
    new Counter({
      name: 'wanwatch_agent_spool_dropped_results_total',
      help: "Results the agent dropped past its spool's bound over the spool's life, at its latest heartbeat.",
      labelNames: ['site'],
      registers,
      collect() {
        this.reset();
        for (const a of agents()) if (a.spool_dropped !== null) this.inc({ site: a.site }, a.spool_dropped);
      },
    });
    new Gauge({
      name: 'wanwatch_agent_info',
      help: "The agent's version and the plan it runs, from its latest heartbeat (always 1).",
      labelNames: ['site', 'version', 'plan_version'],
      registers,
      collect() {
        this.reset();
        for (const a of agents())
          if (a.version !== null)
            this.set({ site: a.site, version: a.version, plan_version: a.plan_version ?? '' }, 1);
      },
    });
    // Every code of every heard site starts at 0, so increase() sees the first error.
    const errors = this.agentErrors;
    const seeded = new Set<string>();
    new Gauge({
      name: 'wanwatch_agents',
      help: 'Sites in the topology (each runs one agent).',
      registers,
      collect() {
        const list = agents();
        this.set(list.length);
        for (const a of list) {
          if (seeded.has(a.site)) continue;
          seeded.add(a.site);
          for (const code of ERROR_CODES) errors.inc({ site: a.site, code }, 0);
        }
      },
    });
  }

  private outboxFamilies(): void {
    const registers = [this.registry];
    const { store } = this.sources;
    const lag = new OutputLag(store);
    const counts = () =>
      store.db
        .prepare(
          "SELECT notifier, status, COUNT(*) AS n FROM outbox WHERE status != 'delivered' GROUP BY notifier, status",
        )
        .all() as { notifier: string; status: 'pending' | 'failed'; n: number }[];
    const { sources } = this;
    const byStatus = (status: 'pending' | 'failed') =>
      function (this: Gauge<'notifier'>) {
        this.reset();
        for (const notifier of sources.notifiers()) this.set({ notifier }, 0);
        for (const r of counts()) if (r.status === status) this.set({ notifier: r.notifier }, r.n);
      };
    new Gauge({
      name: 'wanwatch_outbox_pending_notifications',
      help: 'Notifications waiting to be delivered (or retried), by notifier.',
      labelNames: ['notifier'],
      registers,
      collect: byStatus('pending'),
    });
    new Gauge({
      name: 'wanwatch_outbox_failed_notifications',
      help: 'Notifications given up on (a 4xx, or retries exhausted) within the retention, by notifier.',
      labelNames: ['notifier'],
      registers,
      collect: byStatus('failed'),
    });
    new Gauge({
      name: 'wanwatch_output_failing',
      help: "1 while an output's writes fail (nothing is lost: it catches up from where it stopped), else 0.",
      labelNames: ['output'],
      registers,
      collect() {
        this.reset();
        for (const o of sources.outputs()) this.set({ output: o.name }, o.failing ? 1 : 0);
      },
    });
    new Gauge({
      name: 'wanwatch_output_lag_rows',
      help: 'Rows stored but not yet written to the output, by stream (results, link_status, alert_events, agent_heartbeats).',
      labelNames: ['output', 'stream'],
      registers,
      collect() {
        this.reset();
        for (const o of sources.outputs())
          for (const [stream, rows] of lag.behind(o.name))
            this.set({ output: o.name, stream: stream satisfies SinkStream }, rows);
      },
    });
  }
}
