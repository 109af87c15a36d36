// Agents of another version against a real collector (its own version: package.json's): requests that
// claim a version in the `wanwatch-version` header or a heartbeat's body, and real in-process agents
// that claim one. The collector takes its own release line and the one before; it refuses others with
// 403 naming both versions and what to upgrade, shows the refusal in the agents view, and the agent
// says so and keeps its spool, so nothing is lost once the versions fit.
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAgent } from '../../../agent/runtime.ts';
import { Spool } from '../../../agent/spool/spool.ts';
import { RTT_PROBES } from '../../../probes/index.ts';
import { runThroughput } from '../../../probes/throughput.ts';
import { startResponder } from '../../../responder/index.ts';
import { createLogger } from '../../../shared/log.ts';
import type { Result } from '../../../shared/result.ts';
import { parseVersion, VERSION_HEADER, WANWATCH_VERSION } from '../../../shared/version.ts';
import type { AgentJson, Heartbeat } from '../../../shared/wire.ts';
import { quietLog } from '../../../testbed/agents.ts';
import type { TestCollector } from '../../../testbed/collector.ts';
import { rttResult } from '../../../testbed/results.ts';
import { wanwatch } from '../../support/cli.ts';
import { startTwoAgentCollector } from '../../support/two-agent-collector.ts';

const TOKEN_A = 'versions-token-a';
const VIEWER = 'versions-viewer';
const own = parseVersion(WANWATCH_VERSION)!;
/** A version of the next release line: 0.(minor+1).0 in 0.x, (major+1).0.0 after. */
const NEXT_LINE = own.major === 0 ? `0.${own.minor + 1}.0` : `${own.major + 1}.0.0`;
/** A version of the line before, when there is one (0.(minor-1).9, or (major-1).9.9). */
const PREVIOUS_LINE =
  own.major === 0
    ? own.minor > 0
      ? `0.${own.minor - 1}.9`
      : undefined
    : own.major > 1
      ? `${own.major - 1}.9.9`
      : undefined;

let c: TestCollector;
let dir: string;

beforeAll(async () => {
  c = await startTwoAgentCollector(
    '{method: udp, interval: 300ms, count: 2, spacing: 10ms, timeout: 100ms}',
    { a: TOKEN_A, b: 'versions-token-b', viewer: VIEWER },
  );
  dir = mkdtempSync(join(tmpdir(), 'wanwatch-versions-'));
});

