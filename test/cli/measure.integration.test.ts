// The measuring commands as a user runs them: `wanwatch reflector` in its own process, and `probe`,
// `throughput` and `doctor` against it, on loopback with ephemeral ports.

import { mkdtempSync, symlinkSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa, type ResultPromise } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freeTcpPort } from '../../responder/iperf3-server.ts';
import { rttResultSchema, throughputResultSchema } from '../../shared/result.ts';
import { WANWATCH, wanwatch } from '../support/cli.ts';
import { requireRoot } from '../support/privilege.ts';

const root = requireRoot('ICMP echo needs a raw socket; dropping to an unprivileged user needs root');
const HOST = '127.0.0.5';
let reflector: ResultPromise<{ reject: false }>;
let firstLine = '';
let udpPort = 0;
let iperf3Port = 0;

beforeAll(async () => {
  reflector = execa('node', [WANWATCH, 'reflector', '--address', HOST, '--port', '0', '--iperf3-port', '0'], {
    reject: false,
  });
  firstLine = await new Promise<string>((resolve, reject) => {
    let out = '';
    reflector.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('\n')) resolve(out.split('\n')[0] as string);
    });
    setTimeout(() => reject(new Error(`reflector did not start: ${out}`)), 20_000);
  });
  const m = /UDP echo and TCP on [\d.]+:(\d+), iperf3 server on [\d.]+:(\d+)/.exec(firstLine);
  if (!m) throw new Error(`unexpected first line: ${firstLine}`);
  udpPort = Number(m[1]);
  iperf3Port = Number(m[2]);
});

afterAll(() => {
  reflector?.kill('SIGKILL');
});

describe('wanwatch probe', () => {
  it('prints the Result as JSON for a UDP echo round against `wanwatch reflector`', async () => {
    const r = await wanwatch([
      'probe',
      HOST,
      '--method',
      'udp',
      '--port',
      String(udpPort),
      '--count',
      '4',
      '--interval',
      '20',
      '--json',
    ]);
    expect(r.exitCode).toBe(0);
    const result = rttResultSchema.parse(JSON.parse(r.stdout));
    expect(result).toMatchObject({ method: 'udp', dst: HOST, target: `${HOST}:${udpPort}`, error: null });
    expect(result.rtt).toMatchObject({ sent: 4, received: 4, loss_percent: 0, jitter_method: 'rfc3550' });
  });

  it('prints a short readable summary for a TCP round against the reflector’s TCP port', async () => {
    const r = await wanwatch([
      'probe',
      HOST,
      '--method',
      'tcp',
      '--port',
      String(udpPort),
      '-n',
      '3',
      '-i',
      '10',
    ]);
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toContain(`tcp to ${HOST}:${udpPort}: 3 sent, 3 received, 0 % loss`);
    expect(r.stdout).toMatch(/rtt min\/median\/p95\/max [\d.]+\/[\d.]+\/[\d.]+\/[\d.]+ ms/);
  });

  it.runIf(root)('measures ICMP echo when privileged', async () => {
    const r = await wanwatch(['probe', HOST, '--count', '3', '--interval', '10', '--json']);
    expect(r.exitCode).toBe(0);
    expect(JSON.parse(r.stdout).rtt.received).toBe(3);
  });

  it.runIf(root)(
    'without the raw-socket privilege, reports permission_denied and how to allow it (exit 1)',
    async () => {
      const r = await execa('runuser', ['-u', 'nobody', '--', 'node', WANWATCH, 'probe', HOST, '--json'], {
        reject: false,
      });
      expect(r.exitCode).toBe(1);
      const result = JSON.parse(r.stdout);
      expect(result.error.code).toBe('permission_denied');
      expect(result.error.message).toContain('setcap cap_net_raw+ep $(readlink -f $(which node))');
      expect(result.error.message).toContain('root');
    },
  );

  it('exits 1 with the reason when nothing answers', async () => {
    const port = await freeTcpPort(HOST);
    const r = await wanwatch([
      'probe',
      HOST,
      '--method',
      'tcp',
      '--port',
      String(port),
      '-n',
      '2',
      '-i',
      '10',
    ]);
    expect(r.exitCode).toBe(1);
    expect(r.stdout).toContain('error (refused)');
  });

  it('rejects bad input naming the option, with exit code 2', async () => {
    const bad = await wanwatch(['probe', HOST, '--method', 'ping']);
    expect(bad.exitCode).toBe(2);
    expect(bad.stderr).toContain('--method must be one of icmp, tcp, udp (got "ping")');
    const zero = await wanwatch(['probe', HOST, '--count', '0']);
    expect(zero.exitCode).toBe(2);
    expect(zero.stderr).toContain('--count must be a whole number from 1 to 100000');
  });
});

