// A mesh qualification (as the collector holds it) judged link by link: what `wanwatch qualify -c FILE
// --collector URL` reports, and what the web console shows for the same run. Pure: the requirements
// come in as `wanwatch plan` derives them (the command derives them from its topology file, the
// console reads them from GET /api/v1/links), so it runs in a terminal and in a browser alike.
import type { RttStatistic } from '../../shared/config/schema.ts';
import type { LinkMeasurements, Qualification } from '../../shared/wire.ts';
import { judgeLink, type LinkRequirementInput } from '../verdict.ts';
import { type LinkReport, linkReport } from './model.ts';

/** A link's requirement, as `wanwatch plan --json` and GET /api/v1/links give it. */
export interface MeshRequirement {
  sites: readonly [string, string];
  subclusters: readonly string[];
  required_mbps: number;
  max_rtt_ms: number;
  max_loss_percent: number;
  derivation: string;
}

/**
 * The report's note that the collector held the monitoring plan's throughput tests at these sites, so
 * that none ran beside the qualification's (collector/plan/hold.ts).
 */
export function monitoringPausedNote(sites: readonly string[]): string {
  return `monitoring throughput tests at ${sites.join(', ')} were paused during this run`;
}

/** Each task's link judged against its requirement; a task that failed is an ERROR. */
export function judgeQualification(
  q: Qualification,
  requirements: readonly MeshRequirement[],
  thresholds: { max_rtt_ms: number; max_loss_percent: number; rtt_statistic: RttStatistic },
): LinkReport[] {
  const paused = q.monitoring_paused ?? [];
  const notes = paused.length > 0 ? [monitoringPausedNote(paused)] : [];
  return q.tasks.map((t) => {
    const req = requirements.find((l) => l.sites[0] === t.site && l.sites[1] === t.peer);
    const link: LinkRequirementInput = {
      from: t.site,
      to: t.peer,
      subclusters: [...(req?.subclusters ?? [])],
      subcluster_count: req?.subclusters.length ?? 0,
      required_mbps: req?.required_mbps ?? 0,
      max_rtt_ms: req?.max_rtt_ms ?? thresholds.max_rtt_ms,
      max_loss_percent: req?.max_loss_percent ?? thresholds.max_loss_percent,
      rtt_statistic: thresholds.rtt_statistic,
      derivation: req?.derivation ?? '',
    };
    const m: LinkMeasurements = t.measurements ?? {
      rounds: [],
      tcp: [],
      udp: [],
      interrupted: t.state !== 'done',
    };
    const verdict = judgeLink(link, m);
    if (t.error !== null) {
      verdict.checks.unshift({
        name: 'task',
        verdict: 'ERROR',
        reason: t.error,
        observed: null,
        limit: null,
        unit: 'ms',
      });
      if (verdict.verdict !== 'FAIL') verdict.verdict = 'ERROR';
    }
    return { ...linkReport(verdict, m), notes };
  });
}
