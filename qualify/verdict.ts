// The qualification verdict: pure functions from measurements to PASS / WARN / FAIL per check and per
// link, each with its reason and margin ("p95 RTT 83.1 ms > 80 ms"). WARN means within 10 % of a limit.
import type { RttStatistic } from '../shared/config/schema.ts';
import type { ThroughputResult } from '../shared/result.ts';
import { pooledRtt, statisticOf } from '../shared/stats.ts';
import type { LinkMeasurements } from '../shared/wire.ts';

export type Verdict = 'PASS' | 'WARN' | 'FAIL' | 'ERROR';

/** What a link must offer: from the topology (mesh mode) or the command line (direct mode). */
export interface LinkRequirementInput {
  /** Display names of the two ends, measured from `from` towards `to`. */
  from: string;
  to: string;
  /** Subcluster names when known (mesh mode), else empty with the count in `subcluster_count`. */
  subclusters: string[];
  subcluster_count: number;
  required_mbps: number;
  max_rtt_ms: number;
  max_loss_percent: number;
  rtt_statistic: RttStatistic;
  derivation: string;
}

export type { LinkMeasurements };

export interface Check {
  name: string;
  verdict: Verdict;
  /** One line: "p95 RTT 83.1 ms > 80 ms (3.1 ms over)". */
  reason: string;
  observed: number | null;
  limit: number | null;
  unit: 'ms' | 'Mbps' | '%';
}

export interface LinkVerdict {
  link: LinkRequirementInput;
  verdict: Verdict;
  checks: Check[];
  interrupted: boolean;
}

/** Within this fraction of a limit a passing value is a WARN. */
export const WARN_MARGIN = 0.1;
const ORDER: Record<Verdict, number> = { PASS: 0, WARN: 1, ERROR: 2, FAIL: 3 };

export function worst(verdicts: Verdict[]): Verdict {
  return verdicts.reduce<Verdict>((w, v) => (ORDER[v] > ORDER[w] ? v : w), 'PASS');
}

const f1 = (n: number) => (Math.round(n * 10) / 10).toFixed(1);
const f2 = (n: number) => String(Math.round(n * 100) / 100);
const mbps = (bps: number) => bps / 1e6;

/** A value that must stay at or below a limit (RTT, loss). */
export function upperCheck(
  name: string,
  label: string,
  observed: number,
  limit: number,
  unit: Check['unit'],
): Check {
  const u = unit === '%' ? ' %' : ` ${unit}`;
  if (observed > limit) {
    return {
      name,
      verdict: 'FAIL',
      reason: `${label} ${f1(observed)}${u} > ${f2(limit)}${u} (${f1(observed - limit)}${u} over)`,
      observed,
      limit,
      unit,
    };
  }
  const warn = limit > 0 && observed > limit * (1 - WARN_MARGIN);
  return {
    name,
    verdict: warn ? 'WARN' : 'PASS',
    reason: `${label} ${f1(observed)}${u} ≤ ${f2(limit)}${u} (${f1(limit - observed)}${u} to spare${warn ? ', within 10 % of the limit' : ''})`,
    observed,
    limit,
    unit,
  };
}

/** A value that must reach at least a requirement (goodput). */
export function lowerCheck(
  name: string,
  label: string,
  observed: number,
  required: number,
  why: string,
): Check {
  if (observed < required) {
    return {
      name,
      verdict: 'FAIL',
      reason: `${label} ${f1(observed)} Mbps < ${f2(required)} Mbps required${why}`,
      observed,
      limit: required,
      unit: 'Mbps',
    };
  }
  const warn = observed < required * (1 + WARN_MARGIN);
  return {
    name,
    verdict: warn ? 'WARN' : 'PASS',
    reason: `${label} ${f1(observed)} Mbps ≥ ${f2(required)} Mbps required${why}${warn ? ', within 10 % of the requirement' : ''}`,
    observed,
    limit: required,
    unit: 'Mbps',
  };
}

function errorCheck(name: string, reason: string): Check {
  return { name, verdict: 'ERROR', reason, observed: null, limit: null, unit: 'ms' };
}