afterAll(async () => {
  await c?.dispose();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const heartbeat = (version: string): Heartbeat => ({
  site: 'a',
  version,
  time_ms: Date.now(),
  started_at_ms: Date.now() - 1000,
  plan_version: null,
  spool_queued: 0,
  spool_dropped: 0,
  errors: 0,
});

async function request(
  method: 'GET' | 'POST',
  path: string,
  opts: { version?: string; body?: unknown } = {},
): Promise<{ status: number; error?: string }> {
  const res = await fetch(`${c.url}/api/v1${path}`, {
    method,
    headers: {
      authorization: `Bearer ${TOKEN_A}`,
      ...(opts.body === undefined ? {} : { 'content-type': 'application/json' }),
      ...(opts.version === undefined ? {} : { [VERSION_HEADER]: opts.version }),
    },
    ...(opts.body === undefined ? {} : { body: JSON.stringify(opts.body) }),
  });
  const body = (await res.json()) as { error?: string };
  return { status: res.status, ...(body.error === undefined ? {} : { error: body.error }) };
}

async function agentA(): Promise<AgentJson> {
  const res = await fetch(`${c.url}/api/v1/agents`, { headers: { authorization: `Bearer ${VIEWER}` } });
  return ((await res.json()) as { agents: AgentJson[] }).agents.find((x) => x.site === 'a')!;
}

async function until<T>(what: string, check: () => T | undefined | Promise<T | undefined>): Promise<T> {
  const end = Date.now() + 15_000;
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('the collector and agents of other versions', () => {
  it('takes an agent of its own version, and one of the line before', async () => {
    expect((await request('GET', '/plan?site=a', { version: WANWATCH_VERSION })).status).toBe(200);
    expect(
      (await request('POST', '/heartbeat', { version: WANWATCH_VERSION, body: heartbeat(WANWATCH_VERSION) }))
        .status,
    ).toBe(200);
    if (PREVIOUS_LINE !== undefined) {
      expect((await request('GET', '/plan?site=a', { version: PREVIOUS_LINE })).status).toBe(200);
      expect(
        (await request('POST', '/heartbeat', { version: PREVIOUS_LINE, body: heartbeat(PREVIOUS_LINE) }))
          .status,
      ).toBe(200);
    }
    expect((await agentA()).version_refused).toBeNull();
  });

  it('refuses an agent of a later line on every endpoint with 403 naming both versions and the collector to upgrade', async () => {
    for (const [method, path, body] of [
      ['GET', '/plan?site=a', undefined],
      ['GET', '/tasks?site=a', undefined],
      [
        'POST',
        '/results',
        { batch_id: crypto.randomUUID(), site: 'a', results: [rttResult('a', 'b', Date.now(), [1])] },
      ],
      ['POST', '/heartbeat', heartbeat(NEXT_LINE)],
    ] as const) {
      const r = await request(method, path, { version: NEXT_LINE, body });
      expect(r.status, `${method} ${path}`).toBe(403);
      expect(r.error).toContain(
        `version mismatch: the agent of site "a" is wanwatch ${NEXT_LINE}, newer than this collector (${WANWATCH_VERSION})`,
      );
      expect(r.error).toContain('Upgrade the collector to');
    }
    const view = await agentA();
    expect(view.version_refused).toMatchObject({
      version: NEXT_LINE,
      verdict: 'too_new',
      collector_version: WANWATCH_VERSION,
    });
    expect(view.version_refused?.message).toContain('Upgrade the collector');
  });

  it('checks a heartbeat’s own version when the request has no header (agents from before it)', async () => {
    const r = await request('POST', '/heartbeat', { body: heartbeat('1000.0.0') });
    expect(r.status).toBe(403);
    expect(r.error).toContain('wanwatch 1000.0.0, newer than this collector');
    // Other requests without the header are taken: those agents are told by their heartbeats.
    expect((await request('GET', '/plan?site=a')).status).toBe(200);
  });

  it('shows the refusal until the site’s agent is taken again, and takes a version that is not semver', async () => {
    expect((await request('GET', '/plan?site=a', { version: '1000.0.0' })).status).toBe(403);
    expect((await agentA()).version_refused?.version).toBe('1000.0.0');
    expect((await request('GET', '/plan?site=a', { version: WANWATCH_VERSION })).status).toBe(200);
    expect((await agentA()).version_refused).toBeNull();
    // A development build's version has no line to judge by.
    expect((await request('GET', '/plan?site=a', { version: 'dev' })).status).toBe(200);
  });

  it('wanwatch status says which agent is refused and why, and exits 1 until it is taken', async () => {
    expect((await request('GET', '/plan?site=a', { version: NEXT_LINE })).status).toBe(403);
    const env = { WANWATCH_CREDENTIAL: VIEWER };
    const refused = await wanwatch(['status', '--collector', c.url], { env });
    expect(refused.stdout).toContain(
      `agent of site a refused for its version (too new): version mismatch: the agent of site "a" is wanwatch ${NEXT_LINE}`,
    );
    expect(refused.exitCode).toBe(1);
    expect((await request('GET', '/plan?site=a', { version: WANWATCH_VERSION })).status).toBe(200);
    const taken = await wanwatch(['status', '--collector', c.url], { env });
    expect(taken.stdout).not.toContain('refused for its version');
  });

  it('an agent of a later line stops at start saying why, its spool kept; at a version the collector takes, the spool is sent', async () => {
    const dataDir = join(dir, 'agent-a');
    // What an earlier run left in the spool.
    const left = [0, 1, 2].map((i) => rttResult('a', 'b', Date.now() - 30_000 + i, [1.5]));
    const spool = await Spool.open(join(dataDir, 'spool'), { site: 'a' });
    await spool.append(left);
    await spool.close();
    const agent = (version: string) =>
      createAgent(
        {
          rttProbes: RTT_PROBES,
          runThroughput,
          startResponder: (config) => startResponder({ ...config, log: quietLog }),
          log: quietLog,
        },
        { site: 'a', collector: c.url, token: TOKEN_A, dataDir, version, retryMinMs: 100, retryMaxMs: 500 },
      );
    const tooNew = agent(NEXT_LINE);
    const err = await tooNew.start().then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    await tooNew.stop();
    expect(err?.message).toContain(`(403): version mismatch: the agent of site "a" is wanwatch ${NEXT_LINE}`);
    expect(err?.message).toContain('The results in its spool are kept for the next start.');
    expect(err?.message).not.toContain('Check --site');
    expect(
      readdirSync(join(dataDir, 'spool')).filter((f) => f.endsWith('.json') && f !== 'state.json'),
    ).toHaveLength(1);

    const fits = agent(WANWATCH_VERSION);
    await fits.start();
    try {
      await until('the left results stored', () => {
        const ids = new Set(c.store.rttResults('a', 'b', 0).map((r) => r.id));
        return left.every((r) => ids.has(r.id)) ? true : undefined;
      });
    } finally {
      await fits.stop();
    }
  });

  it('a running agent the collector stops taking says so at error, keeps its results in the spool, and sends them all once taken again', async () => {
    // The collector's refusal is real; the switch of version under a running agent is the test's: its
    // requests claim a later line from a moment on, as if the collector had been rolled back beneath it.
    let claim: string | undefined;
    const lines: string[] = [];
    const produced: Result[] = [];
    const send: typeof fetch = (input, init) => {
      const headers = new Headers(init?.headers);
      if (claim !== undefined) headers.set(VERSION_HEADER, claim);
      return fetch(input, { ...init, headers });
    };
    const agent = createAgent(
      {
        rttProbes: RTT_PROBES,
        runThroughput,
        startResponder: (config) => startResponder({ ...config, log: quietLog }),
        log: createLogger({}, (l) => lines.push(l)),
        onResult: (r) => produced.push(r),
        fetch: send,
      },
      {
        site: 'a',
        collector: c.url,
        token: TOKEN_A,
        dataDir: join(dir, 'agent-a-running'),
        version: WANWATCH_VERSION,
        batchMaxDelayMs: 100,
        retryMinMs: 100,
        retryMaxMs: 500,
      },
    );
    await agent.start();
    try {
      claim = NEXT_LINE;
      const refused = await until('the refusal in its log', () =>
        lines.find(
          (l) => l.includes('collector refused the results of site') && l.includes('version mismatch'),
        ),
      );
      expect(JSON.parse(refused).level).toBe('error');
      expect(refused).toContain('Results stay in the spool');
      expect(refused).not.toContain('Check the agent');
      await until('results waiting in the spool', () =>
        agent.stats().spool.queued_results >= 3 ? true : undefined,
      );
      claim = undefined;
      const upTo = produced.length;
      await until('every result produced while refused, stored', () => {
        const ids = new Set(c.store.rttResults('a', 'b', 0).map((r) => r.id));
        return produced.slice(0, upTo).every((r) => ids.has(r.id)) ? true : undefined;
      });
    } finally {
      await agent.stop();
    }
  });
});
