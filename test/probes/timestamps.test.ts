// The kernel timestamps addon (probes/native), used directly: received packets carry the kernel's
// receive time, sends write their time into the packet, TCP_INFO gives the handshake's RTT. Where the
// addon was not built the tests are skipped with the reason, except with WANWATCH_REQUIRE_LAB=1 (CI),
// where the lab accuracy tests need it and a missing addon is a failure.
import { connect, createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { kernelTimestamps } from '../../probes/timestamps.ts';

const { native, why } = kernelTimestamps();
const required = process.env.WANWATCH_REQUIRE_LAB === '1';
if (!native && !required) process.stderr.write(`skipping the addon's tests: ${why}\n`);

describe.skipIf(!native && !required)('kernel timestamps addon', () => {
  it('is built and loads', () => {
    expect(why).toBe('');
    expect(native).not.toBeNull();
  });

  it('stamps a send just before it and gives each packet the kernel receive time', async () => {
    if (!native) throw new Error(why);
    const got: { packet: Buffer; kernel: bigint; handler: bigint }[] = [];
    const rx = native.open(
      4,
      'udp',
      (packet, kernel) => got.push({ packet, kernel, handler: native.now() }),
      () => {},
    );
    const port = native.bind(rx, '127.0.0.1', 0);
    const tx = native.open(
      4,
      'udp',
      () => {},
      () => {},
    );
    const before = native.now();
    const sent = native.send(tx, Buffer.alloc(16), '127.0.0.1', port, 8);
    const after = native.now();
    await new Promise((r) => setTimeout(r, 50));
    native.close(rx);
    native.close(tx);
    expect(got).toHaveLength(1);
    const [p] = got;
    expect(sent >= before && sent <= after).toBe(true);
    expect(p?.packet.readBigUInt64BE(8)).toBe(sent);
    // Received after it was sent, and before the handler ran.
    expect((p?.kernel ?? 0n) >= sent).toBe(true);
    expect((p?.kernel ?? 0n) <= (p?.handler ?? 0n)).toBe(true);
  });

  it('reports a refusal on a connected socket as ECONNREFUSED (111), and keeps reading after it', async () => {
    if (!native) throw new Error(why);
    const errors: number[] = [];
    const s = native.open(
      4,
      'udp',
      () => {},
      (e) => errors.push(e),
    );
    native.connect(s, '127.0.0.1', 9);
    native.send(s, Buffer.alloc(8), null, 0, -1);
    await new Promise((r) => setTimeout(r, 50));
    native.close(s);
    expect(errors).toContain(111);
  });

  it("reads TCP_INFO's handshake RTT of a connected socket", async () => {
    if (!native) throw new Error(why);
    const server = createServer((c) => c.destroy());
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const port = (server.address() as { port: number }).port;
    const socket = connect({ host: '127.0.0.1', port });
    await new Promise((r) => socket.once('connect', r));
    const fd = (socket as unknown as { _handle: { fd: number } })._handle.fd;
    const [rtt_us, retransmits] = native.tcpRtt(fd);
    socket.destroy();
    server.close();
    expect(retransmits).toBe(0);
    expect(rtt_us).toBeGreaterThan(0);
    expect(rtt_us).toBeLessThan(10_000);
  });
});