function subclusterWhy(link: LinkRequirementInput): string {
  const n = link.subcluster_count;
  if (n === 0) return '';
  const names = link.subclusters.length > 0 ? `: ${link.subclusters.join(', ')}` : '';
  return ` (${n} subcluster${n === 1 ? '' : 's'}${names})`;
}

const directionLabel = (link: LinkRequirementInput, r: ThroughputResult) =>
  r.throughput?.direction === 'reverse' ? `${link.to} → ${link.from}` : `${link.from} → ${link.to}`;

export function judgeLink(link: LinkRequirementInput, m: LinkMeasurements): LinkVerdict {
  const checks: Check[] = [];
  const stat = link.rtt_statistic;

  const idle = m.rounds.filter((r) => !r.loaded).map((r) => r.result);
  const loaded = m.rounds.filter((r) => r.loaded).map((r) => r.result);
  const failedRounds = m.rounds.filter((r) => r.result.rtt === null);
  const idleStats = pooledRtt(idle);
  const idleValue = statisticOf(idleStats, stat);
  if (idleStats.sent === 0) {
    const why = failedRounds[0]?.result.error?.message ?? 'no RTT round was run';
    checks.push(errorCheck('rtt', `RTT not measured: ${why}`));
  } else if (idleValue === null) {
    checks.push({
      name: 'rtt',
      verdict: 'FAIL',
      reason: `no reply to any of ${idleStats.sent} probes: the link is down or the reflector does not answer`,
      observed: null,
      limit: link.max_rtt_ms,
      unit: 'ms',
    });
  } else {
    checks.push(upperCheck('rtt', `${stat} RTT`, idleValue, link.max_rtt_ms, 'ms'));
  }
  if (idleStats.sent > 0) {
    checks.push(upperCheck('loss', 'loss', idleStats.loss_percent, link.max_loss_percent, '%'));
  }

  const why = subclusterWhy(link);
  for (const r of m.tcp) {
    const dir = directionLabel(link, r);
    if (r.throughput === null) {
      checks.push(
        errorCheck(`tcp ${dir}`, `TCP goodput ${dir} not measured: ${r.error?.message ?? 'unknown error'}`),
      );
    } else {
      checks.push(
        lowerCheck(
          `tcp ${dir}`,
          `TCP goodput ${dir}`,
          mbps(r.throughput.goodput_bps),
          link.required_mbps,
          why,
        ),
      );
    }
  }
  for (const r of m.udp) {
    const dir = directionLabel(link, r);
    const t = r.throughput;
    if (t === null) {
      checks.push(
        errorCheck(
          `udp ${dir}`,
          `UDP at the required rate ${dir} not measured: ${r.error?.message ?? 'unknown error'}`,
        ),
      );
      continue;
    }
    checks.push(
      upperCheck(
        `udp loss ${dir}`,
        `UDP loss at ${f2(link.required_mbps)} Mbps ${dir}`,
        t.udp_loss_percent ?? 0,
        link.max_loss_percent,
        '%',
      ),
    );
  }

  const loadedStats = pooledRtt(loaded);
  const loadedValue = statisticOf(loadedStats, stat);
  if (loadedStats.sent > 0) {
    if (loadedValue === null) {
      checks.push({
        name: 'rtt under load',
        verdict: 'FAIL',
        reason: `no reply to any of ${loadedStats.sent} probes while the link was loaded`,
        observed: null,
        limit: link.max_rtt_ms,
        unit: 'ms',
      });
    } else {
      checks.push(upperCheck('rtt under load', `${stat} RTT under load`, loadedValue, link.max_rtt_ms, 'ms'));
    }
  }

  let verdict = worst(checks.map((c) => c.verdict));
  if (m.interrupted && verdict !== 'FAIL') verdict = 'ERROR';
  return { link, verdict, checks, interrupted: m.interrupted };
}

/** Exit code of `wanwatch qualify`: 0 every link passes (WARN included), 1 any fails, 2 any could not be judged. */
export function exitCodeFor(verdicts: LinkVerdict[]): 0 | 1 | 2 {
  const w = worst(verdicts.map((v) => v.verdict));
  return w === 'FAIL' ? 1 : w === 'ERROR' ? 2 : 0;
}
