// What an operator may ask of a mesh qualification: each link measured at most
// `collector.qualifications.max_duration`, each throughput test at most `max_test_duration` (the wire
// schema's own bounds are a day and an hour: far more than any link should carry as test traffic), and
// at most a few starts a minute collector-wide, since every start sends traffic between sites.
import { formatDuration } from '../../shared/config/duration.ts';
import type { CollectorConfig } from '../../shared/topology/settings.ts';
import type { QualificationRequest } from '../../shared/wire.ts';
import { HttpError } from '../api/http.ts';
import type { TokenBuckets } from '../api/limits.ts';

/** Throws 400 naming the cap a request goes over, or 429 when starts come too fast; else takes a start. */
export function admitQualification(
  req: QualificationRequest,
  caps: CollectorConfig['qualifications'],
  starts: TokenBuckets,
  now: number,
): void {
  const over: string[] = [];
  if (req.duration_ms > caps.max_duration)
    over.push(
      `duration_ms: ${req.duration_ms} is over the collector's cap of ${caps.max_duration} ms (${formatDuration(caps.max_duration)}, collector.qualifications.max_duration)`,
    );
  if (!req.skip_throughput && req.test_duration_ms > caps.max_test_duration)
    over.push(
      `test_duration_ms: ${req.test_duration_ms} is over the collector's cap of ${caps.max_test_duration} ms (${formatDuration(caps.max_test_duration)}, collector.qualifications.max_test_duration)`,
    );
  if (over.length > 0)
    throw new HttpError(
      400,
      `the qualification asks for more than this collector allows: ${over.join('; ')}. Ask for less (--duration, --test-duration), or raise the cap in the topology file`,
      over,
    );
  const wait = starts.take('qualifications', now);
  if (wait > 0)
    throw new HttpError(
      429,
      `qualifications are started too often; try again in ${formatDuration(Math.ceil(wait / 1000) * 1000)}`,
      undefined,
      { 'retry-after': String(Math.ceil(wait / 1000)) },
    );
}
