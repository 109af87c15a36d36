// The agent runtime against a real HTTP server standing in for the collector: plan, push, spool through
// an outage, restarts on both sides, wrong token, re-planning, heartbeats and shutdown.
import { randomUUID } from 'node:crypto';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { RttProbe } from '../../agent/probes/types.ts';
import {
  type Agent,
  AgentDeniedError,
  type AgentDeps,
  createAgent,
  type ResponderConfig,
  type ThroughputOptions,
} from '../../agent/runtime.ts';
import { createLogger } from '../../shared/log.ts';
import type { Result, RttResult } from '../../shared/result.ts';
import type { AgentPlan } from '../../shared/wire.ts';
import { StandInCollector } from '../support/stand-in-collector.ts';

const quiet = createLogger({}, () => {});

function planFor(site: string, over: Partial<AgentPlan> = {}): AgentPlan {
  return {
    site,
    plan_version: 'v1',
    responder: { address: '127.0.0.1', reflector_port: 40001, iperf3_port: 40002 },
    heartbeat: { interval_ms: 200, timeout_ms: 1000 },
    plan_refresh_ms: 100,
    rtt: { method: 'udp', interval_ms: 100, count: 3, spacing_ms: 1, timeout_ms: 50, tcp_port: null },
    peers: [
      { site: 'B', address: '127.0.0.2', reflector_port: 40011, iperf3_port: 40012 },
      { site: 'C', address: '127.0.0.3', reflector_port: 40021, iperf3_port: 40022 },
    ],
    throughput: {
      enabled: false,
      cycle_ms: 3_600_000,
      duration_ms: 1000,
      omit_ms: 0,
      protocol: 'tcp',
      streams: 1,
      reverse: false,
      slots: [],
    },
    ...over,
  };
}

/** A stand-in RTT probe: answers at once with a well-formed round, so these tests are about the runtime. */
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
  rtt: {
    sent: opts.count,
    received: opts.count,
    loss_percent: 0,
    rtt_min_ms: 0.1,
    rtt_median_ms: 0.1,
    rtt_p95_ms: 0.1,
    rtt_max_ms: 0.1,
    rtt_mean_ms: 0.1,
    rtt_stddev_ms: 0,
    jitter_ms: 0,
    jitter_method: 'rfc3550',
    samples_ms: Array.from({ length: opts.count }, () => 0.1),
  },
});

interface Harness {
  deps: AgentDeps;
  produced: Result[];
  responders: { config: ResponderConfig; closed: boolean }[];
  throughputCalls: ThroughputOptions[];
}

