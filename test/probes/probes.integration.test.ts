// Real probes on loopback: ICMP through raw sockets (root), TCP connects and UDP echo against the real
// reflector, on 127.0.0.1 and other 127.0.0.x addresses, with ephemeral ports.
import { createSocket, type Socket } from 'node:dgram';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeIcmpSessions } from '../../probes/icmp.ts';
import { RTT_PROBES } from '../../probes/index.ts';
import { decodeEcho, makeEchoReply } from '../../probes/udp-echo-payload.ts';
import { type Reflector, startReflector } from '../../responder/reflector.ts';
import { type RttResult, rttResultSchema } from '../../shared/result.ts';
import { requireRoot } from '../support/privilege.ts';

const root = requireRoot('ICMP echo needs a raw socket');
const target = (host: string, port?: number) => ({
  src: 'here',
  dst: 'there',
  host,
  ...(port ? { port } : {}),
});

let reflector: Reflector;
let otherReflector: Reflector;
let blackhole: Socket;
let blackholePort: number;

beforeAll(async () => {
  reflector = await startReflector({ address: '127.0.0.1', port: 0 });
  otherReflector = await startReflector({ address: '127.0.0.3', port: 0 });
  // A UDP port where something listens but never answers: a reflector that is down or filtered.
  blackhole = createSocket('udp4');
  await new Promise<void>((r) => blackhole.bind(0, '127.0.0.1', r));
  blackholePort = blackhole.address().port;
});

afterAll(async () => {
  await reflector.close();
  await otherReflector.close();
  blackhole.close();
  closeIcmpSessions();
});

/** A port where a reflector listened and no longer does, as while its agent restarts. */
async function goneReflectorPort(): Promise<number> {
  const gone = await startReflector({ address: '127.0.0.1', port: 0 });
  await gone.close();
  return gone.port;
}

/** A round of 10 probes 50 ms apart (0 … 450 ms) at a reflector's port that listens again from ~120 ms. */
async function roundAcrossRestart(method: 'tcp' | 'udp') {
  const port = await goneReflectorPort();
  let back: Reflector | undefined;
  setTimeout(async () => {
    back = await startReflector({ address: '127.0.0.1', port });
  }, 120);
  const r = await RTT_PROBES[method](
    { ...target('127.0.0.1', port), reflector: true },
    { count: 10, spacing_ms: 50, timeout_ms: 500 },
  );
  await back?.close();
  return r;
}

/** The probes refused before the reflector came back are left out; the ones after it count, none lost. */
function expectNoneLost(r: RttResult): void {
  expect(r.error).toBeNull();
  expect(r.rtt?.loss_percent).toBe(0);
  expect(r.rtt?.received).toBe(r.rtt?.sent);
  expect(r.rtt?.sent).toBeGreaterThanOrEqual(5);
  expect(r.rtt?.sent).toBeLessThan(10);
}

describe('icmp probe', () => {
  it.runIf(root)('measures every echo to 127.0.0.1 with sub-millisecond resolution', async () => {
    const r = await RTT_PROBES.icmp(target('127.0.0.1'), { count: 5, spacing_ms: 20, timeout_ms: 1000 });
    expect(rttResultSchema.parse(r)).toEqual(r);
    expect(r.error).toBeNull();
    expect(r.rtt).toMatchObject({ sent: 5, received: 5, loss_percent: 0, jitter_method: 'rtt-ipdv' });
    expect(r.rtt?.rtt_max_ms).toBeLessThan(20);
    // Date-based timing would give whole milliseconds (mostly 0 or 1) on loopback.
    expect(r.rtt?.samples_ms.some((s) => s !== null && s > 0 && !Number.isInteger(s))).toBe(true);
  });

  it.runIf(root)(
    'probes any 127.0.0.x address, as it would an address inside a network namespace',
    async () => {
      const r = await RTT_PROBES.icmp(target('127.0.0.42'), { count: 3, spacing_ms: 10, timeout_ms: 1000 });
      expect(r.target).toBe('127.0.0.42');
      expect(r.rtt?.received).toBe(3);
    },
  );

  it('reports a host name that does not resolve as a dns error, without sending anything', async () => {
    const r = await RTT_PROBES.icmp(target('no-such-host.invalid'), {
      count: 2,
      spacing_ms: 10,
      timeout_ms: 500,
    });
    expect(r.error?.code).toBe('dns');
    expect(r.error?.message).toContain('no-such-host.invalid');
    expect(r.rtt).toBeNull();
  });
});

