// The reflector's hold time is right: it covers everything between the request's arrival in the kernel
// and the reply's send, the reflector's own delays included, so a UDP echo measures the path, not the
// reflector. Shown by keeping the reflector's event loop busy for 50 ms after a request arrived (as a
// garbage collection or a burst of other work would): its T3 − T2 takes the 50 ms, and the RTT the probe
// computes stays the loopback's.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kernelTimestamps } from '../../probes/timestamps.ts';
import { udpProbe } from '../../probes/udp.ts';
import { arrivalFrom, decodeEcho, encodeEchoRequest } from '../../probes/udp-echo-payload.ts';
import { type Reflector, startReflector } from '../../responder/reflector.ts';

const { native, why } = kernelTimestamps();
const required = process.env.WANWATCH_REQUIRE_LAB === '1';
if (!native && !required) process.stderr.write(`skipping the reflector's hold-time tests: ${why}\n`);

describe.skipIf(!native && !required)('reflector hold time', () => {
  let reflector: Reflector;
  beforeAll(async () => {
    reflector = await startReflector({ address: '127.0.0.1', port: 0 });
  });
  afterAll(() => reflector?.close());

  it('takes its T2 from the kernel, so a busy reflector does not lengthen the RTT', async () => {
    if (!native) throw new Error(why);
    expect(reflector.clock).toBe('kernel');
    const replies: { packet: Buffer; t4: bigint }[] = [];
    const s = native.open(
      4,
      'udp',
      (packet, t4) => replies.push({ packet, t4 }),
      () => {},
    );
    native.connect(s, '127.0.0.1', reflector.port);
    native.send(s, encodeEchoRequest(1, 0, 0n, 64), null, 0, 16);
    // The request is in the reflector's socket now; its handler cannot run for 50 ms.
    const until = Date.now() + 50;
    while (Date.now() < until) {}
    await new Promise((r) => setTimeout(r, 50));
    native.close(s);
    expect(replies).toHaveLength(1);
    const p = decodeEcho(replies[0]?.packet ?? Buffer.alloc(0));
    if (!p) throw new Error('no echo reply');
    const a = arrivalFrom(p, replies[0]?.t4 ?? 0n);
    expect(Number(p.t3_ns - p.t2_ns) / 1e6).toBeGreaterThanOrEqual(45);
    expect(a.wait_ms).toBeGreaterThanOrEqual(45);
    expect(a.rtt_ms).toBeGreaterThanOrEqual(0);
    expect(a.rtt_ms).toBeLessThan(2);
  });

  it('a udp round against it reads the loopback’s RTT', async () => {
    const r = await udpProbe(
      { src: 'a', dst: 'b', host: '127.0.0.1', port: reflector.port },
      { count: 20, spacing_ms: 5, timeout_ms: 1000 },
    );
    expect(r.error).toBeNull();
    expect(r.rtt?.received).toBe(20);
    expect(r.rtt?.rtt_median_ms).toBeLessThan(0.5);
  });
});
