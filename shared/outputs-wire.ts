// The read API's reply about the collector's outputs (GET /api/v1/outputs): each InfluxDB output, whether
// it writes, and the rows it set aside because InfluxDB refused them (collector/sinks/refused.ts). Kept
// beside shared/wire.ts, whose other read-API replies it follows.
import { z } from 'zod';

export const refusedRowSchema = z.strictObject({
  stream: z.enum(['results', 'link_status', 'alert_events', 'agent_heartbeats']),
  /** The row's seq in the store's table of that stream. */
  seq: z.number().int(),
  /** When it was set aside. */
  time_ms: z.number(),
  reason: z.string(),
  /** The line protocol sent; null when the row could not be written as a line at all. */
  line: z.string().nullable(),
});
export type RefusedRowJson = z.infer<typeof refusedRowSchema>;

export const outputJsonSchema = z.strictObject({
  name: z.string(),
  url: z.string(),
  /** Writes fail (InfluxDB away, a wrong token): nothing is lost, it retries from where it stopped. */
  failing: z.boolean(),
  failing_since_ms: z.number().nullable(),
  last_error: z.string().nullable(),
  /** Points written since the collector started. */
  points_written: z.number().int().min(0),
  /** Rows InfluxDB refused for good (or that cannot be line protocol), set aside: ever, and since start. */
  refused_rows: z.number().int().min(0),
  refused_since_start: z.number().int().min(0),
  /** The latest rows set aside, newest first (the store keeps the newest 10,000 per output). */
  refused_recent: z.array(refusedRowSchema),
});
export type OutputJson = z.infer<typeof outputJsonSchema>;

export const outputsReplySchema = z.strictObject({ outputs: z.array(outputJsonSchema) });
export type OutputsReply = z.infer<typeof outputsReplySchema>;