describe('wanwatch throughput', () => {
  it('prints the iperf3 Result as JSON for a TCP test against the reflector’s iperf3 server', async () => {
    const r = await wanwatch([
      'throughput',
      HOST,
      '--port',
      String(iperf3Port),
      '--duration',
      '1',
      '--omit',
      '0',
      '--json',
    ]);
    expect(r.exitCode).toBe(0);
    const result = throughputResultSchema.parse(JSON.parse(r.stdout));
    expect(result.error).toBeNull();
    expect(result.throughput?.goodput_bps).toBeGreaterThan(0);
  });

  it('runs UDP at a rate written as 2M and prints loss and jitter', async () => {
    const r = await wanwatch([
      'throughput',
      HOST,
      '--port',
      String(iperf3Port),
      '--udp',
      '--rate',
      '2M',
      '--duration',
      '1',
      '--omit',
      '0',
    ]);
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toMatch(
      /iperf3 UDP here → 127\.0\.0\.5:\d+, 1 stream, [\d.]+ s: goodput [\d.]+ Mbit\/s/,
    );
    expect(r.stdout).toMatch(/target 2 Mbit\/s, loss [\d.]+ %, jitter [\d.]+ ms/);
  });

  it('rejects a rate it cannot read, with exit code 2', async () => {
    const r = await wanwatch(['throughput', HOST, '--udp', '--rate', 'fast']);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain('--rate must be a bit rate such as 5M, 500k, 1G or 5000000 (got "fast")');
  });
});

describe('wanwatch doctor', () => {
  it('passes when iperf3 is installed, ICMP is allowed and both ports are free', async () => {
    const [a, b] = [await freeTcpPort('127.0.0.1'), await freeTcpPort('127.0.0.1')];
    const r = await wanwatch([
      'doctor',
      '--address',
      '127.0.0.1',
      '--reflector-port',
      String(a),
      '--iperf3-port',
      String(b),
    ]);
    if (!root) return expect(r.exitCode).toBe(1);
    expect(r.stdout).toContain('ok    iperf3: version 3.');
    expect(r.stdout).toContain(`ok    reflector port ${a}: free on 127.0.0.1 (UDP and TCP)`);
    expect(r.exitCode).toBe(0);
  });

  it('says whether probes are timed by the kernel, and fails (exit 1) when the addon is not used', async () => {
    const args = [
      'doctor',
      '--address',
      '127.0.0.1',
      '--reflector-port',
      String(await freeTcpPort('127.0.0.1')),
    ];
    const built = await wanwatch(args);
    expect(built.stdout).toContain('ok    kernel timestamps: probes are timed by the kernel');
    const off = await wanwatch(args, { env: { WANWATCH_KERNEL_TIMESTAMPS: '0' } });
    expect(off.stdout).toContain(
      'FAIL  kernel timestamps: probes are timed in JavaScript, up to milliseconds high on a busy host: WANWATCH_KERNEL_TIMESTAMPS=0',
    );
    expect(off.stdout).toContain('fix: install g++, make and python3, then reinstall wanwatch');
    expect(off.exitCode).toBe(1);
  });

  it('fails (exit 1) when a port is taken, and says how to find what holds it', async () => {
    const holder: Server = createServer();
    await new Promise<void>((r) => holder.listen({ host: '127.0.0.1', port: 0 }, r));
    const port = (holder.address() as { port: number }).port;
    const r = await wanwatch([
      'doctor',
      '--address',
      '127.0.0.1',
      '--reflector-port',
      String(await freeTcpPort('127.0.0.1')),
      '--iperf3-port',
      String(port),
    ]);
    holder.close();
    expect(r.exitCode).toBe(1);
    expect(r.stdout).toContain(
      `FAIL  iperf3 port ${port}: cannot listen on 127.0.0.1:${port}: TCP (EADDRINUSE)`,
    );
    expect(r.stdout).toContain(`ss -lntup | grep :${port}`);
  });

  it('fails (exit 1) when iperf3 is missing, saying `apt-get install iperf3`', async () => {
    const bin = mkdtempSync(join(tmpdir(), 'wanwatch-nopath-'));
    symlinkSync(process.execPath, join(bin, 'node'));
    const port = String(await freeTcpPort('127.0.0.1'));
    const r = await wanwatch(
      ['doctor', '--address', '127.0.0.1', '--reflector-port', port, '--iperf3-port', port],
      {
        env: { PATH: bin },
      },
    );
    expect(r.exitCode).toBe(1);
    expect(r.stdout).toContain('FAIL  iperf3: not found on PATH');
    expect(r.stdout).toContain('apt-get install iperf3');
  });

  it.runIf(root)('fails (exit 1) for an unprivileged user, naming setcap', async () => {
    const port = String(await freeTcpPort('127.0.0.1'));
    const r = await execa(
      'runuser',
      [
        '-u',
        'nobody',
        '--',
        'node',
        WANWATCH,
        'doctor',
        '--address',
        '127.0.0.1',
        '--reflector-port',
        port,
        '--iperf3-port',
        port,
      ],
      { reject: false },
    );
    expect(r.exitCode).toBe(1);
    expect(r.stdout).toContain('FAIL  ICMP echo');
    expect(r.stdout).toContain('setcap cap_net_raw+ep');
  });
});

describe('wanwatch reflector', () => {
  it('stops cleanly on Ctrl-C, taking its iperf3 server with it', async () => {
    expect(firstLine).toContain('(Ctrl-C to stop)');
    reflector.kill('SIGINT');
    const r = await reflector;
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toMatch(/stopped after answering \d+ echo requests/);
    // Both ports are free again: nothing was left behind.
    const again = await wanwatch([
      'doctor',
      '--address',
      HOST,
      '--reflector-port',
      String(udpPort),
      '--iperf3-port',
      String(iperf3Port),
    ]);
    expect(again.stdout).toContain(`ok    reflector port ${udpPort}`);
    expect(again.stdout).toContain(`ok    iperf3 port ${iperf3Port}`);
  });
});
