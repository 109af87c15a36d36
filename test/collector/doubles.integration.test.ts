// Silent doubles: a second collector on one data directory refuses to start, naming the directory and
// the collector that holds it (the lock goes with the process, however it ends); a second agent for one
// site is flagged in the log and the agents view, and the site's results are refused until one stops;
// requests refused for their token are logged with the remote address, at most a line a minute each.
import { rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, describe, expect, it } from 'vitest';
import { DataDirInUseError } from '../../collector/data-dir-lock.ts';
import { agentsReplySchema } from '../../shared/wire.ts';
import { startFleet, twoLoopbackAgentSites } from '../../testbed/agents.ts';
import { eventually, startTestCollector, tempDir } from '../../testbed/collector.ts';
import { batch, rttResult } from '../../testbed/results.ts';
import { push, TOKEN_A, TOKEN_B, TOKEN_ENV, twoSites } from '../../testbed/topologies.ts';
import { runCollector, WANWATCH, wanwatch } from '../support/cli.ts';

describe('one collector per data directory', () => {
  const dir = tempDir('doubles');
  const config = join(dir, 'topology.yaml');
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('refuses a second collector in the same process, naming the directory and the first one', async () => {
    const first = await startTestCollector(twoSites(), { env: TOKEN_ENV });
    try {
      const second = startTestCollector('', { dir: first.dir, env: TOKEN_ENV, dataDir: first.dataDir });
      await expect(second).rejects.toThrow(DataDirInUseError);
      await expect(second).rejects.toThrow(
        `the data directory ${first.dataDir} is in use by the collector with pid ${process.pid} on host`,
      );
      await expect(second).rejects.toThrow(`listening on ${first.url}`);
      // The first one runs on, unharmed.
      expect((await fetch(`${first.url}/healthz`)).status).toBe(200);
    } finally {
      await first.close();
    }
    // Once it stopped, the directory is free again.
    const again = await startTestCollector('', { dir: first.dir, env: TOKEN_ENV, dataDir: first.dataDir });
    await again.dispose();
    await first.dispose();
  });

  it('refuses a second `wanwatch collector` process (exit 2), and takes over from one killed with -9', async () => {
    writeFileSync(config, twoSites());
    const data = join(dir, 'data');
    const first = await runCollector(['-c', config, '--listen', '127.0.0.1:0', '--data-dir', data]);
    try {
      const second = await wanwatch(
        ['collector', '-c', config, '--listen', '127.0.0.1:0', '--data-dir', data],
        {
          env: TOKEN_ENV,
        },
      );
      expect(second.exitCode).toBe(2);
      expect(second.stderr).toContain(
        `the data directory ${data} is in use by the collector with pid ${first.proc.pid} on host`,
      );
      expect(second.stderr).toContain(`listening on ${first.url}`);
      expect(second.stderr).toContain('Stop that one first, or give this one another data directory');
    } finally {
      first.proc.kill('SIGKILL');
      await first.proc;
    }
    // No stale lock: the operating system dropped it with the process.
    const next = await runCollector(['-c', config, '--listen', '127.0.0.1:0', '--data-dir', data]);
    expect((await fetch(`${next.url}/healthz`)).status).toBe(200);
    next.proc.kill('SIGTERM');
    await next.proc;
  });
});