describe('tcp probe', () => {
  it('measures connect time to the reflector’s TCP port', async () => {
    const r = await RTT_PROBES.tcp(target('127.0.0.1', reflector.port), {
      count: 5,
      spacing_ms: 20,
      timeout_ms: 1000,
    });
    expect(rttResultSchema.parse(r)).toEqual(r);
    expect(r.error).toBeNull();
    expect(r.target).toBe(`127.0.0.1:${reflector.port}`);
    expect(r.rtt).toMatchObject({ sent: 5, received: 5, loss_percent: 0 });
    expect(r.rtt?.rtt_median_ms).toBeLessThan(20);
  });

  it('reports a closed port that is not a reflector (a tcp_port) as refused with 100 % loss, saying that nothing listens there', async () => {
    const closed = await startReflector({ address: '127.0.0.1', port: 0 });
    const port = closed.port;
    await closed.close();
    const r = await RTT_PROBES.tcp(target('127.0.0.1', port), { count: 3, spacing_ms: 10, timeout_ms: 1000 });
    expect(r.error?.code).toBe('refused');
    expect(r.error?.message).toContain(`nothing listens on TCP port ${port}`);
    expect(r.rtt).toMatchObject({
      sent: 3,
      received: 0,
      loss_percent: 100,
      rtt_median_ms: null,
      jitter_ms: null,
    });
  });

  it("a reflector's closed port: refused, not measured (no figures, nothing lost)", async () => {
    const port = await goneReflectorPort();
    const r = await RTT_PROBES.tcp(
      { ...target('127.0.0.1', port), reflector: true },
      { count: 3, spacing_ms: 10, timeout_ms: 1000 },
    );
    expect(rttResultSchema.parse(r)).toEqual(r);
    expect(r.error?.code).toBe('refused');
    expect(r.error?.message).toMatch(
      /^round not measured: all 3 probes were refused: .*no reflector listens there/,
    );
    expect(r.error?.message).toContain('a refusal is not loss');
    expect(r.rtt).toBeNull();
  });

  it('a reflector that comes back mid-round: the refused probes are left out, the answered ones count, none is lost', async () => {
    expectNoneLost(await roundAcrossRestart('tcp'));
  });
});

