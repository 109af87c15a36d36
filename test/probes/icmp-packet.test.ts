import { describe, expect, it } from 'vitest';
import {
  decodeIcmp,
  encodeEchoRequest,
  ICMP_ECHO_BYTES,
  internetChecksum,
} from '../../probes/icmp-packet.ts';

/** An IPv4 header of 20 bytes (no options) in front of `icmp`. */
const ipv4 = (icmp: Buffer) => Buffer.concat([Buffer.from([0x45, ...new Array(19).fill(0)]), icmp]);

describe('ICMP echo packets', () => {
  it('an IPv4 request is ping-sized, with a checksum that sums to zero', () => {
    const b = encodeEchoRequest(4, 0x1234, 0xabcd);
    expect(b.length).toBe(ICMP_ECHO_BYTES);
    expect([b[0], b.readUInt16BE(4), b.readUInt16BE(6)]).toEqual([8, 0x1234, 0xabcd]);
    expect(internetChecksum(b)).toBe(0);
    // RFC 1071's example: the checksum of 00 01 f2 03 f4 f5 f6 f7 is ~0xddf2.
    expect(internetChecksum(Buffer.from([0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7]))).toBe(0x220d);
  });

  it('an ICMPv6 request leaves the checksum to the kernel', () => {
    const b = encodeEchoRequest(6, 7, 9);
    expect([b[0], b.readUInt16BE(2), b.readUInt16BE(4), b.readUInt16BE(6)]).toEqual([128, 0, 7, 9]);
  });

  it('reads a reply after its IP header, and an error about one of our requests', () => {
    const reply = encodeEchoRequest(4, 5, 6);
    reply[0] = 0;
    expect(decodeIcmp(4, ipv4(reply))).toEqual({ kind: 'reply', id: 5, seq: 6 });
    const error = Buffer.concat([Buffer.from([3, 1, 0, 0, 0, 0, 0, 0]), ipv4(encodeEchoRequest(4, 5, 7))]);
    expect(decodeIcmp(4, ipv4(error))).toEqual({ kind: 'unreachable', id: 5, seq: 7, icmp_code: 1 });
    const v6 = Buffer.concat([
      Buffer.from([3, 0, 0, 0, 0, 0, 0, 0]),
      Buffer.alloc(40),
      encodeEchoRequest(6, 1, 2),
    ]);
    expect(decodeIcmp(6, v6)).toEqual({ kind: 'time-exceeded', id: 1, seq: 2, icmp_code: 0 });
  });

  it('ignores what is not an echo reply or an error about an echo request', () => {
    expect(decodeIcmp(4, ipv4(encodeEchoRequest(4, 1, 1)))).toBeNull();
    expect(decodeIcmp(4, Buffer.from([0x45, 0]))).toBeNull();
    const aboutUdp = Buffer.concat([Buffer.from([3, 3, 0, 0, 0, 0, 0, 0]), ipv4(Buffer.alloc(8, 0x11))]);
    expect(decodeIcmp(4, ipv4(aboutUdp))).toBeNull();
  });
});
