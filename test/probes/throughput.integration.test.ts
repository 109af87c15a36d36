// Real iperf3 on loopback: the server is the responder's own managed iperf3, the client runs through
// runThroughput. Also the failures: nothing listening, a busy server, a test past its time limit, no
// iperf3 at all, and a server that dies.
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runThroughput, type ThroughputOptions } from '../../probes/throughput.ts';
import { type Responder, startResponder } from '../../responder/index.ts';
import { freeTcpPort } from '../../responder/iperf3-server.ts';
import { createLogger } from '../../shared/log.ts';
import { throughputResultSchema } from '../../shared/result.ts';

const quiet = createLogger({}, () => {});
const tcp1s: ThroughputOptions = {
  protocol: 'tcp',
  duration_ms: 1000,
  omit_ms: 0,
  streams: 1,
  reverse: false,
};
let site: Responder;
let iperf3Port: number;
const target = (port = iperf3Port) => ({ src: 'here', dst: 'there', host: '127.0.0.2', port });

beforeAll(async () => {
  site = await startResponder({ address: '127.0.0.2', reflector_port: 0, iperf3_port: 0, log: quiet });
  if (!site.iperf3) throw new Error(`iperf3 server did not start: ${site.iperf3_error}`);
  iperf3Port = site.iperf3.port;
});

afterAll(async () => {
  await site?.close();
});

describe('runThroughput against the responder’s iperf3 server', () => {
  it('measures a TCP test: goodput, retransmits, sender RTT and one rate per second', async () => {
    const r = await runThroughput(target(), tcp1s);
    expect(throughputResultSchema.parse(r)).toEqual(r);
    expect(r.error).toBeNull();
    expect(r.target).toBe(`127.0.0.2:${iperf3Port}`);
    expect(r.throughput).toMatchObject({ protocol: 'tcp', direction: 'forward', streams: 1 });
    expect(r.throughput?.goodput_bps).toBeGreaterThan(10_000_000);
    expect(r.throughput?.retransmits).not.toBeNull();
    expect(r.throughput?.sender_rtt_ms).toBeGreaterThan(0);
    expect(r.throughput?.intervals_bps).toHaveLength(1);
    expect(r.loaded_rtt).toBeNull();
  });

  it('runs the reverse direction with parallel streams', async () => {
    const r = await runThroughput(target(), { ...tcp1s, reverse: true, streams: 2 });
    expect(r.error).toBeNull();
    expect(r.throughput).toMatchObject({ direction: 'reverse', streams: 2 });
    expect(r.throughput?.goodput_bps).toBeGreaterThan(10_000_000);
  });

  it('sends UDP at the asked-for rate and reports what arrived, jitter and loss', async () => {
    const r = await runThroughput(target(), { ...tcp1s, protocol: 'udp', rate_bps: 5_000_000 });
    expect(r.error).toBeNull();
    expect(r.throughput).toMatchObject({ protocol: 'udp', target_bps: 5_000_000, retransmits: null });
    expect(r.throughput?.goodput_bps).toBeGreaterThan(4_000_000);
    expect(r.throughput?.goodput_bps).toBeLessThan(6_500_000);
    expect(r.throughput?.udp_loss_percent).not.toBeNull();
    expect(r.throughput?.udp_jitter_ms).not.toBeNull();
  });

  it('measures RTT to the same peer while the test sends (latency under load)', async () => {
    const r = await runThroughput(target(), {
      ...tcp1s,
      duration_ms: 2000,
      loadedRtt: { probe: 'udp', count: 8, spacing_ms: 100, port: site.reflector.port },
    });
    expect(r.error).toBeNull();
    expect(r.loaded_rtt).toMatchObject({ sent: 8, received: 8, jitter_method: 'rfc3550' });
    // The round started after the test began and ended before the test did.
    expect(r.duration_ms).toBeGreaterThan(500 + 8 * 100);
  });
});

