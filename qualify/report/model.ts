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
  };
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
