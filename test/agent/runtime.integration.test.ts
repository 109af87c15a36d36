// The agent runtime against the real collector (in-process, its own SQLite store): plan, push, spool
// through an outage, a lost acknowledgement, restarts on both sides, wrong token, re-planning from an
// edited topology file, heartbeats and shutdown. The RTT probe, the throughput runner and the responder
// are stand-ins that answer at once, so these tests are about the runtime; the real ones run in
// agent-real-probes, agent-collector and collector-agents.
import { randomUUID } from 'node:crypto';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  type Agent,
  AgentDeniedError,
  type AgentDeps,
  createAgent,
  type ResponderConfig,
  type ThroughputOptions,
  type ThroughputTarget,
} from '../../agent/runtime.ts';
import { type RunningCollector, startCollector } from '../../collector/collector.ts';
import type { RttProbe } from '../../probes/types.ts';
import { createLogger } from '../../shared/log.ts';
import type { Result } from '../../shared/result.ts';
import { freePort } from '../../testbed/ports.ts';
import { instantRound } from '../support/agent-results.ts';
import { type LossyProxy, startLossyProxy } from '../support/lossy-proxy.ts';

const quiet = createLogger({}, () => {});
const TOKENS = {
  WW_TOKEN_A: 'runtime-token-a',
  WW_TOKEN_B: 'runtime-token-b',
  WW_TOKEN_C: 'runtime-token-c',
  WW_VIEWER: 'runtime-viewer',
};

interface TopologyOpts {
  aAddress?: string;
  withC?: boolean;
  throughput?: string;
  rttInterval?: string;
}

/** Site a runs the agent under test; b and c are its peers. */
function topology(o: TopologyOpts = {}): string {
  const withC = o.withC ?? true;
  return `sites:
  a: {address: ${o.aAddress ?? '127.0.0.1'}, token_env: WW_TOKEN_A, reflector_port: 40001, iperf3_port: 40002}
  b: {address: 127.0.0.2, token_env: WW_TOKEN_B, reflector_port: 40011, iperf3_port: 40012}
${withC ? '  c: {address: 127.0.0.3, token_env: WW_TOKEN_C, reflector_port: 40021, iperf3_port: 40022}\n' : ''}clusters:
  east:
    subclusters:
      sc1: {nodes: {n1: a, n2: b}}
${withC ? '      sc2: {nodes: {n3: a, n4: c}}\n' : ''}probes:
  rtt: {method: udp, interval: ${o.rttInterval ?? '100ms'}, count: 3, spacing: 1ms, timeout: 50ms}
  throughput: ${o.throughput ?? '{enabled: false}'}
  heartbeat: {interval: 200ms, timeout: 1s}
collector: {credentials: [{name: test, role: viewer, token_env: WW_VIEWER}]}
`;
}

/** A stand-in RTT probe: answers at once with a well-formed round. */
const standInProbe: RttProbe = async (target, opts) => ({
  id: randomUUID(),
  kind: 'rtt',
  method: 'udp',
  src: target.src,
  dst: target.dst,
  target: `${target.host}:${target.port}`,
  time_ms: Date.now(),
  duration_ms: 1,
  error: null,
  rtt: instantRound(opts.count),
});

interface Harness {
  deps: AgentDeps;
  produced: Result[];
  responders: { config: ResponderConfig; closed: boolean }[];
  throughputCalls: { target: ThroughputTarget; opts: ThroughputOptions }[];
}

function harness(probe: RttProbe = standInProbe): Harness {
  const produced: Result[] = [];
  const responders: Harness['responders'] = [];
  const throughputCalls: Harness['throughputCalls'] = [];
  return {
    produced,
    responders,
    throughputCalls,
    deps: {
      rttProbes: { icmp: probe, tcp: probe, udp: probe },
      runThroughput: async (target, opts) => {
        throughputCalls.push({ target, opts });
        return {
          id: randomUUID(),
          kind: 'throughput',
          method: 'iperf3',
          src: target.src,
          dst: target.dst,
          target: `${target.host}:${target.port}`,
          time_ms: Date.now(),
          duration_ms: opts.duration_ms,
          error: { code: 'refused', message: 'stand-in runner: no iperf3 server here' },
          throughput: null,
          loaded_rtt: null,
        };
      },
      startResponder: (config) => {
        const r = { config, closed: false };
        responders.push(r);
        return {
          close: () => {
            r.closed = true;
          },
        };
      },
      log: quiet,
      onResult: (r) => produced.push(r),
    },
  };
}

