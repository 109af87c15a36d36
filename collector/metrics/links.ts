// The per-link families of /metrics, from the very reply GET /api/v1/links serves (read.ts builds it
// once per evaluation) and the latest rounds pushed: set and rendered once per evaluation, then sent
// as they are to every scrape until the next one. Units are Prometheus's base units (seconds, ratios,
// bytes per second: promtool asks for bytes rather than bits); docs/prometheus.md lists every family
// and what it costs per link.
import { Gauge, Registry } from 'prom-client';
import { bare, Renderer } from '../../shared/metrics/exposition.ts';
import type { AlertStatus, DirectionState, LinksReply } from '../../shared/wire.ts';
import { LINK_RULES } from '../../shared/wire.ts';
import type { LatestRounds } from './latest-rounds.ts';

/** As the InfluxDB output's state_code (collector/sinks/influx-schema.ts), so dashboards share mappings. */
export const STATE_CODE: Record<DirectionState, number> = { ok: 0, pending: 1, firing: 2, unknown: 3 };
/** An alert rule's status on a direction: resolved counts as ok. */
export const ALERT_CODE: Record<AlertStatus, number> = { ok: 0, resolved: 0, pending: 1, firing: 2 };

const DIRECTION = ['src', 'dst', 'link'] as const;

/** The link label: its two sites, sorted, as alert dedup keys name a link. */
export const linkLabel = (sites: readonly [string, string] | readonly string[]) => sites.join('--');

function families(registry: Registry) {
  const gauge = <L extends string>(name: string, help: string, labelNames: readonly L[]) =>
    new Gauge<L>({ name, help, labelNames, registers: [registry] });
  return {
    state: gauge(
      'wanwatch_link_state',
      "Worst state over the direction's link rules at the latest evaluation: 0 ok, 1 pending, 2 firing, 3 unknown (no rule has data).",
      DIRECTION,
    ),
    alert: gauge(
      'wanwatch_link_alert_state',
      'Each link rule as this direction shows it: 0 ok, 1 pending, 2 firing (0 when only the other direction breaches).',
      [...DIRECTION, 'rule'],
    ),
    rtt: gauge(
      'wanwatch_link_rtt_seconds',
      'The RTT statistic the rtt_high rule judges (label statistic, e.g. p95) over the alert window, measured rounds only.',
      [...DIRECTION, 'statistic'],
    ),
    loss: gauge(
      'wanwatch_link_loss_ratio',
      'Share of probes lost over the alert window (0 to 1), what the loss_high rule judges.',
      DIRECTION,
    ),
    goodput: gauge(
      'wanwatch_link_goodput_bytes_per_second',
      'Goodput src to dst of the latest successful throughput test, however old (see wanwatch_link_goodput_stale); times 8 for bits per second.',
      DIRECTION,
    ),
    goodputTime: gauge(
      'wanwatch_link_goodput_timestamp_seconds',
      'When the latest successful throughput test src to dst started (Unix time); its age is time() minus this.',
      DIRECTION,
    ),
    stale: gauge(
      'wanwatch_link_goodput_stale',
      '1 when the latest goodput is older than three throughput cycles: shown, but no longer judged by goodput_low.',
      DIRECTION,
    ),
    rounds: gauge(
      'wanwatch_link_window_rounds',
      'Measured RTT rounds in the alert window (rounds that could not be made are left out).',
      DIRECTION,
    ),
    lastResult: gauge(
      'wanwatch_link_last_result_timestamp_seconds',
      'When the latest RTT round src to dst started (Unix time).',
      DIRECTION,
    ),
    roundRtt: gauge(
      'wanwatch_link_round_rtt_seconds',
      'RTT statistics of the latest round src to dst (label statistic: min, median, p95, max).',
      [...DIRECTION, 'statistic'],
    ),
    roundJitter: gauge(
      'wanwatch_link_round_jitter_seconds',
      'Jitter of the latest round src to dst (RFC 3550 for UDP echo, mean RTT difference for ICMP and TCP).',
      DIRECTION,
    ),
    roundLoss: gauge(
      'wanwatch_link_round_loss_ratio',
      'Share of probes lost in the latest round src to dst (0 to 1).',
      DIRECTION,
    ),
    maxRtt: gauge(
      'wanwatch_link_rtt_limit_seconds',
      "The link's RTT limit (thresholds.max_rtt_ms or the link's own).",
      ['link'],
    ),
    maxLoss: gauge('wanwatch_link_loss_limit_ratio', "The link's loss limit (0 to 1).", ['link']),
    required: gauge(
      'wanwatch_link_required_bytes_per_second',
      'What the link must carry (5 Mbps per subcluster crossing it plus its extra_mbps), in bytes per second: times 8 for bits.',
      ['link'],
    ),
    subclusters: gauge(
      'wanwatch_link_subclusters',
      'Subclusters whose traffic crosses the link (the required bandwidth is counted from them).',
      ['link'],
    ),
  };
}

