// The read API's history of one link direction (GET /api/v1/series), for charts such as the console's
// link page. The collector downsamples in SQL (collector/store/series.ts) to at most `points` buckets, so
// a month arrives in under 100 KB; each bucket keeps the spread of what it holds (lowest and highest
// sample, percentiles of the rounds' medians), never an average that would hide a spike. Arrays are
// columns of one table, index i being bucket i, so a chart takes them as they are. Kept beside
// shared/wire.ts, whose other read-API replies it follows.
import { z } from 'zod';
import { ALERT_RULES, type AlertEvent } from './alerts-wire.ts';

/** Most buckets a reply may hold, and the default. */
export const MAX_SERIES_POINTS = 1000;
export const DEFAULT_SERIES_POINTS = 600;
/** Longest range one request may cover (a longer retention is read in several requests). */
export const MAX_SERIES_RANGE_MS = 400 * 24 * 3_600_000;

/** Query of GET /api/v1/series: one direction src → dst over [from_ms, to_ms]. */
export const seriesQuerySchema = z.strictObject({
  src: z.string().min(1).max(200),
  dst: z.string().min(1).max(200),
  from: z.coerce.number().int().min(0),
  to: z.coerce.number().int().min(0),
  points: z.coerce.number().int().min(10).max(MAX_SERIES_POINTS).default(DEFAULT_SERIES_POINTS),
});
export type SeriesQuery = z.infer<typeof seriesQuerySchema>;

const col = z.array(z.number().nullable());

export const seriesReplySchema = z.strictObject({
  src: z.string(),
  dst: z.string(),
  from_ms: z.number(),
  to_ms: z.number(),
  /** Width of one bucket; a bucket's time is its start. */
  bucket_ms: z.number(),
  /** The link's requirement, for the limit lines. */
  max_rtt_ms: z.number(),
  max_loss_percent: z.number(),
  required_bps: z.number(),
  /** RTT rounds src → dst: only buckets that hold at least one round. */
  rtt: z.strictObject({
    time_ms: z.array(z.number()),
    /** Rounds in the bucket, and rounds that could not be made (not evidence about the link). */
    rounds: z.array(z.number()),
    not_measured: z.array(z.number()),
    /** Lowest and highest single sample. */
    min_ms: col,
    max_ms: col,
    /** Percentiles (nearest rank) of the rounds' medians; median_ms is the line, p5–p95 the band. */
    p5_ms: col,
    median_ms: col,
    p95_ms: col,
    /** Probes lost over probes sent in the bucket. */
    loss_percent: col,
    /** Mean of the rounds' jitter. */
    jitter_ms: col,
  }),
  /** Throughput tests whose data flowed src → dst (forward from src, reverse from dst). */
  throughput: z.strictObject({
    time_ms: z.array(z.number()),
    tests: z.array(z.number()),
    failed: z.array(z.number()),
    /** Lowest, highest and mean goodput of the bucket's successful tests, null when all failed. */
    min_bps: col,
    max_bps: col,
    mean_bps: col,
    /** Median RTT measured while the tests were sending (latency under load), mean over the bucket. */
    loaded_rtt_ms: col,
  }),
  /** The link's alert events in the range (both directions: alerts are per link), oldest first. */
  alerts: z.array(
    z.strictObject({
      time_ms: z.number(),
      rule: z.enum(ALERT_RULES),
      status: z.enum(['firing', 'resolved']),
      summary: z.string(),
    }),
  ),
});
export type SeriesReply = z.infer<typeof seriesReplySchema>;
export type SeriesAlert = Pick<AlertEvent, 'time_ms' | 'rule' | 'status' | 'summary'>;