async function until(what: string, cond: () => boolean, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

let dir: string;
let configPath: string;
let port: number;
let collector: RunningCollector | undefined;
let proxy: LossyProxy | undefined;
const agents: Agent[] = [];

/** Starts the real collector on `port`, on the same data dir each time (a restart). */
async function startTheCollector(): Promise<RunningCollector> {
  collector = await startCollector({
    configPath,
    listen: `127.0.0.1:${port}`,
    dataDir: join(dir, 'collector'),
    env: TOKENS,
    planRefreshMs: 100,
    evaluateIntervalMs: 60_000,
    log: quiet,
  });
  return collector;
}

async function stopTheCollector(): Promise<void> {
  await collector?.close();
  collector = undefined;
}

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'wanwatch-agent-'));
  configPath = join(dir, 'topology.yaml');
  await writeFile(configPath, topology());
  port = await freePort();
});

afterEach(async () => {
  for (const a of agents.splice(0)) await a.stop();
  await proxy?.close();
  proxy = undefined;
  await stopTheCollector();
  await rm(dir, { recursive: true, force: true });
});

function agent(h: Harness, over: Partial<Parameters<typeof createAgent>[1]> = {}): Agent {
  const a = createAgent(h.deps, {
    site: 'a',
    collector: `http://127.0.0.1:${port}`,
    token: TOKENS.WW_TOKEN_A,
    dataDir: join(dir, 'agent-a'),
    batchMaxResults: 10,
    batchMaxDelayMs: 30,
    retryMinMs: 30,
    retryMaxMs: 200,
    requestTimeoutMs: 2000,
    version: 'test',
    ...over,
  });
  agents.push(a);
  return a;
}

/** Result ids the collector stored from site a, sorted. */
function storedIds(): string[] {
  const c = collector!;
  return [...c.store.rttResults('a', 'b', 0), ...c.store.rttResults('a', 'c', 0)].map((r) => r.id).sort();
}
const ids = (rs: Result[]) => rs.map((r) => r.id).sort();

/** Stops measuring and waits until everything the agent produced has been acknowledged. */
async function quiesce(a: Agent): Promise<void> {
  expect(await a.drain(10_000)).toBe(true);
  expect(a.stats()).toMatchObject({ in_flight: 0, batching: 0, spool: { queued_results: 0 } });
}