function harness(probe: RttProbe = standInProbe): Harness {
  const produced: Result[] = [];
  const responders: Harness['responders'] = [];
  const throughputCalls: ThroughputOptions[] = [];
  return {
    produced,
    responders,
    throughputCalls,
    deps: {
      rttProbes: { icmp: probe, tcp: probe, udp: probe },
      runThroughput: async (target, opts) => {
        throughputCalls.push(opts);
        return {
          id: randomUUID(),
          kind: 'throughput',
          method: 'iperf3',
          src: target.src,
          dst: target.dst,
          target: `${target.host}:${target.port}`,
          time_ms: Date.now(),
          duration_ms: opts.duration_ms,
          error: { code: 'refused', message: 'stand-in: no iperf3 here' },
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

let collector: StandInCollector;
let dataDir: string;
const agents: Agent[] = [];

beforeEach(async () => {
  collector = new StandInCollector();
  collector.tokens.set('A', 'token-a');
  collector.plans.set('A', planFor('A'));
  await collector.start();
  dataDir = await mkdtemp(join(tmpdir(), 'wanwatch-agent-'));
});

afterEach(async () => {
  for (const a of agents.splice(0)) await a.stop();
  await collector.stop();
  await rm(dataDir, { recursive: true, force: true });
});

function agent(h: Harness, over: Partial<Parameters<typeof createAgent>[1]> = {}): Agent {
  const a = createAgent(h.deps, {
    site: 'A',
    collector: collector.url,
    token: 'token-a',
    dataDir,
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

const ids = (rs: Result[]) => rs.map((r) => r.id).sort();

/** Stops measuring and waits until everything the agent produced has been acknowledged. */
async function quiesce(a: Agent): Promise<void> {
  expect(await a.drain(10_000)).toBe(true);
  expect(a.stats()).toMatchObject({ in_flight: 0, batching: 0, spool: { queued_results: 0 } });
}

describe('wanwatch agent runtime', () => {
  it('fetches its plan, starts its responder on the plan’s address, and measures every peer each interval', async () => {
    const h = harness();
    const a = agent(h);
    await a.start();
    expect(h.responders.map((r) => r.config)).toEqual([
      { address: '127.0.0.1', reflector_port: 40001, iperf3_port: 40002 },
    ]);
    await until('six results stored', () => collector.stored.size >= 6);
    const rtt = [...collector.stored.values()] as RttResult[];
    expect(new Set(rtt.map((r) => r.dst))).toEqual(new Set(['B', 'C']));
    expect(rtt.every((r) => r.src === 'A' && r.rtt?.sent === 3)).toBe(true);
    // Peers are spread over the interval: B and C rounds start about half an interval apart.
    const b = rtt.filter((r) => r.dst === 'B').map((r) => r.time_ms % 100);
    const c = rtt.filter((r) => r.dst === 'C').map((r) => r.time_ms % 100);
    expect(Math.abs(Math.round(median(c) - median(b)))).toBeGreaterThanOrEqual(30);
  });

  it('stores every result exactly once across a collector outage, resending the spool in order', async () => {
    const h = harness();
    const a = agent(h);
    await a.start();
    await until('results flowing', () => collector.stored.size >= 4);
    await collector.stop();
    const producedAtOutage = h.produced.length;
    await until('results spooled while the collector is away', () => a.stats().spool.queued_results >= 10);
    expect(await readdir(join(dataDir, 'spool'))).not.toEqual([]);
    await collector.start();
    await until('some results after the outage', () => h.produced.length >= producedAtOutage + 20);
    await quiesce(a);
    // The collector holds exactly what was produced, each result once, and got them in production order.
    expect([...collector.stored.keys()]).toEqual(h.produced.map((r) => r.id));
    expect(a.stats().spool.dropped).toBe(0);
  });

  it('resends a batch whose acknowledgement was lost with the same batch_id, and it is stored once', async () => {
    const h = harness();
    collector.loseAcks = 1;
    const a = agent(h);
    await a.start();
    await until('the lost batch resent', () => collector.batchIds.length >= 2);
    expect(collector.batchIds[1]).toBe(collector.batchIds[0]);
    await quiesce(a);
    expect(collector.duplicates).toBeGreaterThan(0);
    expect(ids([...collector.stored.values()])).toEqual(ids(h.produced));
  });

  it('keeps its spool across an agent restart and sends it when the collector is back', async () => {
    await collector.stop();
    collector.plans.set('A', planFor('A'));
    // First run: the collector is away the whole time; results go to the spool only.
    await collector.start();
    const h1 = harness();
    const first = agent(h1);
    await first.start();
    await collector.stop();
    await until('results spooled', () => first.stats().spool.queued_results >= 5);
    await first.stop();
    const spooled = first.stats().spool.queued_results;
    expect(spooled).toBeGreaterThanOrEqual(5);
    const alreadyStored = collector.stored.size;
    // Second run, same data dir, collector back.
    await collector.start();
    const h2 = harness();
    const second = agent(h2);
    await second.start();
    await until('the first run’s results arrive', () => collector.stored.size >= alreadyStored + spooled);
    await quiesce(second);
    expect(ids([...collector.stored.values()])).toEqual(ids([...h1.produced, ...h2.produced]));
  });

  it('drops the oldest results past --spool-max-results and reports the count in its heartbeat', async () => {
    const h = harness();
    const a = agent(h, { spoolMaxResults: 5 });
    await a.start();
    await collector.stop();
    await until('spool bound exceeded', () => a.stats().spool.dropped >= 5);
    expect(a.stats().spool.queued_results).toBeLessThanOrEqual(5);
    await collector.start();
    await until('a heartbeat with the drop count', () =>
      collector.heartbeats.some((hb) => hb.spool_dropped >= 5),
    );
    const hb = collector.heartbeats.at(-1)!;
    expect(hb).toMatchObject({ site: 'A', version: 'test', plan_version: 'v1' });
  });

  it('keeps retrying while the collector is unreachable at start, then runs', async () => {
    await collector.stop();
    const h = harness();
    const a = agent(h);
    const started = a.start();
    await new Promise((r) => setTimeout(r, 300));
    expect(a.currentPlan).toBeUndefined();
    await collector.start();
    await started;
    expect(a.currentPlan?.plan_version).toBe('v1');
  });

  it('refuses to start with the collector’s message when the token is wrong or the site unknown', async () => {
    const wrong = agent(harness(), { token: 'nope' });
    const err = await wrong.start().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AgentDeniedError);
    expect((err as Error).message).toContain('wrong token for site "A"');
    expect((err as Error).message).toContain('sites.A.token_env or token_sha256');
    const unknown = agent(harness(), { site: 'Z' });
    const err2 = await unknown.start().catch((e: unknown) => e);
    expect((err2 as Error).message).toContain('unknown site "Z"');
  });

  it('re-plans when plan_version changes, without a restart: new peers, new responder address', async () => {
    const h = harness();
    const a = agent(h);
    await a.start();
    await until('measuring B and C', () => collector.stored.size >= 4);
    collector.plans.set(
      'A',
      planFor('A', {
        plan_version: 'v2',
        responder: { address: '127.0.0.9', reflector_port: 40001, iperf3_port: 40002 },
        peers: [{ site: 'D', address: '127.0.0.4', reflector_port: 40031, iperf3_port: 40032 }],
      }),
    );
    await until('re-planned', () => a.stats().plan_version === 'v2');
    const mark = h.produced.length;
    await until('measuring D', () => h.produced.length >= mark + 3);
    // Rounds already running when the plan changed may still finish; everything after is to D.
    expect(h.produced.slice(mark + 2).every((r) => r.dst === 'D')).toBe(true);
    expect(h.responders.map((r) => [r.config.address, r.closed])).toEqual([
      ['127.0.0.1', true],
      ['127.0.0.9', false],
    ]);
  });

  it('keeps measuring when its responder cannot start, counts the error, and retries at the next plan refresh', async () => {
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
    await until('results despite the responder', () => collector.stored.size >= 2);
    await until('the responder started on a later refresh', () => h.responders.length === 1);
    expect(attempts).toBe(2);
    await until('the error reported', () => collector.heartbeats.some((hb) => hb.errors >= 1));
  });

  it('turns a probe that throws into an internal error Result and counts it in the heartbeat', async () => {
    const h = harness(async () => {
      throw new Error('boom');
    });
    const a = agent(h);
    await a.start();
    await until('an error counted in a heartbeat', () => collector.heartbeats.some((hb) => hb.errors > 0));
    const r = [...collector.stored.values()][0]!;
    expect(r.error?.code).toBe('internal');
    expect(r.error?.message).toContain('boom');
    expect(a.stats().errors_total).toBeGreaterThan(0);
  });

  it('runs its throughput slots as client: UDP at the required rate, both directions, with a loaded RTT round', async () => {
    const now = Date.now();
    collector.plans.set(
      'A',
      planFor('A', {
        rtt: { ...planFor('A').rtt, interval_ms: 60_000 },
        throughput: {
          enabled: true,
          cycle_ms: 1000,
          duration_ms: 200,
          omit_ms: 0,
          protocol: 'udp',
          streams: 1,
          reverse: true,
          slots: [
            {
              client: 'A',
              peer: 'B',
              offset_ms: (now + 400) % 1000,
              length_ms: 500,
              required_bps: 5_000_000,
            },
            { client: 'C', peer: 'A', offset_ms: (now + 900) % 1000, length_ms: 500, required_bps: 9 },
          ],
        },
      }),
    );
    const h = harness();
    const a = agent(h);
    await a.start();
    await until('a forward and a reverse test', () => h.throughputCalls.length >= 2);
    expect(h.throughputCalls.slice(0, 2).map((o) => [o.protocol, o.rate_bps, o.reverse])).toEqual([
      ['udp', 5_000_000, false],
      ['udp', 5_000_000, true],
    ]);
    // The loaded round uses the plan's RTT method and the peer's reflector.
    expect(h.throughputCalls[0]?.loadedRtt).toEqual({
      probe: 'udp',
      count: 3,
      spacing_ms: 1,
      timeout_ms: 50,
      port: 40011,
    });
    await until('throughput results', () => h.produced.filter((r) => r.kind === 'throughput').length >= 2);
    const tp = h.produced.filter((r) => r.kind === 'throughput');
    expect(tp.every((r) => r.dst === 'B')).toBe(true);
  });

  it('on stop, writes pending results to the spool and closes its responder', async () => {
    const h = harness();
    const a = agent(h, { batchMaxDelayMs: 60_000, batchMaxResults: 1000 });
    await a.start();
    await until('results pending in memory', () => h.produced.length >= 3);
    await collector.stop();
    await a.stop();
    expect(h.responders.every((r) => r.closed)).toBe(true);
    expect(a.stats().spool.queued_results).toBe(h.produced.length);
  });
});

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? 0;
}
