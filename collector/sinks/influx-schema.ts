// The InfluxDB line-protocol schema of wanwatch: what each stored row becomes. Pure: rows in, lines out.
// docs/influxdb-grafana.md ("Line-protocol schema") documents the same schema; the dashboards in
// dashboards/ query exactly these measurement, tag and field names (dashboards/src/influxql.ts imports
// them from here).
//
// Rules: tags are low-cardinality (site names, methods, enumerations); every field carries its unit in
// its name (_ms, _bps, _percent, _s); an enumeration is both a tag (to filter and group by) and, where a
// chart needs a number, an integer code field. Null values are left out (line protocol has no null).
// Timestamps are milliseconds (precision=ms).
import type { Result, RttStats } from '../../shared/result.ts';
import type { Heartbeat } from '../../shared/wire.ts';
import { type AlertEvent, linkName } from '../alerts/event.ts';
import type { LinkStatusPoint } from './source.ts';

export const MEASUREMENTS = {
  rtt: 'wanwatch_rtt',
  throughput: 'wanwatch_throughput',
  link: 'wanwatch_link',
  alert: 'wanwatch_alert',
  agent: 'wanwatch_agent',
} as const;

/** Link state as an integer code, for state timelines and colour mappings (worst is highest). */
export const LINK_STATE_CODES = { ok: 0, pending: 1, firing: 2, unknown: 3 } as const;

type FieldValue = number | boolean | string | null | undefined;
/** A number written as an integer field (`5i`). */
export class Int {
  constructor(readonly value: number) {}
}

// Line protocol cannot carry a newline or other control character in a name or a string: each becomes
// a space (the store keeps the original).
// biome-ignore lint/suspicious/noControlCharactersInRegex: these are the characters to replace
const CONTROL = /[\u0000-\u001f\u007f]/g;
const visible = (s: string) => s.replace(CONTROL, ' ');
const escapeMeasurement = (s: string) => visible(s).replace(/[, ]/g, (c) => `\\${c}`);
/**
 * A tag key or value, or a field key. InfluxDB (1.x and 2.x) reads a backslash before a comma, equals
 * sign or space as an escape and keeps every other backslash as it is (two backslashes stay two), so
 * backslashes are written unchanged and `a\b`, `a\,b` arrive exactly. A value ending in a backslash
 * cannot be written at all, escaped or not (influxdata/influxdb#6154, #5231): it gets a space
 * appended, so `b\` is stored as `b\ ` (docs/influxdb-grafana.md says so).
 */
