// The qualification report: what every output format (terminal, JSON, Markdown, HTML) renders.
import type { RttStats, ThroughputResult } from '../../shared/result.ts';
import { pooledRtt } from '../../shared/stats.ts';
import { type LinkMeasurements, type LinkVerdict, type Verdict, worst } from '../verdict.ts';

export interface ThroughputSummary {
  label: string;
  protocol: 'tcp' | 'udp';
  direction: string;
  goodput_bps: number | null;
  target_bps: number | null;
  retransmits: number | null;
  udp_loss_percent: number | null;
  udp_jitter_ms: number | null;
  intervals_bps: number[];
  error: string | null;
  /** How the test was run: parallel streams and its length (null when it failed before starting). */
  streams: number | null;
  duration_ms: number | null;
}

/** How the link was measured, read from the measurements themselves: what a change board asks. */
export interface MeasuredWith {
  rtt_method: string | null;
  rtt_rounds: number;
  probes_per_round: number | null;
  /** Median time between the starts of two rounds. */
  round_interval_ms: number | null;
  throughput_tests: number;
}

export interface LinkReport extends LinkVerdict {
  rtt_idle: RttStats;
  rtt_loaded: RttStats;
  throughput: ThroughputSummary[];
  /** Every sample, for the charts and as evidence. */
  rtt_idle_samples_ms: (number | null)[];
  rtt_loaded_samples_ms: (number | null)[];
  /** What the reader should know about how the link was measured (mesh mode: monitoring paused). */
  notes?: string[];
  /** Absent from reports written before it. */
  measured_with?: MeasuredWith;
}

export interface QualifyReport {
  report_version: 1;
  wanwatch_version: string;
  mode: 'direct' | 'mesh';
  started_at: string;
  finished_at: string;
  duration_ms: number;
  verdict: Verdict;
  /** Every link's notes, once each. */
  notes: string[];
  links: LinkReport[];
}

function summarize(v: LinkVerdict, r: ThroughputResult): ThroughputSummary {
  const t = r.throughput;
  const reverse = t?.direction === 'reverse';
  const direction = reverse ? `${v.link.to} → ${v.link.from}` : `${v.link.from} → ${v.link.to}`;
  return {
    label: `${t?.protocol === 'udp' ? 'UDP' : 'TCP'} ${direction}`,
    protocol: t?.protocol ?? 'tcp',
    direction,
    goodput_bps: t?.goodput_bps ?? null,
    target_bps: t?.target_bps ?? null,
    retransmits: t?.retransmits ?? null,
    udp_loss_percent: t?.udp_loss_percent ?? null,
    udp_jitter_ms: t?.udp_jitter_ms ?? null,
    intervals_bps: t?.intervals_bps ?? [],
    error: r.error ? `${r.error.code}: ${r.error.message}` : null,
    streams: t?.streams ?? null,
    duration_ms: t?.duration_ms ?? null,
  };
}

export function linkReport(v: LinkVerdict, m: LinkMeasurements): LinkReport {
  const idle = m.rounds.filter((r) => !r.loaded).map((r) => r.result);
  const loaded = m.rounds.filter((r) => r.loaded).map((r) => r.result);
  return {
    ...v,
    rtt_idle: pooledRtt(idle),
    rtt_loaded: pooledRtt(loaded),
    throughput: [...m.tcp, ...m.udp].map((r) => summarize(v, r)),
    rtt_idle_samples_ms: idle.flatMap((r) => r.rtt?.samples_ms ?? []),
    rtt_loaded_samples_ms: loaded.flatMap((r) => r.rtt?.samples_ms ?? []),
    measured_with: measuredWith(m),
  };
}

function measuredWith(m: LinkMeasurements): MeasuredWith {
  const rounds = m.rounds.map((r) => r.result);
  const times = rounds.map((r) => r.time_ms).sort((a, b) => a - b);
  const gaps = times
    .slice(1)
    .map((t, i) => t - (times[i] as number))
    .sort((a, b) => a - b);
  const sent = rounds.map((r) => r.rtt?.sent).filter((n): n is number => n !== undefined);
  return {
    rtt_method: rounds[0]?.method ?? null,
    rtt_rounds: rounds.length,
    probes_per_round: sent.length === 0 ? null : Math.max(...sent),
    round_interval_ms: gaps.length === 0 ? null : (gaps[Math.floor(gaps.length / 2)] as number),
    throughput_tests: m.tcp.length + m.udp.length,
  };
}

/**
 * The report with the two ends named as the person asked (direct mode: `--site` and `--peer-site`)
 * instead of this host's name and the far end's address.
 */
export function nameEnds(report: QualifyReport, names: { from?: string; to?: string }): QualifyReport {
  if (!names.from && !names.to) return report;
  const links = report.links.map((l) => {
    const from = names.from ?? l.link.from;
    const to = names.to ?? l.link.to;
    const pairs: [string, string][] = [
      [`${l.link.from} → ${l.link.to}`, `${from} → ${to}`],
      [`${l.link.to} → ${l.link.from}`, `${to} → ${from}`],
      [`${l.link.from} ↔ ${l.link.to}`, `${from} ↔ ${to}`],
    ];
    const swap = (text: string) => pairs.reduce((t, [a, b]) => t.replaceAll(a, b), text);
    return {
      ...l,
      link: { ...l.link, from, to },
      checks: l.checks.map((c) => ({ ...c, name: swap(c.name), reason: swap(c.reason) })),
      throughput: l.throughput.map((t) => ({ ...t, direction: swap(t.direction), label: swap(t.label) })),
    };
  });
  return { ...report, links };
}

export function buildReport(args: {
  version: string;
  mode: 'direct' | 'mesh';
  started_at_ms: number;
  finished_at_ms: number;
  duration_ms: number;
  links: LinkReport[];
}): QualifyReport {
  return {
    report_version: 1,
    wanwatch_version: args.version,
    mode: args.mode,
    started_at: new Date(args.started_at_ms).toISOString(),
    finished_at: new Date(args.finished_at_ms).toISOString(),
    duration_ms: args.duration_ms,
    verdict: worst(args.links.map((l) => l.verdict)),
    notes: [...new Set(args.links.flatMap((l) => l.notes ?? []))],
    links: args.links,
  };
}
