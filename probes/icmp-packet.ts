// ICMP echo packets as the native ICMP probe (probes/icmp-native.ts) writes and reads them: an echo
// request of ping's size (8-byte header + 56 bytes of data, 84 bytes as an IPv4 packet), and the
// replies and errors a raw socket hands over (IPv4 with its IP header, ICMPv6 without).
export const ICMP_PRIVILEGE_HINT =
  'ICMP probes need raw sockets: run wanwatch as root, or allow node to open them with ' +
  '`setcap cap_net_raw+ep $(readlink -f $(which node))` (or use --method tcp / udp)';

/** Bytes of ICMP message per echo request: as iputils ping's default, so both cross a link alike. */
export const ICMP_ECHO_BYTES = 64;

const ECHO_REQUEST = { 4: 8, 6: 128 } as const;
const ECHO_REPLY = { 4: 0, 6: 129 } as const;
const UNREACHABLE = { 4: 3, 6: 1 } as const;
const TIME_EXCEEDED = { 4: 11, 6: 3 } as const;

/** The Internet checksum (RFC 1071) of `b`. */
export function internetChecksum(b: Buffer): number {
  let sum = 0;
  for (let i = 0; i + 1 < b.length; i += 2) sum += b.readUInt16BE(i);
  if (b.length % 2) sum += (b[b.length - 1] as number) << 8;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

/** An echo request; ICMPv6's checksum is left to the kernel (it always computes it on raw ICMPv6 sockets). */
export function encodeEchoRequest(family: 4 | 6, id: number, seq: number): Buffer {
  const b = Buffer.alloc(ICMP_ECHO_BYTES);
  b[0] = ECHO_REQUEST[family];
  b.writeUInt16BE(id, 4);
  b.writeUInt16BE(seq, 6);
  if (family === 4) b.writeUInt16BE(internetChecksum(b), 2);
  return b;
}

export type IcmpReading =
  | { kind: 'reply'; id: number; seq: number }
  | { kind: 'unreachable' | 'time-exceeded'; id: number; seq: number; icmp_code: number };

/** What a raw socket handed over: an echo reply, or an error about one of our requests; else null. */
export function decodeIcmp(family: 4 | 6, b: Buffer): IcmpReading | null {
  const at = family === 4 ? ipHeaderLength(b, 0) : 0;
  if (at < 0 || b.length < at + 8) return null;
  const type = b[at];
  if (type === ECHO_REPLY[family])
    return { kind: 'reply', id: b.readUInt16BE(at + 4), seq: b.readUInt16BE(at + 6) };
  if (type !== UNREACHABLE[family] && type !== TIME_EXCEEDED[family]) return null;
  // The error quotes the IP header and the first 8 bytes of the request it is about.
  const inner = at + 8 + (family === 4 ? ipHeaderLength(b, at + 8) : 40);
  if (inner < at + 8 || b.length < inner + 8 || b[inner] !== ECHO_REQUEST[family]) return null;
  return {
    kind: type === UNREACHABLE[family] ? 'unreachable' : 'time-exceeded',
    id: b.readUInt16BE(inner + 4),
    seq: b.readUInt16BE(inner + 6),
    icmp_code: b[at + 1] as number,
  };
}

function ipHeaderLength(b: Buffer, at: number): number {
  if (b.length < at + 20 || (b[at] as number) >> 4 !== 4) return -1;
  return ((b[at] as number) & 0x0f) * 4;
}
