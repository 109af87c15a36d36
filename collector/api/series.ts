// GET /api/v1/series?src=A&dst=B&from=MS&to=MS[&points=N]: the history of one link direction for charts
// (shared/series-wire.ts), downsampled and cached by collector/store/series.ts. Parameters are checked
// like every other input: a clear 400 naming the parameter, a 404 for a direction that is no link; a
// 503 with Retry-After while the collector is already computing several long series.
import {
  MAX_SERIES_RANGE_MS,
  type SeriesQuery,
  type SeriesReply,
  seriesQuerySchema,
} from '../../shared/series-wire.ts';
import type { LinkRequirement } from '../../shared/topology/requirements.ts';
import { SeriesBusyError, type SeriesCache } from '../store/series.ts';
import { HttpError, zodDetails } from './http.ts';

const USAGE = 'GET /api/v1/series?src=<site>&dst=<site>&from=<ms>&to=<ms>[&points=10..1000]';

export function parseSeriesQuery(params: URLSearchParams): SeriesQuery {
  const raw: Record<string, string> = {};
  for (const [k, v] of params) {
    if (k in raw) throw new HttpError(400, `query parameter "${k}" is given twice; ${USAGE}`);
    raw[k] = v;
  }
  const parsed = seriesQuerySchema.safeParse(raw);
  if (!parsed.success)
    throw new HttpError(400, `bad series query; ${USAGE}`, zodDetails(parsed.error.issues));
  const q = parsed.data;
  if (q.to <= q.from) throw new HttpError(400, `"to" (${q.to}) must be after "from" (${q.from}); ${USAGE}`);
  if (q.to - q.from > MAX_SERIES_RANGE_MS)
    throw new HttpError(
      400,
      `the range is longer than ${MAX_SERIES_RANGE_MS / 86_400_000} days; ask for a shorter one`,
    );
  return q;
}

/** The series of a direction of one of `links`; 404 when src and dst are no link. */
export async function seriesReply(
  cache: SeriesCache,
  links: readonly LinkRequirement[],
  q: SeriesQuery,
): Promise<SeriesReply> {
  const [a, b] = [q.src, q.dst].sort();
  const link = links.find((l) => l.sites[0] === a && l.sites[1] === b);
  if (!link || q.src === q.dst)
    throw new HttpError(404, `no link between "${q.src}" and "${q.dst}" in the topology in force`);
  let body: Awaited<ReturnType<SeriesCache['series']>>;
  try {
    body = await cache.series({ src: q.src, dst: q.dst, fromMs: q.from, toMs: q.to, points: q.points });
  } catch (err) {
    if (err instanceof SeriesBusyError)
      throw new HttpError(503, err.message, undefined, { 'retry-after': '5' });
    throw err;
  }
  return {
    ...body,
    max_rtt_ms: link.max_rtt_ms,
    max_loss_percent: link.max_loss_percent,
    required_bps: link.required_mbps * 1e6,
  };
}