describe('udp echo probe', () => {
  it('measures RTT against the real reflector with RFC 3550 jitter, no reordering and no duplicates', async () => {
    const before = reflector.answered;
    const r = await RTT_PROBES.udp(target('127.0.0.1', reflector.port), {
      count: 10,
      spacing_ms: 10,
      timeout_ms: 1000,
    });
    expect(rttResultSchema.parse(r)).toEqual(r);
    expect(r.error).toBeNull();
    expect(r.rtt).toMatchObject({
      sent: 10,
      received: 10,
      loss_percent: 0,
      jitter_method: 'rfc3550',
      reordered: 0,
      duplicates: 0,
    });
    expect(r.rtt?.rtt_p95_ms).toBeLessThan(20);
    expect(r.rtt?.jitter_ms).not.toBeNull();
    expect(reflector.answered - before).toBe(10);
  });

  it('reaches a reflector on another loopback address', async () => {
    const r = await RTT_PROBES.udp(target('127.0.0.3', otherReflector.port), {
      count: 3,
      spacing_ms: 10,
      timeout_ms: 1000,
    });
    expect(r.error).toBeNull();
    expect(r.rtt?.received).toBe(3);
  });

  it('reports no reflector answering as a timeout with 100 % loss, without one lost probe delaying the next', async () => {
    const r = await RTT_PROBES.udp(target('127.0.0.1', blackholePort), {
      count: 5,
      spacing_ms: 50,
      timeout_ms: 400,
    });
    expect(r.error?.code).toBe('timeout');
    expect(r.error?.message).toContain('wanwatch reflector');
    expect(r.rtt).toMatchObject({
      sent: 5,
      received: 0,
      loss_percent: 100,
      samples_ms: [null, null, null, null, null],
    });
    // Sent at 0, 50, …, 200 ms; the last one waits its 400 ms: about 600 ms, not 5 × 400 ms.
    expect(r.duration_ms).toBeGreaterThanOrEqual(590);
    expect(r.duration_ms).toBeLessThan(1500);
  });

  it('reports a closed UDP port (ICMP port unreachable) as refused and not measured: no figures, nothing lost', async () => {
    const port = await goneReflectorPort();
    const r = await RTT_PROBES.udp(target('127.0.0.1', port), { count: 3, spacing_ms: 10, timeout_ms: 300 });
    expect(rttResultSchema.parse(r)).toEqual(r);
    expect(r.error?.code).toBe('refused');
    expect(r.error?.message).toMatch(/^round not measured: all 3 probes were refused: .*port unreachable/);
    expect(r.rtt).toBeNull();
  });

  it('a reflector that comes back mid-round (its agent restarted): the refused probes are left out, none is lost', async () => {
    expectNoneLost(await roundAcrossRestart('udp'));
  });

  it('still counts a probe lost when no refusal came while it was awaited', async () => {
    // A reflector that answers every probe but the third, and refuses nothing: ordinary loss.
    const lossy = await oddReflector((reply, seq, send) => {
      if (seq !== 2) send(reply);
    });
    const r = await RTT_PROBES.udp(target('127.0.0.1', lossy.port), {
      count: 5,
      spacing_ms: 10,
      timeout_ms: 300,
    });
    lossy.close();
    expect(r.error).toBeNull();
    expect(r.rtt).toMatchObject({ sent: 5, received: 4, loss_percent: 20 });
  });

  it('leaves out of a round cut short by its signal the probes not sent and those whose reply was still due', async () => {
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 120);
    // Sent at 0, 50 and 100 ms to a port that never answers; stopped at 120 ms, before any 200 ms timeout.
    const r = await RTT_PROBES.udp(target('127.0.0.1', blackholePort), {
      count: 20,
      spacing_ms: 50,
      timeout_ms: 200,
      signal: ac.signal,
    });
    expect(r.error?.code).toBe('cancelled');
    expect(r.error?.message).toContain('nothing measured');
    expect(r.rtt).toBeNull();
    expect(r.duration_ms).toBeLessThan(1000);
  });

  it('keeps the probes a stopped round had judged, and counts none it had not as lost', async () => {
    const ac = new AbortController();
    // Answered at once; stopped after the third probe, 17 never sent.
    setTimeout(() => ac.abort(), 125);
    const r = await RTT_PROBES.udp(target('127.0.0.1', reflector.port), {
      count: 20,
      spacing_ms: 50,
      timeout_ms: 500,
      signal: ac.signal,
    });
    expect(r.error).toBeNull();
    expect(r.rtt).toMatchObject({ sent: 3, received: 3, loss_percent: 0 });
    expect(r.rtt?.samples_ms).toHaveLength(3);
    expect(r.rtt?.samples_ms.every((s) => s !== null)).toBe(true);
  });

  it.runIf(root)(
    'icmp and tcp: a stopped round is the probes it sent, none counted lost for being unsent',
    async () => {
      for (const method of ['icmp', 'tcp'] as const) {
        const ac = new AbortController();
        setTimeout(() => ac.abort(), 125);
        const r = await RTT_PROBES[method](target('127.0.0.1', reflector.port), {
          count: 20,
          spacing_ms: 50,
          timeout_ms: 500,
          signal: ac.signal,
        });
        expect(r.error, method).toBeNull();
        expect(r.rtt, method).toMatchObject({ sent: 3, received: 3, loss_percent: 0 });
      }
    },
  );
});

