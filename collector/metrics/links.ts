// The per-link families of /metrics, from the very reply GET /api/v1/links serves (read.ts builds it
// once per evaluation) and the latest rounds pushed: set and rendered once per evaluation, then sent
// as they are to every scrape until the next one. Units are Prometheus's base units (seconds, ratios,
// bytes per second: promtool asks for bytes rather than bits); docs/prometheus.md lists every family
// and what it costs per link.
//
// These families are written by gauge-family.ts rather than prom-client, which renders everything else:
// they are nearly all of a scrape (38 series per link, 756,000 at 200 sites in a full mesh), and
// prom-client took 4.5 to 5.7 s of the collector's one thread to set and render them at 200 sites, two
// to three evaluations' worth, at every evaluation a scrape followed (bench/metrics-scrape.ts).
import type { AlertStatus, DirectionState, LinksReply } from '../../shared/wire.ts';
import { LINK_RULES } from '../../shared/wire.ts';
import { escapeLabel, GaugeFamily } from './gauge-family.ts';
import type { LatestRounds } from './latest-rounds.ts';

/** As the InfluxDB output's state_code (collector/sinks/influx-schema.ts), so dashboards share mappings. */
export const STATE_CODE: Record<DirectionState, number> = { ok: 0, pending: 1, firing: 2, unknown: 3 };
/** An alert rule's status on a direction: resolved counts as ok. */
export const ALERT_CODE: Record<AlertStatus, number> = { ok: 0, resolved: 0, pending: 1, firing: 2 };

const DIRECTION = ['src', 'dst', 'link'] as const;

/** The link label: its two sites, sorted, as alert dedup keys name a link. */
export const linkLabel = (sites: readonly [string, string] | readonly string[]) => sites.join('--');

/** Every family, in the order a scrape shows them; `labels` names each family's labels, in order. */
function families() {
  const gauge = (name: string, help: string, _labels: readonly string[]) => new GaugeFamily(name, help);
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

/** A reply's link families, rendered the first time a scrape asks (the same text in both formats). */
export class LinkMetrics {
  private readonly g = families();
  private source: object | null = null;
  private rendered: Buffer | null = null;

  constructor(private readonly rounds: LatestRounds) {}

  /**
   * The families' bare text (shared/metrics/exposition.ts bare()), kept as bytes until `key` changes:
   * the read API's serialized links reply, a new object at each evaluation.
   */
  text(key: object, reply: () => LinksReply): Buffer {
    if (this.source !== key || this.rendered === null) {
      this.set(reply());
      this.source = key;
      this.rendered = Buffer.from(
        Object.values(this.g)
          .map((f) => f.text())
          .join('\n'),
      );
    }
    return this.rendered;
  }

  private set(reply: LinksReply): void {
    const g = this.g;
    for (const f of Object.values(g)) f.reset();
    // Label text is built once per site and per link, not once per series (a million at 200 sites).
    const escaped = new Map<string, string>();
    const esc = (v: string) => {
      let e = escaped.get(v);
      if (e === undefined) {
        e = escapeLabel(v);
        escaped.set(v, e);
      }
      return e;
    };
    const statistic = `statistic="${esc(reply.rtt_statistic)}"`;
    for (const l of reply.links) {
      const link = `link="${esc(linkLabel(l.sites))}"`;
      g.maxRtt.set(link, l.max_rtt_ms / 1000);
      g.maxLoss.set(link, l.max_loss_percent / 100);
      g.required.set(link, (l.required_mbps * 1e6) / 8);
      g.subclusters.set(link, l.subclusters.length);
      for (const d of l.directions) {
        const dir = `src="${esc(d.src)}",dst="${esc(d.dst)}",${link}`;
        g.state.set(dir, STATE_CODE[d.state]);
        for (const rule of LINK_RULES) g.alert.set(`${dir},rule="${rule}"`, ALERT_CODE[d.alerts[rule]]);
        if (d.rtt_ms !== null) g.rtt.set(`${dir},${statistic}`, d.rtt_ms / 1000);
        if (d.loss_percent !== null) g.loss.set(dir, d.loss_percent / 100);
        if (d.goodput_bps !== null) g.goodput.set(dir, d.goodput_bps / 8);
        if (d.last_throughput_ms !== null) g.goodputTime.set(dir, d.last_throughput_ms / 1000);
        g.stale.set(dir, d.goodput_stale ? 1 : 0);
        g.rounds.set(dir, d.rounds_in_window);
        if (d.last_result_ms !== null) g.lastResult.set(dir, d.last_result_ms / 1000);
        const r = this.rounds.get(d.src, d.dst);
        if (r === undefined) continue;
        for (const [name, v] of [
          ['min', r.min_ms],
          ['median', r.median_ms],
          ['p95', r.p95_ms],
          ['max', r.max_ms],
        ] as const)
          if (v !== null) g.roundRtt.set(`${dir},statistic="${name}"`, v / 1000);
        if (r.jitter_ms !== null) g.roundJitter.set(dir, r.jitter_ms / 1000);
        g.roundLoss.set(dir, r.loss_percent / 100);
      }
    }
  }
}
