// The one measurement type of wanwatch. An agent produces Results, the wire carries them unchanged,
// the collector stores and evaluates them, and every sink writes them. A failure is a Result too
// (ok: false, with an error code and message), never a crash or a silent gap.
//
// Units are in the field names: *_ms milliseconds, *_bps bits per second, *_percent 0–100.
import { z } from 'zod';

export const ERROR_CODES = [
  'timeout', // no answer within the timeout (a whole round lost is a `timeout` result with loss 100 %)
  'unreachable', // ICMP destination unreachable, EHOSTUNREACH / ENETUNREACH
  'refused', // TCP RST / ECONNREFUSED, iperf3 "connection refused"
  'busy', // iperf3 server busy with another test
  'permission_denied', // raw sockets without root or CAP_NET_RAW
  'dns', // host name did not resolve
  'tool_missing', // iperf3 (or another helper program) not installed
  'tool_error', // iperf3 reported an error or printed something unreadable
  'cancelled', // stopped by the user or by shutdown
  'internal', // a bug in wanwatch: the message says what
] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];

export const resultErrorSchema = z.strictObject({
  code: z.enum(ERROR_CODES),
  message: z.string().max(2000),
});
export type ResultError = z.infer<typeof resultErrorSchema>;

export const JITTER_METHODS = [
  /** RFC 3550 §6.4.1 interarrival jitter (J += (|D| − J)/16) on one-way transit differences (UDP echo). */
  'rfc3550',
  /** Mean absolute difference of consecutive round-trip times (RFC 5481 IPDV), for ICMP and TCP. */
  'rtt-ipdv',
  /** As iperf3 reports it for UDP tests (RFC 1889 smoothing, receiver side). */
  'iperf3',
] as const;
export type JitterMethod = (typeof JITTER_METHODS)[number];

const ms = z.number().min(0);
const nullableMs = ms.nullable();

/** A round of N probes. With nothing received, the RTT fields are null and loss is 100 %. */
export const rttStatsSchema = z.strictObject({
  sent: z.number().int().min(0),
  received: z.number().int().min(0),
  loss_percent: z.number().min(0).max(100),
  rtt_min_ms: nullableMs,
  rtt_median_ms: nullableMs,
  rtt_p95_ms: nullableMs,
  rtt_max_ms: nullableMs,
  rtt_mean_ms: nullableMs,
  rtt_stddev_ms: nullableMs,
  jitter_ms: nullableMs,
  jitter_method: z.enum(JITTER_METHODS),
  /** Per-probe RTT in send order, null where lost; lets the collector compute window statistics exactly. */
  samples_ms: z.array(nullableMs).max(100_000),
  /** UDP echo only: replies that arrived after a later sequence number, and duplicated replies. */
  reordered: z.number().int().min(0).optional(),
  duplicates: z.number().int().min(0).optional(),
});
export type RttStats = z.infer<typeof rttStatsSchema>;

export const throughputStatsSchema = z.strictObject({
  protocol: z.enum(['tcp', 'udp']),
  /** forward: src sends to dst; reverse: dst sends to src (iperf3 -R). */
  direction: z.enum(['forward', 'reverse']),
  streams: z.number().int().min(1),
  duration_ms: ms,
  /** end.sum_received.bits_per_second: what arrived, the goodput the link carries. */
  goodput_bps: z.number().min(0),
  sent_bps: z.number().min(0).nullable(),
  /** UDP: the rate asked for with -b. */
  target_bps: z.number().min(0).nullable(),
  retransmits: z.number().int().min(0).nullable(),
  /** Sender-side smoothed TCP RTT (mean over streams), from iperf3's end.streams[].sender.mean_rtt. */
  sender_rtt_ms: nullableMs,
  udp_jitter_ms: nullableMs,
  udp_loss_percent: z.number().min(0).max(100).nullable(),
  /** Per-interval goodput, one value a second, for charts. */
  intervals_bps: z.array(z.number().min(0)).max(10_000),
});
export type ThroughputStats = z.infer<typeof throughputStatsSchema>;

const common = {
  /** Unique per result (a UUID); the collector stores a result once however often it is sent. */
  id: z.uuid(),
  /** Measuring site, or the host name for one-shot CLI measurements. */
  src: z.string().min(1).max(200),
  /** Measured site, or the host probed. */
  dst: z.string().min(1).max(200),
  /** The address (and port) actually probed, e.g. "127.0.0.2:4789". */
  target: z.string().min(1).max(300),
  /** Start of the measurement, milliseconds since the Unix epoch. */
  time_ms: z.number().int().min(0),
  duration_ms: ms,
  error: resultErrorSchema.nullable(),
};

export const rttResultSchema = z.strictObject({
  ...common,
  kind: z.literal('rtt'),
  method: z.enum(['icmp', 'tcp', 'udp']),
  /** null only when the round could not run at all (error set); a round with 100 % loss has stats. */
  rtt: rttStatsSchema.nullable(),
});
export type RttResult = z.infer<typeof rttResultSchema>;

export const throughputResultSchema = z.strictObject({
  ...common,
  kind: z.literal('throughput'),
  method: z.enum(['iperf3']),
  throughput: throughputStatsSchema.nullable(),
  /** Latency under load: an RTT round run while the throughput test was sending. */
  loaded_rtt: rttStatsSchema.nullable(),
});
export type ThroughputResult = z.infer<typeof throughputResultSchema>;

export const resultSchema = z.discriminatedUnion('kind', [rttResultSchema, throughputResultSchema]);
export type Result = z.infer<typeof resultSchema>;
export type ProbeMethod = RttResult['method'];
