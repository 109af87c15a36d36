// Failures loopback cannot produce, inside a network namespace this test makes (and removes):
// a neighbour that silently drops everything (198.18.7.2: a static ARP entry on a veth whose other end
// has no address) and a destination with an `unreachable` route (198.18.8.0/24). The real CLI runs
// inside the namespace (`ip netns exec`), so this also shows the probes work in one.
import { randomBytes } from 'node:crypto';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rttResultSchema, throughputResultSchema } from '../../shared/result.ts';
import { WANWATCH } from '../support/cli.ts';
import { requireRoot } from '../support/privilege.ts';

const root = requireRoot('creating a network namespace');
const NS = `wwprobe-${process.pid}-${randomBytes(3).toString('hex')}`;
const SILENT = '198.18.7.2';
const NO_ROUTE = '198.18.8.2';

const ip = (...args: string[]) => execa('ip', args);
const inNs = async (args: string[]) => {
  const r = await execa('ip', ['netns', 'exec', NS, 'node', WANWATCH, ...args, '--json'], {
    reject: false,
    timeout: 30_000,
  });
  return { exitCode: r.exitCode, result: JSON.parse(r.stdout) as unknown, stderr: r.stderr };
};

describe.runIf(root)('probes against a silent neighbour and an unreachable network', () => {
  beforeAll(async () => {
    await ip('netns', 'add', NS);
    await ip('-n', NS, 'link', 'set', 'lo', 'up');
    await ip('-n', NS, 'link', 'add', 'v0', 'type', 'veth', 'peer', 'name', 'v1');
    await ip('-n', NS, 'addr', 'add', '198.18.7.1/24', 'dev', 'v0');
    await ip('-n', NS, 'link', 'set', 'v0', 'up');
    await ip('-n', NS, 'link', 'set', 'v1', 'up');
    await ip('-n', NS, 'neigh', 'add', SILENT, 'lladdr', '02:00:00:00:00:02', 'dev', 'v0');
    await ip('-n', NS, 'route', 'add', 'unreachable', '198.18.8.0/24');
  });

  afterAll(async () => {
    await execa('ip', ['netns', 'del', NS], { reject: false });
  });

  it('icmp: no echo reply is a timeout with 100 % loss, each probe waiting only its own timeout', async () => {
    const r = await inNs(['probe', SILENT, '--count', '4', '--interval', '50', '--timeout', '300']);
    expect(r.exitCode).toBe(1);
    const result = rttResultSchema.parse(r.result);
    expect(result.error?.code).toBe('timeout');
    expect(result.rtt).toMatchObject({ sent: 4, received: 0, loss_percent: 100 });
    expect(result.duration_ms).toBeGreaterThanOrEqual(440);
    expect(result.duration_ms).toBeLessThan(1000);
  });

  it('icmp: a destination without a route is unreachable', async () => {
    const r = await inNs(['probe', NO_ROUTE, '--count', '2', '--interval', '10', '--timeout', '300']);
    expect(rttResultSchema.parse(r.result).error?.code).toBe('unreachable');
  });

  it('tcp: a connect nobody answers is a timeout; one without a route is unreachable', async () => {
    const silent = rttResultSchema.parse(
      (await inNs(['probe', SILENT, '-m', 'tcp', '-p', '80', '-n', '2', '-i', '10', '-t', '300'])).result,
    );
    expect(silent.error?.code).toBe('timeout');
    expect(silent.error?.message).toContain(`${SILENT}:80 within 300 ms`);
    const none = rttResultSchema.parse(
      (await inNs(['probe', NO_ROUTE, '-m', 'tcp', '-p', '80', '-n', '2', '-i', '10', '-t', '300'])).result,
    );
    expect(none.error?.code).toBe('unreachable');
  });

  it('udp: no reflector answering is a timeout; no route is unreachable, never a crash', async () => {
    const silent = await inNs(['probe', SILENT, '-m', 'udp', '-n', '2', '-i', '10', '-t', '300']);
    expect(rttResultSchema.parse(silent.result).error?.code).toBe('timeout');
    const none = await inNs(['probe', NO_ROUTE, '-m', 'udp', '-n', '2', '-i', '10', '-t', '300']);
    expect(none.stderr).not.toContain('unexpected error');
    expect(rttResultSchema.parse(none.result).error?.code).toBe('unreachable');
  });

  it('iperf3: a server that never answers the connect is a timeout result', async () => {
    const r = await inNs(['throughput', SILENT, '--duration', '1', '--omit', '0', '--timeout', '4']);
    expect(r.exitCode).toBe(1);
    const result = throughputResultSchema.parse(r.result);
    expect(result.error?.code).toBe('timeout');
    expect(result.throughput).toBeNull();
  });
});