describe('a second agent for one site', () => {
  it("is flagged in the log and the agents view, and the site's results wait in the spools until one stops", async () => {
    const c = await startTestCollector(
      `${await twoLoopbackAgentSites()}probes:
  rtt: {method: udp, interval: 300ms, count: 2, spacing: 10ms, timeout: 200ms}
  throughput: {enabled: false}
  heartbeat: {interval: 300ms, timeout: 700ms}
`,
      { env: TOKEN_ENV },
    );
    const fleet = await startFleet(
      [
        { site: 'a', token: TOKEN_A },
        { site: 'b', token: TOKEN_B },
      ],
      { collector: c.url, dir: c.dir },
    );
    const storedFromA = () => c.store.rttResults('a', 'b', 0).length;
    const agentA = async () =>
      agentsReplySchema
        .parse(await (await fetch(`${c.url}/api/v1/agents`)).json())
        .agents.find((x) => x.site === 'a');
    try {
      await eventually(() => (storedFromA() > 2 ? true : undefined), 10_000, 'results from a');
      expect((await agentA())?.double).toBeNull();

      // The same site's token, a second process (its responder cannot bind: the first one holds the ports).
      const second = execa(
        'node',
        [WANWATCH, 'agent', '--site', 'a', '--collector', c.url, '--data-dir', join(c.dir, 'second-a')],
        { env: { WANWATCH_TOKEN: TOKEN_A }, reject: false },
      );
      try {
        const double = await eventually(
          async () => (await agentA())?.double ?? undefined,
          20_000,
          'the double',
        );
        expect(double.instances).toHaveLength(2);
        // Each agent process names itself with a random instance id in its heartbeats.
        for (const i of double.instances) expect(i.instance).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-/);
        expect(double.instances.map((i) => i.address)).toEqual(['127.0.0.1', '127.0.0.1']);
        const warning = c.logs.filter((l) => l.includes('two agents are running for site \\"a\\"'));
        expect(warning).toHaveLength(1);
        expect(warning[0]).toContain("The site's results are refused (503; they wait in the agents' spools)");

        // Refused, and retried by the agents: nothing from a is stored meanwhile, b goes on.
        const res = await push(c.url, batch('a', [rttResult('a', 'b', Date.now(), [1])]));
        expect(res.status).toBe(503);
        expect(res.headers.get('retry-after')).toBe('1');
        expect(((await res.json()) as { error: string }).error).toContain(
          'two agents are running for site "a"',
        );
        const held = storedFromA();
        const fromB = c.store.rttResults('b', 'a', 0).length;
        await new Promise((r) => setTimeout(r, 1500));
        expect(storedFromA()).toBe(held);
        expect(c.store.rttResults('b', 'a', 0).length).toBeGreaterThan(fromB);
      } finally {
        second.kill('SIGTERM');
        await second;
      }

      // One agent again: the flag goes, and what the first agent measured meanwhile arrives from its spool.
      await eventually(
        async () => ((await agentA())?.double === null ? true : undefined),
        10_000,
        'no double',
      );
      expect(c.logs.some((l) => l.includes('only one agent sends for site \\"a\\" again'))).toBe(true);
      const mine = fleet.agents.get('a');
      await mine?.drain(20_000);
      const stored = new Set(c.store.rttResults('a', 'b', 0).map((r) => r.id));
      const lost = fleet.produced.filter((r) => r.src === 'a' && r.kind === 'rtt' && !stored.has(r.id));
      expect(lost).toEqual([]);
    } finally {
      await fleet.stop();
      await c.dispose();
    }
  }, 60_000);
});

describe('requests refused for their token', () => {
  it('are logged with the remote address, at most one line per address and interval, with a count', async () => {
    const c = await startTestCollector(twoSites(), { env: TOKEN_ENV, refusalLogIntervalMs: 1000 });
    const refusedFrom = (localAddress: string) =>
      new Promise<number>((resolve, reject) => {
        const body = JSON.stringify(batch('a', [rttResult('a', 'b', Date.now(), [1])]));
        const req = request(
          `${c.url}/api/v1/results`,
          {
            method: 'POST',
            localAddress,
            headers: { authorization: 'Bearer not-a-token', 'content-type': 'application/json' },
          },
          (res) => {
            res.resume();
            resolve(res.statusCode ?? 0);
          },
        );
        req.on('error', reject);
        req.end(body);
      });
    const lines = (address: string) =>
      c.logs.filter((l) => l.includes('"level":"warn"') && l.includes(`"remote_address":"${address}"`));
    try {
      for (let i = 0; i < 5; i++) expect(await refusedFrom('127.0.0.1')).toBe(401);
      expect(await refusedFrom('127.0.0.5')).toBe(401);
      // The first refusal from each address at once; the rest are counted.
      expect(lines('127.0.0.1')).toHaveLength(1);
      expect(lines('127.0.0.1')[0]).toContain(
        "refused an agent request from 127.0.0.1 (401 POST /api/v1/results: the bearer token matches no site's token",
      );
      expect(lines('127.0.0.5')).toHaveLength(1);
      // A token of another site than the one the request names is refused and logged too.
      const other = await fetch(`${c.url}/api/v1/plan?site=a`, {
        headers: { authorization: `Bearer ${TOKEN_B}` },
      });
      expect(other.status).toBe(403);

      await eventually(() => (lines('127.0.0.1').length === 2 ? true : undefined), 3000, 'the count line');
      expect(lines('127.0.0.1')[1]).toContain('refused 5 more agent requests from 127.0.0.1 in the last 1 s');
      expect(lines('127.0.0.1')[1]).toContain('(the latest: 403 GET /api/v1/plan: this request is for site');
      // Nothing more came from 127.0.0.5: no second line for it.
      await new Promise((r) => setTimeout(r, 1200));
      expect(lines('127.0.0.5')).toHaveLength(1);
    } finally {
      await c.dispose();
    }
  });
});
