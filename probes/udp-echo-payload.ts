// The UDP echo payload shared by the udp probe and the reflector (a TWAMP-light-like exchange).
// All integers big-endian; times are nanoseconds of each side's own monotonic clock, so the two clocks
// need not agree: only differences taken on one side, or differences of differences, are used.
//
//   offset size field
//        0    4 magic "WWE1" (0x57 0x57 0x45 0x31)
//        4    1 type: 1 = request (probe → reflector), 2 = reply (reflector → probe)
//        5    3 reserved, zero
//        8    4 round id (random per round; replies from other rounds are ignored)
//       12    4 sequence number, 0-based within the round
//       16    8 T1: probe send time (probe's clock)
//       24    8 T2: reflector receive time (reflector's clock; zero in a request)
//       32    8 T3: reflector send time (reflector's clock; zero in a request)
//       40    … padding (zeros) up to the probe's chosen size; a reply is exactly as long as its request
//
// With T4 the probe's receive time: RTT = (T4 − T1) − (T3 − T2), the reflector's own processing time
// taken out. T2 − T1 is the forward one-way transit plus an unknown but constant clock offset, which
// cancels in the RFC 3550 jitter's differences.
export const ECHO_MAGIC = 0x57574531;
export const ECHO_HEADER_BYTES = 40;
export const ECHO_REQUEST = 1;
export const ECHO_REPLY = 2;

export interface EchoPacket {
  type: typeof ECHO_REQUEST | typeof ECHO_REPLY;
  round_id: number;
  seq: number;
  t1_ns: bigint;
  t2_ns: bigint;
  t3_ns: bigint;
}

export function encodeEchoRequest(
  round_id: number,
  seq: number,
  t1_ns: bigint,
  size = ECHO_HEADER_BYTES,
): Buffer {
  const b = Buffer.alloc(Math.max(ECHO_HEADER_BYTES, size));
  b.writeUInt32BE(ECHO_MAGIC, 0);
  b.writeUInt8(ECHO_REQUEST, 4);
  b.writeUInt32BE(round_id >>> 0, 8);
  b.writeUInt32BE(seq >>> 0, 12);
  b.writeBigUInt64BE(t1_ns, 16);
  return b;
}

/** Decodes a packet; null for anything that is not a well-formed wanwatch echo packet. */
export function decodeEcho(b: Buffer): EchoPacket | null {
  if (b.length < ECHO_HEADER_BYTES || b.readUInt32BE(0) !== ECHO_MAGIC) return null;
  const type = b.readUInt8(4);
  if (type !== ECHO_REQUEST && type !== ECHO_REPLY) return null;
  return {
    type,
    round_id: b.readUInt32BE(8),
    seq: b.readUInt32BE(12),
    t1_ns: b.readBigUInt64BE(16),
    t2_ns: b.readBigUInt64BE(24),
    t3_ns: b.readBigUInt64BE(32),
  };
}

/**
 * Turns a request into its reply in place (same length, so the reflector can never amplify):
 * type → reply, T2 and T3 filled in. Returns false, touching nothing, when `b` is not a request.
 */
export function makeEchoReply(b: Buffer, t2_ns: bigint, t3_ns: bigint): boolean {
  const p = decodeEcho(b);
  if (!p || p.type !== ECHO_REQUEST) return false;
  b.writeUInt8(ECHO_REPLY, 4);
  b.writeBigUInt64BE(t2_ns, 24);
  b.writeBigUInt64BE(t3_ns, 32);
  return true;
}

/** One reply as the probe saw it arrive, with the times it derived (milliseconds). */
export interface EchoArrival {
  seq: number;
  /** (T4 − T1) − (T3 − T2) */
  rtt_ms: number;
  /** T4 − T1: how long after its send the reply arrived (compared with the timeout). */
  wait_ms: number;
  /** T2 − T1: forward transit plus the constant clock offset. */
  transit_ms: number;
  /** T2 on the reflector's clock, in ms: orders the requests as the reflector received them. */
  reflector_rx_ms: number;
}

export function arrivalFrom(p: EchoPacket, t4_ns: bigint): EchoArrival {
  const ms = (ns: bigint) => Number(ns) / 1e6;
  return {
    seq: p.seq,
    rtt_ms: ms(t4_ns - p.t1_ns - (p.t3_ns - p.t2_ns)),
    wait_ms: ms(t4_ns - p.t1_ns),
    transit_ms: ms(p.t2_ns - p.t1_ns),
    reflector_rx_ms: ms(p.t2_ns),
  };
}
