// The report of a mesh qualification a collector holds, as `wanwatch qualify` would write it: each link
// judged against its requirement (qualify/report/mesh.ts). The console's Qualifications page and the
// collector's GET /api/v1/qualifications/ID/report.html both build it here, so they say the same.
import type { RttStatistic } from '../../shared/config/schema.ts';
import type { Qualification } from '../../shared/wire.ts';
import { judgeQualification, type MeshRequirement } from './mesh.ts';
import { buildReport, type QualifyReport } from './model.ts';

export function heldReport(
  q: Qualification,
  requirements: readonly MeshRequirement[],
  thresholds: { max_rtt_ms: number; max_loss_percent: number; rtt_statistic: RttStatistic },
  version: string,
  now: number,
): QualifyReport {
  const finished = q.finished_at_ms ?? now;
  return buildReport({
    version,
    mode: 'mesh',
    started_at_ms: q.created_at_ms,
    finished_at_ms: finished,
    duration_ms: finished - q.created_at_ms,
    links: judgeQualification(q, requirements, thresholds),
  });
}
