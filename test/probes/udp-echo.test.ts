import { describe, expect, it } from 'vitest';
import { accountEchoRound } from '../../probes/udp-accounting.ts';
import {
  arrivalFrom,
  decodeEcho,
  ECHO_HEADER_BYTES,
  ECHO_REPLY,
  ECHO_REQUEST,
  type EchoArrival,
  encodeEchoRequest,
  makeEchoReply,
} from '../../probes/udp-echo-payload.ts';
import { rfc3550Jitter } from '../../shared/stats.ts';

describe('UDP echo payload', () => {
  it('lays out magic, type, round id, sequence and T1 at the documented offsets, big-endian', () => {
    const b = encodeEchoRequest(0xdeadbeef, 7, 123_456_789_012n, 64);
    expect(b.length).toBe(64);
    expect(b.subarray(0, 4).toString('latin1')).toBe('WWE1');
    expect(b.readUInt8(4)).toBe(ECHO_REQUEST);
    expect(b.readUInt32BE(8)).toBe(0xdeadbeef);
    expect(b.readUInt32BE(12)).toBe(7);
    expect(b.readBigUInt64BE(16)).toBe(123_456_789_012n);
    expect(b.readBigUInt64BE(24)).toBe(0n);
    expect(b.readBigUInt64BE(32)).toBe(0n);
    expect(b.subarray(40).every((x) => x === 0)).toBe(true);
  });

  it('never makes a request shorter than the 40-byte header', () => {
    expect(encodeEchoRequest(1, 1, 1n, 10).length).toBe(ECHO_HEADER_BYTES);
  });

  it('turns a request into a reply of the same length carrying T2 and T3, and round-trips through decode', () => {
    const b = encodeEchoRequest(42, 3, 1_000n, 100);
    expect(makeEchoReply(b, 5_000n, 5_300n)).toBe(true);
    expect(b.length).toBe(100);
    expect(decodeEcho(b)).toEqual({
      type: ECHO_REPLY,
      round_id: 42,
      seq: 3,
      t1_ns: 1_000n,
      t2_ns: 5_000n,
      t3_ns: 5_300n,
    });
  });

  it('refuses to reflect anything that is not a wanwatch echo request', () => {
    const junk = Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n........................');
    expect(makeEchoReply(junk, 1n, 2n)).toBe(false);
    expect(decodeEcho(Buffer.alloc(39))).toBeNull();
    const reply = encodeEchoRequest(1, 1, 1n);
    makeEchoReply(reply, 2n, 3n);
    const copy = Buffer.from(reply);
    expect(makeEchoReply(reply, 9n, 9n)).toBe(false);
    expect(reply.equals(copy)).toBe(true);
  });

  it('takes the reflector processing time out of the RTT, whatever the offset between the two clocks', () => {
    // Probe sends at 1 ms; reflector clock is 10 s ahead; 2 ms forward, 0.5 ms in the reflector, 3 ms back.
    const t1 = 1_000_000n;
    const t2 = 10_000_000_000n + 3_000_000n;
    const t3 = t2 + 500_000n;
    const t4 = t1 + 2_000_000n + 500_000n + 3_000_000n;
    const a = arrivalFrom({ type: ECHO_REPLY, round_id: 1, seq: 0, t1_ns: t1, t2_ns: t2, t3_ns: t3 }, t4);
    expect(a.rtt_ms).toBeCloseTo(5, 9);
    expect(a.wait_ms).toBeCloseTo(5.5, 9);
    expect(a.transit_ms).toBeCloseTo(10_002, 6);
  });
});

const arrival = (
  seq: number,
  rtt_ms: number,
  reflector_rx_ms = seq * 100,
  transit_ms = 1000 + rtt_ms / 2,
): EchoArrival => ({
  seq,
  rtt_ms,
  wait_ms: rtt_ms,
  transit_ms,
  reflector_rx_ms,
});

describe('UDP echo round accounting', () => {
  it('puts each RTT at its sequence number and leaves lost probes null', () => {
    const r = accountEchoRound(4, [arrival(0, 10), arrival(1, 11), arrival(3, 13)], 1000);
    expect(r.samples_ms).toEqual([10, 11, null, 13]);
    expect(r.reordered).toBe(0);
    expect(r.duplicates).toBe(0);
  });

  it('counts a reply that arrives after a higher sequence number as reordered, not lost', () => {
    const r = accountEchoRound(4, [arrival(0, 10), arrival(2, 10), arrival(1, 30), arrival(3, 10)], 1000);
    expect(r.samples_ms).toEqual([10, 30, 10, 10]);
    expect(r.reordered).toBe(1);
  });

  it('counts duplicated replies once and reports the extra copies', () => {
    const r = accountEchoRound(
      3,
      [arrival(0, 10), arrival(0, 12), arrival(1, 10), arrival(1, 10), arrival(1, 10)],
      1000,
    );
    expect(r.samples_ms).toEqual([10, 10, null]);
    expect(r.duplicates).toBe(3);
  });

  it('treats a reply that came after the timeout as lost', () => {
    const r = accountEchoRound(2, [arrival(0, 10), { ...arrival(1, 10), wait_ms: 2500 }], 2000);
    expect(r.samples_ms).toEqual([10, null]);
  });

  it('ignores sequence numbers outside the round', () => {
    const r = accountEchoRound(2, [arrival(5, 10), arrival(0, 10)], 1000);
    expect(r.samples_ms).toEqual([10, null]);
    expect(r.reordered).toBe(0);
  });

  it('computes RFC 3550 jitter on forward transits in the order the reflector received them', () => {
    const arrivals = [
      arrival(0, 0, 0, 500),
      arrival(2, 0, 200, 504),
      arrival(1, 0, 100, 501),
      arrival(3, 0, 300, 500),
    ];
    const r = accountEchoRound(4, arrivals, 1000);
    expect(r.jitter_ms).toBeCloseTo(rfc3550Jitter([500, 501, 504, 500]), 12);
    // |1|/16 = 0.0625; + (3 − 0.0625)/16; + (4 − J)/16
    let j = 0;
    for (const d of [1, 3, 4]) j += (d - j) / 16;
    expect(r.jitter_ms).toBeCloseTo(j, 12);
  });
});