const escapeTag = (s: string) => {
  const escaped = visible(s).replace(/[,= ]/g, (c) => `\\${c}`);
  return escaped.endsWith('\\') ? `${escaped}\\ ` : escaped;
};
/** A string field: InfluxDB unescapes both backslash and double quote inside the quotes. */
const escapeString = (s: string) => visible(s).replace(/[\\"]/g, (c) => `\\${c}`);

/** The times InfluxDB can store: int64 nanoseconds, less one at each end (1677-09-21 to 2262-04-11). */
export const INFLUX_MAX_TIME_MS = 9_223_372_036_854;

/** A row that can never be written as line protocol; the sink sets it aside with this message. */
export class UnwritableRow extends Error {}

/** One line of line protocol; undefined, null and non-finite fields are left out, as are empty tags. */
export function line(
  measurement: string,
  tags: Record<string, string | null | undefined>,
  fields: Record<string, FieldValue | Int>,
  timeMs: number,
): string {
  const tagText = Object.keys(tags)
    .sort() // InfluxDB stores series fastest with tags in key order
    .filter((k) => tags[k] !== undefined && tags[k] !== null && tags[k] !== '')
    .map((k) => `,${escapeTag(k)}=${escapeTag(tags[k] as string)}`)
    .join('');
  const fieldText: string[] = [];
  for (const [k, v] of Object.entries(fields)) {
    if (v === null || v === undefined) continue;
    if (v instanceof Int) fieldText.push(`${escapeTag(k)}=${Math.round(v.value)}i`);
    else if (typeof v === 'number') {
      if (Number.isFinite(v)) fieldText.push(`${escapeTag(k)}=${v}`);
    } else if (typeof v === 'boolean') fieldText.push(`${escapeTag(k)}=${v}`);
    else fieldText.push(`${escapeTag(k)}="${escapeString(v)}"`);
  }
  const time = Math.round(timeMs);
  if (!(Math.abs(time) <= INFLUX_MAX_TIME_MS))
    throw new UnwritableRow(
      `its time ${Number.isFinite(time) ? new Date(time).toISOString() : String(timeMs)} is outside what InfluxDB can store (1677-09-21 to 2262-04-11)`,
    );
  if (fieldText.length === 0) throw new UnwritableRow('it has no field with a value');
  return `${escapeMeasurement(measurement)}${tagText} ${fieldText.join(',')} ${time}`;
}

function rttFields(prefix: string, s: RttStats | null): Record<string, FieldValue | Int> {
  if (s === null) return {};
  return {
    [`${prefix}sent`]: new Int(s.sent),
    [`${prefix}received`]: new Int(s.received),
    [`${prefix}loss_percent`]: s.loss_percent,
    [`${prefix}rtt_min_ms`]: s.rtt_min_ms,
    [`${prefix}rtt_median_ms`]: s.rtt_median_ms,
    [`${prefix}rtt_p95_ms`]: s.rtt_p95_ms,
    [`${prefix}rtt_max_ms`]: s.rtt_max_ms,
    [`${prefix}rtt_mean_ms`]: s.rtt_mean_ms,
    [`${prefix}rtt_stddev_ms`]: s.rtt_stddev_ms,
    [`${prefix}jitter_ms`]: s.jitter_ms,
  };
}

/**
 * wanwatch_rtt: one point per RTT round. Tags src, dst, method, jitter_method, ok ("true"/"false"),
 * error (the error code, only on failures). wanwatch_throughput: one point per iperf3 test, tags src, dst,
 * method, protocol, direction, ok, error; latency under load as loaded_* fields.
 */
export function resultLines(r: Result): string[] {
  const tags = {
    src: r.src,
    dst: r.dst,
    method: r.method,
    ok: r.error === null ? 'true' : 'false',
    error: r.error?.code,
  };
  const common = { duration_ms: r.duration_ms, error_message: r.error?.message };
  if (r.kind === 'rtt') {
    return [
      line(
        MEASUREMENTS.rtt,
        { ...tags, jitter_method: r.rtt?.jitter_method },
        { ...rttFields('', r.rtt), ...common },
        r.time_ms,
      ),
    ];
  }
  const t = r.throughput;
  return [
    line(
      MEASUREMENTS.throughput,
      { ...tags, protocol: t?.protocol, direction: t?.direction },
      {
        goodput_bps: t?.goodput_bps,
        sent_bps: t?.sent_bps,
        target_bps: t?.target_bps,
        retransmits: t?.retransmits == null ? null : new Int(t.retransmits),
        sender_rtt_ms: t?.sender_rtt_ms,
        udp_jitter_ms: t?.udp_jitter_ms,
        udp_loss_percent: t?.udp_loss_percent,
        streams: t ? new Int(t.streams) : null,
        test_duration_ms: t?.duration_ms,
        ...rttFields('loaded_', r.loaded_rtt),
        ...common,
      },
      r.time_ms,
    ),
  ];
}

/**
 * wanwatch_link: the collector's verdict on a link direction at each evaluation. Tags src, dst, state,
 * rtt_statistic; state_code (0 ok, 1 pending, 2 firing, 3 unknown), the measured values and the link's
 * requirement, and the two ratios an overview colours by.
 */
export function linkStatusLines(p: LinkStatusPoint): string[] {
  return [
    line(
      MEASUREMENTS.link,
      { src: p.src, dst: p.dst, state: p.state, rtt_statistic: p.rtt_statistic },
      {
        state_code: new Int(LINK_STATE_CODES[p.state]),
        rtt_ms: p.rtt_ms,
        loss_percent: p.loss_percent,
        goodput_bps: p.goodput_bps,
        required_bps: p.required_bps,
        max_rtt_ms: p.max_rtt_ms,
        rtt_of_max_percent: p.rtt_ms === null ? null : (p.rtt_ms / p.max_rtt_ms) * 100,
        goodput_of_required_percent:
          p.goodput_bps === null || p.required_bps <= 0 ? null : (p.goodput_bps / p.required_bps) * 100,
      },
      p.time_ms,
    ),
  ];
}

/**
 * wanwatch_alert: every alert event. Tags rule, status (firing/resolved), severity, subject (link/agent/
 * output), link ("a--b", sites sorted), site (agents) or output; firing (1 firing, 0 resolved), reminder, observed,
 * threshold, the worse direction's src and dst as strings (worst_src, worst_dst: which direction
 * breaches changes within one alert, so it is no tag), the summary and dedup_key as strings, and the
 * event's start/fire/resolve times.
 */
export function alertEventLines(e: AlertEvent): string[] {
  const subject =
    e.subject.kind === 'link'
      ? { subject: 'link', link: linkName(e.subject.sites) }
      : e.subject.kind === 'agent'
        ? { subject: 'agent', site: e.subject.site }
        : { subject: 'output', output: e.subject.output };
  const worst = e.subject.kind === 'link' ? e.subject.worst : null;
  return [
    line(
      MEASUREMENTS.alert,
      { rule: e.rule, status: e.status, severity: e.severity, ...subject },
      {
        firing: new Int(e.status === 'firing' ? 1 : 0),
        reminder: e.reminder,
        observed: e.observed,
        threshold: e.threshold,
        unit: e.unit,
        worst_src: worst?.src,
        worst_dst: worst?.dst,
        summary: e.summary,
        dedup_key: e.dedup_key,
        started_at_ms: new Int(e.started_at_ms),
        fired_at_ms: new Int(e.fired_at_ms),
        resolved_at_ms: e.resolved_at_ms === null ? null : new Int(e.resolved_at_ms),
      },
      e.time_ms,
    ),
  ];
}

/**
 * wanwatch_agent: every heartbeat. Tags site, version; uptime_s, spool_queued, spool_dropped, errors
 * (probes that failed to run since the previous heartbeat), plan_version as a string.
 */
export function heartbeatLines(h: Heartbeat): string[] {
  return [
    line(
      MEASUREMENTS.agent,
      { site: h.site, version: h.version },
      {
        up: new Int(1),
        uptime_s: Math.max(0, (h.time_ms - h.started_at_ms) / 1000),
        spool_queued: new Int(h.spool_queued),
        spool_dropped: new Int(h.spool_dropped),
        errors: new Int(h.errors),
        plan_version: h.plan_version,
      },
      h.time_ms,
    ),
  ];
}