/** A reply's link families, rendered in each format the first time one is asked for. */
export class LinkMetrics {
  private readonly registry = new Registry();
  private readonly g = families(this.registry);
  private readonly renderer = new Renderer();
  private source: object | null = null;
  private texts = new Map<boolean, Promise<Buffer>>();

  constructor(private readonly rounds: LatestRounds) {}

  /** `key` changes when the reply does (the read API's serialized reply: one per evaluation). */
  /** The families' bare text (exposition.ts bare()), kept as bytes until the next reply. */
  text(key: object, reply: () => LinksReply, openMetrics: boolean): Promise<Buffer> {
    if (this.source !== key) {
      this.set(reply());
      this.source = key;
      this.texts = new Map();
    }
    let t = this.texts.get(openMetrics);
    if (t === undefined) {
      t = this.renderer
        .render(this.registry, openMetrics)
        .then((text) => Buffer.from(bare(text, openMetrics)));
      this.texts.set(openMetrics, t);
    }
    return t;
  }

  private set(reply: LinksReply): void {
    const g = this.g;
    this.registry.resetMetrics();
    for (const l of reply.links) {
      const link = linkLabel(l.sites);
      g.maxRtt.set({ link }, l.max_rtt_ms / 1000);
      g.maxLoss.set({ link }, l.max_loss_percent / 100);
      g.required.set({ link }, (l.required_mbps * 1e6) / 8);
      g.subclusters.set({ link }, l.subclusters.length);
      for (const d of l.directions) {
        const labels = { src: d.src, dst: d.dst, link };
        g.state.set(labels, STATE_CODE[d.state]);
        for (const rule of LINK_RULES) g.alert.set({ ...labels, rule }, ALERT_CODE[d.alerts[rule]]);
        if (d.rtt_ms !== null) g.rtt.set({ ...labels, statistic: d.rtt_statistic }, d.rtt_ms / 1000);
        if (d.loss_percent !== null) g.loss.set(labels, d.loss_percent / 100);
        if (d.goodput_bps !== null) g.goodput.set(labels, d.goodput_bps / 8);
        if (d.last_throughput_ms !== null) g.goodputTime.set(labels, d.last_throughput_ms / 1000);
        g.stale.set(labels, d.goodput_stale ? 1 : 0);
        g.rounds.set(labels, d.rounds_in_window);
        if (d.last_result_ms !== null) g.lastResult.set(labels, d.last_result_ms / 1000);
        const r = this.rounds.get(d.src, d.dst);
        if (r === undefined) continue;
        for (const [statistic, v] of [
          ['min', r.min_ms],
          ['median', r.median_ms],
          ['p95', r.p95_ms],
          ['max', r.max_ms],
        ] as const)
          if (v !== null) g.roundRtt.set({ ...labels, statistic }, v / 1000);
        if (r.jitter_ms !== null) g.roundJitter.set(labels, r.jitter_ms / 1000);
        g.roundLoss.set(labels, r.loss_percent / 100);
      }
    }
  }
}