describe('wanwatch agent runtime, with the real collector', () => {
  it('fetches its plan, starts its responder on the plan’s address, and measures every peer each interval', async () => {
    await startTheCollector();
    const h = harness();
    const a = agent(h);
    await a.start();
    expect(h.responders.map((r) => r.config)).toEqual([
      { address: '127.0.0.1', reflector_port: 40001, iperf3_port: 40002 },
    ]);
    await until('six results stored', () => storedIds().length >= 6);
    const rtt = h.produced.filter((r) => r.kind === 'rtt');
    expect(new Set(rtt.map((r) => r.dst))).toEqual(new Set(['b', 'c']));
    // The peers are spread over the interval: b and c rounds start about half an interval apart.
    const phase = (dst: string) => median(rtt.filter((r) => r.dst === dst).map((r) => r.time_ms % 100));
    expect(Math.abs(phase('c') - phase('b'))).toBeGreaterThanOrEqual(30);
    expect(Math.abs(phase('c') - phase('b'))).toBeLessThanOrEqual(70);
  });

  it('stores every result exactly once across a collector outage, and resends the spool in order', async () => {
    await startTheCollector();
    proxy = await startLossyProxy(`http://127.0.0.1:${port}`);
    const h = harness();
    const a = agent(h, { collector: proxy.url });
    await a.start();
    await until('results flowing', () => storedIds().length >= 4);
    await stopTheCollector();
    const atOutage = h.produced.length;
    await until('results spooled while the collector is away', () => a.stats().spool.queued_results >= 10);
    expect((await readdir(join(dir, 'agent-a', 'spool'))).some((n) => n.endsWith('.json'))).toBe(true);
    await startTheCollector();
    await until('more results after the return', () => h.produced.length >= atOutage + 20);
    await quiesce(a);
    expect(storedIds()).toEqual(ids(h.produced));
    // What reached the collector, in arrival order (first sight of each result), is production order.
    const seen = new Set<string>();
    const arrival: string[] = [];
    for (const f of proxy.forwarded.filter((x) => x.path === '/api/v1/results')) {
      for (const r of (JSON.parse(f.body) as { results: Result[] }).results) {
        if (!seen.has(r.id)) arrival.push(r.id);
        seen.add(r.id);
      }
    }
    expect(arrival).toEqual(h.produced.map((r) => r.id));
  });

  it('resends a batch whose acknowledgement was lost with the same batch_id, and it is stored once', async () => {
    await startTheCollector();
    proxy = await startLossyProxy(`http://127.0.0.1:${port}`);
    proxy.loseAnswers('/api/v1/results', 1);
    const h = harness();
    const a = agent(h, { collector: proxy.url });
    await a.start();
    const posts = () => proxy!.forwarded.filter((x) => x.path === '/api/v1/results');
    await until('the batch resent', () => posts().length >= 2);
    const batchId = (i: number) => (JSON.parse(posts()[i]!.body) as { batch_id: string }).batch_id;
    expect(batchId(1)).toBe(batchId(0));
    await quiesce(a);
    expect(storedIds()).toEqual(ids(h.produced));
  });

  it('keeps its spool across an agent restart and sends it when the collector is back', async () => {
    const h1 = harness();
    const first = agent(h1);
    await startTheCollector();
    await first.start();
    await stopTheCollector();
    await until('results spooled', () => first.stats().spool.queued_results >= 5);
    await first.stop();
    const spooled = first.stats().spool.queued_results;
    expect(spooled).toBeGreaterThanOrEqual(5);
    // A new agent process on the same data dir, with the collector back.
    await startTheCollector();
    const h2 = harness();
    const second = agent(h2);
    await second.start();
    await quiesce(second);
    expect(storedIds()).toEqual(ids([...h1.produced, ...h2.produced]));
  });

  it('drops the oldest results past --spool-max-results and reports the count in its heartbeat', async () => {
    await startTheCollector();
    const h = harness();
    const a = agent(h, { spoolMaxResults: 5 });
    await a.start();
    await stopTheCollector();
    await until('the spool bound exceeded', () => a.stats().spool.dropped >= 5);
    expect(a.stats().spool.queued_results).toBeLessThanOrEqual(5);
    await startTheCollector();
    const heartbeat = () => collector!.store.agents().find((x) => x.site === 'a')?.heartbeat;
    await until('a heartbeat with the drop count', () => (heartbeat()?.spool_dropped ?? 0) >= 5);
    expect(heartbeat()).toMatchObject({ site: 'a', version: 'test' });
    expect(heartbeat()?.plan_version).toBe(a.stats().plan_version);
  });

  it('keeps retrying while the collector is unreachable at start, then runs', async () => {
    const h = harness();
    const a = agent(h);
    const started = a.start();
    await new Promise((r) => setTimeout(r, 300));
    expect(a.currentPlan).toBeUndefined();
    await startTheCollector();
    await started;
    expect(a.currentPlan?.site).toBe('a');
  });

  it('refuses to start with the collector’s message when the token is wrong or the site is not its own', async () => {
    await startTheCollector();
    const wrong = agent(harness(), { token: 'nope' });
    const err = await wrong.start().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AgentDeniedError);
    expect((err as AgentDeniedError).status).toBe(401);
    expect((err as Error).message).toContain('the bearer token matches no site');
    expect((err as Error).message).toContain('sites.a.token_env or token_sha256');
    const other = agent(harness(), { site: 'z', dataDir: join(dir, 'agent-z') });
    const err2 = await other.start().catch((e: unknown) => e);
    expect((err2 as AgentDeniedError).status).toBe(403);
    expect((err2 as Error).message).toContain('"z" (not a site in the topology)');
  });

  it('keeps results in the spool while the collector refuses its token, says what to check, and does not loop hot', async () => {
    const logs: string[] = [];
    const h = harness();
    h.deps.log = createLogger({}, (line) => logs.push(line));
    await startTheCollector();
    proxy = await startLossyProxy(`http://127.0.0.1:${port}`);
    const a = agent(h, { collector: proxy.url, retryMaxMs: 500 });
    await a.start();
    await until('results flowing', () => storedIds().length >= 2);
    // The collector comes back with other tokens: site a's is no longer accepted.
    await stopTheCollector();
    collector = await startCollector({
      configPath,
      listen: `127.0.0.1:${port}`,
      dataDir: join(dir, 'collector'),
      env: { ...TOKENS, WW_TOKEN_A: 'rotated-token' },
      planRefreshMs: 100,
      evaluateIntervalMs: 60_000,
      log: quiet,
    });
    await until('the refusal logged', () => logs.some((l) => l.includes('collector refused the results')));
    const refusal = logs.find((l) => l.includes('collector refused the results')) ?? '';
    expect(refusal).toMatch(/of site \\?"a\\?" \(401/);
    expect(refusal).toContain('sites.a.token_env or token_sha256');
    const postsBefore = proxy.forwarded.filter((f) => f.path === '/api/v1/results').length;
    await new Promise((r) => setTimeout(r, 1500));
    const postsDuring = proxy.forwarded.filter((f) => f.path === '/api/v1/results').length - postsBefore;
    expect(postsDuring).toBeLessThanOrEqual(4); // one try per 0.5 s backoff, not a hot loop
    expect(a.stats().spool.queued_results).toBeGreaterThan(0);
    // The token is accepted again: everything spooled meanwhile arrives.
    await stopTheCollector();
    await startTheCollector();
    await quiesce(a);
    expect(storedIds()).toEqual(ids(h.produced));
  });

  it('re-plans when the topology file changes, without a restart: peers and responder address follow', async () => {
    await startTheCollector();
    const h = harness();
    const a = agent(h);
    await a.start();
    await until('measuring b and c', () => storedIds().length >= 4);
    const before = a.stats().plan_version;
    await writeFile(configPath, topology({ aAddress: '127.0.0.9', withC: false }));
    await until('re-planned', () => a.stats().plan_version !== before, 15_000);
    const mark = h.produced.length;
    await until('measuring again', () => h.produced.length >= mark + 5);
    // Rounds already running when the plan changed may finish; everything after is to b only.
    expect(h.produced.slice(mark + 2).every((r) => r.dst === 'b')).toBe(true);
    expect(h.responders.map((r) => [r.config.address, r.closed])).toEqual([
      ['127.0.0.1', true],
      ['127.0.0.9', false],
    ]);
  });

  it('keeps measuring when its responder cannot start, counts the error, and retries at the next plan refresh', async () => {
    await startTheCollector();
    const h = harness();
    const start = h.deps.startResponder;
    let attempts = 0;
    h.deps.startResponder = (config) => {
      attempts += 1;
      if (attempts === 1) throw new Error('listen EADDRINUSE: address already in use 127.0.0.1:40001');
      return start(config);
    };
    const a = agent(h);
    await a.start();
    await until('results despite the responder', () => storedIds().length >= 2);
    await until('the responder started on a later refresh', () => h.responders.length === 1);
    expect(attempts).toBe(2);
    expect(a.stats().errors_total).toBe(1);
  });

  it('turns a probe that throws into an internal error Result and counts it in the heartbeat', async () => {
    await startTheCollector();
    const h = harness(async () => {
      throw new Error('boom');
    });
    const a = agent(h);
    await a.start();
    const heartbeat = () => collector!.store.agents().find((x) => x.site === 'a')?.heartbeat;
    await until('an error counted in a heartbeat', () => (heartbeat()?.errors ?? 0) > 0);
    await until('an error result stored', () => storedIds().length > 0);
    const r = collector!.store.rttResults('a', 'b', 0)[0] ?? collector!.store.rttResults('a', 'c', 0)[0];
    expect(r?.error?.code).toBe('internal');
    expect(r?.error?.message).toContain('boom');
  });

  it('runs its throughput slot as client: UDP at the link’s required rate, both directions, with a loaded RTT round', async () => {
    await writeFile(
      configPath,
      topology({
        withC: false,
        rttInterval: '1h',
        throughput: '{interval: 1s, duration: 1s, omit: 0s, protocol: udp, reverse: true}',
      }),
    );
    await startTheCollector();
    const h = harness();
    const a = agent(h);
    await a.start();
    const slot = a.currentPlan?.throughput.slots[0];
    expect(slot).toMatchObject({ client: 'a', peer: 'b', required_bps: 5_000_000 });
    // The cycle is one round: 2 × 1 s of tests plus the collector's 5 s margin (7 s).
    await until('a forward and a reverse test', () => h.throughputCalls.length >= 2, 15_000);
    expect(
      h.throughputCalls.slice(0, 2).map((c) => [c.target, c.opts.protocol, c.opts.rate_bps, c.opts.reverse]),
    ).toEqual([
      [{ src: 'a', dst: 'b', host: '127.0.0.2', port: 40012 }, 'udp', 5_000_000, false],
      [{ src: 'a', dst: 'b', host: '127.0.0.2', port: 40012 }, 'udp', 5_000_000, true],
    ]);
    // The loaded round uses the plan's RTT method against the peer's reflector.
    expect(h.throughputCalls[0]?.opts.loadedRtt).toEqual({
      probe: 'udp',
      count: 3,
      spacing_ms: 1,
      timeout_ms: 50,
      port: 40011,
    });
    await until('both results stored', () => collector!.store.throughputResults('a', 'b', 0).length >= 2);
  });

  it('counts its error Results by code in heartbeats, says once what the plan’s method lacks, and reports its responder', async () => {
    await startTheCollector();
    const logs: string[] = [];
    const h = harness(async (target) => ({
      id: randomUUID(),
      kind: 'rtt',
      method: 'udp',
      src: target.src,
      dst: target.dst,
      target: target.host,
      time_ms: Date.now(),
      duration_ms: 0,
      error: { code: 'permission_denied', message: 'no raw sockets here' },
      rtt: null,
    }));
    h.deps.log = createLogger({}, (line) => logs.push(line));
    h.deps.checkMethod = (method) => `the plan's probe method is ${method}, and this agent may not use it`;
    const start = h.deps.startResponder;
    h.deps.startResponder = async (config) => ({
      ...(await start(config)),
      health: () => ({
        reflector: { up: true, last_error: null },
        iperf3: { up: false, last_error: 'iperf3 server on 127.0.0.1:40002 did not start: …', restarts: 2 },
      }),
    });
    const a = agent(h);
    await a.start();
    const heartbeat = () => collector!.store.agents().find((x) => x.site === 'a')?.heartbeat;
    await until(
      'permission_denied counted in a heartbeat',
      () => (heartbeat()?.errors_by_code?.permission_denied ?? 0) > 0,
    );
    expect(heartbeat()).toMatchObject({
      spool_error: null,
      responder: { reflector: { up: true }, iperf3: { up: false, restarts: 2 } },
    });
    expect(heartbeat()?.errors).toBeGreaterThan(0);
    // The agents view shows the latest heartbeat's counts (since the one before).
    const view = (await (
      await fetch(`http://127.0.0.1:${port}/api/v1/agents`, {
        headers: { authorization: `Bearer ${TOKENS.WW_VIEWER}` },
      })
    ).json()) as {
      agents: { site: string; errors_by_code: Record<string, number> | null; responder: unknown }[];
    };
    const av = view.agents.find((x) => x.site === 'a');
    expect(av?.errors_by_code?.permission_denied).toBeGreaterThan(0);
    expect(av?.responder).toMatchObject({ iperf3: { up: false } });
    // Counted once: what the heartbeats carried adds up to what was produced.
    await quiesce(a);
    await new Promise((r) => setTimeout(r, 500));
    const all = collector!.store.agentHeartbeatsAfter(0, 10_000).map((x) => x.value);
    const carried = all.reduce((n, x) => n + (x.errors_by_code?.permission_denied ?? 0), 0);
    expect(carried).toBe(h.produced.length);
    const said = logs.filter((l) => l.includes('CANNOT MEASURE'));
    expect(said).toHaveLength(1);
    expect(said[0]).toContain('may not use it');
  });

  it('stop() during drain() ends the drain at once instead of leaving it spinning until its timeout', async () => {
    const h = harness();
    const a = agent(h);
    await startTheCollector();
    await a.start();
    await stopTheCollector();
    await until('results waiting', () => a.stats().spool.queued_results + a.stats().batching > 0);
    const t0 = Date.now();
    const draining = a.drain(30_000);
    await new Promise((r) => setTimeout(r, 200));
    await a.stop();
    expect(await draining).toBe(false);
    expect(Date.now() - t0).toBeLessThan(5000);
  });

  it('stop() while the spool is still opening at start stops the sender too: nothing is sent after shutdown', async () => {
    // An earlier run left results in the spool; the collector is away.
    const first = agent(harness());
    await startTheCollector();
    await first.start();
    await stopTheCollector();
    await until('results spooled', () => first.stats().spool.queued_results >= 3);
    await first.stop();
    const left = first.stats().spool.queued_results;
    // The next run is stopped while it opens its spool (start() has not got that far yet).
    const second = agent(harness());
    const starting = second.start();
    await second.stop();
    await starting;
    await startTheCollector();
    await new Promise((r) => setTimeout(r, 1000));
    expect(storedIds().length).toBe(first.stats().sent);
    expect(second.stats()).toMatchObject({ sent: 0, spool: { queued_results: left } });
  });

  it('on stop, writes the results still in memory to the spool and closes its responder', async () => {
    await startTheCollector();
    const h = harness();
    const a = agent(h, { batchMaxDelayMs: 60_000, batchMaxResults: 1000 });
    await a.start();
    await until('results pending in memory', () => a.stats().batching >= 3);
    await stopTheCollector();
    await a.stop();
    expect(h.responders.every((r) => r.closed)).toBe(true);
    expect(a.stats().spool.queued_results).toBe(h.produced.length);
  });
});

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? 0;
}
