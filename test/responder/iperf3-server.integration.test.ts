// The supervised iperf3 server (responder/iperf3-server.ts) with the real iperf3 on loopback: it stops a
// server a killed earlier run left in its pid file (and only that one), keeps trying while its port is
// taken, comes back after a restart that failed, and after it is killed, 1 s later the first time.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, describe, expect, it } from 'vitest';
import { runThroughput } from '../../probes/throughput.ts';
import { startResponder } from '../../responder/index.ts';
import { freeTcpPort, type Iperf3Server, startIperf3Server } from '../../responder/iperf3-server.ts';
import { createLogger } from '../../shared/log.ts';

const HOST = '127.0.0.6';
const dir = mkdtempSync(join(tmpdir(), 'wanwatch-iperf3-server-'));
const quiet = createLogger({}, () => {});
const servers: Iperf3Server[] = [];
const others: { kill: () => void }[] = [];

afterAll(async () => {
  await Promise.all(servers.map((s) => s.close()));
  for (const o of others) o.kill();
  rmSync(dir, { recursive: true, force: true });
});

async function start(opts: Partial<Parameters<typeof startIperf3Server>[0]> = {}): Promise<Iperf3Server> {
  const s = await startIperf3Server({ address: HOST, port: 0, log: quiet, ...opts });
  servers.push(s);
  return s;
}

async function until(what: string, check: () => boolean, timeoutMs = 10_000): Promise<number> {
  const t0 = Date.now();
  while (!check()) {
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  return Date.now() - t0;
}

const alive = (pid: number) => {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !/^[^)]*\) [ZX]/.test(stat.slice(stat.lastIndexOf(')')));
  } catch {
    return false;
  }
};

const listenOn = (port: number): Promise<Server> =>
  new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(port, HOST, () => resolve(s));
  });

const oneSecondTest = (port: number) =>
  runThroughput(
    { src: 'test', dst: 'here', host: HOST, port },
    { protocol: 'tcp', duration_ms: 1000, omit_ms: 0, streams: 1, reverse: false },
  );

describe('the supervised iperf3 server', () => {
  it('stops the server a killed earlier run left holding the port (its pid file says which), and starts its own', async () => {
    const port = await freeTcpPort(HOST);
    const pidFile = join(dir, 'left.pid');
    // What an agent killed with SIGKILL leaves: its iperf3 running, recorded in the pid file.
    const argv = ['iperf3', '-s', '-B', HOST, '-p', String(port), '--forceflush'];
    const leftover = execa(argv[0]!, argv.slice(1), { reject: false, buffer: false });
    others.push(leftover);
    await new Promise((r) => setTimeout(r, 300));
    writeFileSync(pidFile, JSON.stringify({ pid: leftover.pid, argv }));
    const s = await start({ port, pidFile });
    expect(s.up).toBe(true);
    expect(alive(leftover.pid!)).toBe(false);
    expect(JSON.parse(readFileSync(pidFile, 'utf8'))).toEqual({ pid: s.pid, argv });
    expect((await oneSecondTest(port)).error).toBeNull();
    await s.close();
    expect(() => readFileSync(pidFile)).toThrow(); // removed on close
  });

  it('leaves alone a process whose pid the file names but that is not that iperf3 (a reused pid)', async () => {
    const pidFile = join(dir, 'reused.pid');
    const other = execa('sleep', ['30'], { reject: false });
    others.push(other);
    writeFileSync(pidFile, JSON.stringify({ pid: other.pid, argv: ['iperf3', '-s', '-p', '5201'] }));
    const s = await start({ pidFile });
    expect(s.up).toBe(true);
    expect(alive(other.pid!)).toBe(true);
  });

  it('keeps trying while its port is taken, saying why, and listens once it is free', async () => {
    const port = await freeTcpPort(HOST);
    const squatter = await listenOn(port);
    const s = await start({ port, keepTrying: true });
    expect(s.up).toBe(false);
    expect(s.lastError).toMatch(/did not start: .*Address already in use/);
    await new Promise<void>((r) => squatter.close(() => r()));
    await until('listening', () => s.up);
    expect((await oneSecondTest(port)).error).toBeNull();
  });

  it('is back 1 s after it is killed, and again after a restart that failed', async () => {
    const s = await start();
    const first = s.pid!;
    process.kill(first, 'SIGKILL');
    const after = await until('restarted', () => s.up && s.pid !== first);
    expect(after).toBeGreaterThanOrEqual(900);
    expect(after).toBeLessThan(3000);
    expect(s.lastError).toContain('stopped');
    // Killed again, and its port taken before the restart (due 2 s later): that restart fails, the
    // next one (4 s after) succeeds once the port is free.
    const second = s.pid!;
    process.kill(second, 'SIGKILL');
    await until('down', () => !s.up);
    const squatter = await listenOn(s.port);
    await until('a failed restart', () => (s.lastError ?? '').includes('did not start'), 5000);
    await new Promise<void>((r) => squatter.close(() => r()));
    await until('back after the failed restart', () => s.up, 10_000);
    expect(s.starts).toBe(4);
  }, 20_000);
});

describe('the responder’s health', () => {
  it('says whether the reflector and iperf3 are up, why not, and how often iperf3 was restarted', async () => {
    const port = await freeTcpPort(HOST);
    const squatter = await listenOn(port);
    const r = await startResponder({
      address: HOST,
      reflector_port: 0,
      iperf3_port: port,
      log: quiet,
      keepTrying: true,
    });
    try {
      expect(r.health()).toMatchObject({
        reflector: { up: true, last_error: null },
        iperf3: { up: false, restarts: 0 },
      });
      expect(r.health().iperf3.last_error).toContain('Address already in use');
      expect(r.iperf3_error).toContain('Address already in use');
      await new Promise<void>((res) => squatter.close(() => res()));
      await until('iperf3 up', () => r.health().iperf3.up);
      expect(r.health().iperf3.restarts).toBeGreaterThanOrEqual(1);
    } finally {
      await r.close();
    }
    expect(r.health().reflector.up).toBe(false);
  });
});