describe('runThroughput failures are results', () => {
  it('reports a port where no iperf3 server listens as refused, quickly', async () => {
    const port = await freeTcpPort('127.0.0.2');
    const r = await runThroughput(target(port), {
      ...tcp1s,
      loadedRtt: { probe: 'udp', count: 5, spacing_ms: 100, port: site.reflector.port },
    });
    expect(r.error?.code).toBe('refused');
    expect(r.error?.message).toContain(`127.0.0.2:${port}`);
    expect(r.throughput).toBeNull();
    expect(r.loaded_rtt).toBeNull();
    expect(r.duration_ms).toBeLessThan(3000);
  });

  it('reports a server busy with another test as busy once the bounded retries are spent', async () => {
    const other = execa('iperf3', ['-c', '127.0.0.2', '-p', String(iperf3Port), '-t', '3', '-J'], {
      reject: false,
    });
    await new Promise((r) => setTimeout(r, 500));
    const r = await runThroughput(target(), { ...tcp1s, busy_retries: 1, busy_backoff_ms: 300 });
    expect(r.error?.code).toBe('busy');
    expect(r.error?.message).toMatch(/busy.*still busy after 2 tries/);
    await other;
  });

  it('waits out a busy server with backoff and then measures', async () => {
    const other = execa('iperf3', ['-c', '127.0.0.2', '-p', String(iperf3Port), '-t', '1', '-J'], {
      reject: false,
    });
    await new Promise((r) => setTimeout(r, 300));
    const r = await runThroughput(target(), { ...tcp1s, busy_retries: 4, busy_backoff_ms: 500 });
    expect(r.error).toBeNull();
    expect(r.throughput?.goodput_bps).toBeGreaterThan(0);
    expect((await other).stdout).toContain('sum_received');
  });

  it('stops a test that runs past its time limit and reports a timeout', async () => {
    const r = await runThroughput(target(), { ...tcp1s, duration_ms: 5000, timeout: 1000 });
    expect(r.error?.code).toBe('timeout');
    expect(r.duration_ms).toBeLessThan(4000);
    // The killed client must not leave the server busy for the next test.
    const next = await runThroughput(target(), { ...tcp1s, busy_retries: 5, busy_backoff_ms: 500 });
    expect(next.error).toBeNull();
  });

  it('says how to install iperf3 when it is missing', async () => {
    const r = await runThroughput(target(), { ...tcp1s, iperf3_path: '/nonexistent/iperf3' });
    expect(r.error?.code).toBe('tool_missing');
    expect(r.error?.message).toContain('apt-get install iperf3');
  });

  it('refuses a UDP test without a rate, naming the missing option', async () => {
    const r = await runThroughput(target(), { ...tcp1s, protocol: 'udp' });
    expect(r.error).toMatchObject({ code: 'internal' });
    expect(r.error?.message).toContain('rate_bps');
  });
});

describe('the responder', () => {
  it('restarts its iperf3 server when it dies', async () => {
    const server = site.iperf3;
    if (!server) throw new Error('no iperf3 server');
    const pid = server.pid;
    expect(pid).toBeDefined();
    process.kill(pid as number, 'SIGKILL');
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline && (server.starts < 2 || server.pid === undefined))
      await new Promise((r) => setTimeout(r, 100));
    expect(server.starts).toBe(2);
    expect(server.pid).not.toBe(pid);
    await new Promise((r) => setTimeout(r, 200));
    const r = await runThroughput(target(), tcp1s);
    expect(r.error).toBeNull();
  });

  it('stops the iperf3 server and frees both ports on close', async () => {
    const own = await startResponder({ address: '127.0.0.4', reflector_port: 0, iperf3_port: 0, log: quiet });
    const pid = own.iperf3?.pid as number;
    const ports = { reflector: own.reflector.port, iperf3: own.iperf3?.port as number };
    await own.close();
    expect(() => process.kill(pid, 0)).toThrow();
    const again = await startResponder({
      address: '127.0.0.4',
      reflector_port: ports.reflector,
      iperf3_port: ports.iperf3,
      log: quiet,
    });
    expect(again.iperf3_error).toBeNull();
    expect(again.reflector.port).toBe(ports.reflector);
    await again.close();
  });

  it('keeps the reflector running and says why when iperf3 cannot start', async () => {
    const own = await startResponder({
      address: '127.0.0.4',
      reflector_port: 0,
      iperf3_port: 0,
      log: quiet,
      iperf3_path: '/nonexistent/iperf3',
    });
    expect(own.iperf3).toBeNull();
    expect(own.iperf3_error).toContain('apt-get install iperf3');
    expect(own.reflector.port).toBeGreaterThan(0);
    await own.close();
  });
});