describe('every probe', () => {
  it('rejects a round of zero probes as a failed result rather than throwing', async () => {
    for (const probe of Object.values(RTT_PROBES)) {
      const r = await probe(target('127.0.0.1', reflector.port), {
        count: 0,
        spacing_ms: 10,
        timeout_ms: 100,
      });
      expect(r.error?.message).toContain('count must be');
      expect(r.rtt).toBeNull();
    }
  });
});

/**
 * A reflector that misbehaves on purpose, built from the same payload codec as the real one: `handle`
 * gets each request (already turned into a reply, T2 stamped) and decides when and how often to send it.
 */
async function oddReflector(
  handle: (reply: Buffer, seq: number, send: (b: Buffer) => void) => void,
): Promise<{ port: number; close: () => void }> {
  const sock = createSocket('udp4');
  await new Promise<void>((r) => sock.bind(0, '127.0.0.1', r));
  sock.on('message', (msg, rinfo) => {
    const t2 = process.hrtime.bigint();
    if (!makeEchoReply(msg, t2, t2)) return;
    const seq = decodeEcho(msg)?.seq ?? 0;
    handle(msg, seq, (b) => {
      b.writeBigUInt64BE(process.hrtime.bigint(), 32);
      sock.send(b, rinfo.port, rinfo.address);
    });
  });
  return { port: sock.address().port, close: () => sock.close() };
}

describe('udp echo probe against reflectors that delay, duplicate and reorder', () => {
  it('takes the time a reflector holds a request out of the RTT', async () => {
    const slow = await oddReflector((reply, _seq, send) => setTimeout(() => send(reply), 40));
    const r = await RTT_PROBES.udp(target('127.0.0.1', slow.port), {
      count: 4,
      spacing_ms: 10,
      timeout_ms: 1000,
    });
    slow.close();
    expect(r.rtt?.received).toBe(4);
    // Each reply came back 40+ ms after its request; what is left after T3 − T2 is the loopback trip.
    expect(r.duration_ms).toBeGreaterThan(40 + 3 * 10);
    expect(r.rtt?.rtt_max_ms).toBeLessThan(10);
  });

  it('counts duplicated replies without counting them as received twice', async () => {
    const dup = await oddReflector((reply, _seq, send) => {
      send(Buffer.from(reply));
      send(Buffer.from(reply));
    });
    const r = await RTT_PROBES.udp(target('127.0.0.1', dup.port), {
      count: 5,
      spacing_ms: 10,
      timeout_ms: 500,
    });
    dup.close();
    expect(r.rtt).toMatchObject({ sent: 5, received: 5, loss_percent: 0, duplicates: 5, reordered: 0 });
  });

  it('counts a reply overtaken by a later one as reordered, and still received', async () => {
    const held: Buffer[] = [];
    const reorder = await oddReflector((reply, seq, send) => {
      if (seq === 1) held.push(reply);
      else {
        send(reply);
        if (seq === 2) for (const h of held.splice(0)) send(h);
      }
    });
    const r = await RTT_PROBES.udp(target('127.0.0.1', reorder.port), {
      count: 4,
      spacing_ms: 20,
      timeout_ms: 500,
    });
    reorder.close();
    expect(r.rtt).toMatchObject({ sent: 4, received: 4, reordered: 1, duplicates: 0 });
  });

  it('loses a reply that comes back after its timeout', async () => {
    const late = await oddReflector((reply, seq, send) => setTimeout(() => send(reply), seq === 0 ? 400 : 0));
    const r = await RTT_PROBES.udp(target('127.0.0.1', late.port), {
      count: 3,
      spacing_ms: 10,
      timeout_ms: 200,
    });
    late.close();
    expect(r.rtt?.samples_ms[0]).toBeNull();
    expect(r.rtt).toMatchObject({ sent: 3, received: 2 });
    expect(r.rtt?.loss_percent).toBeCloseTo(33.333, 2);
  });
});
