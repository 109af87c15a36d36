// Agent restarts are not evidence about the links: three real `wanwatch agent` processes (icmp, the
// default method, with real iperf3 throughput tests) against the real collector with the default alert
// settings. Each agent is stopped with SIGTERM while a round (or a throughput test it runs) is in
// progress and started again, 5 times each; then one is killed with SIGKILL mid-round, leaving its
// iperf3 server behind holding the port. Throughout, no alert of any kind is pending or firing, and no
// stored round counts a probe it never sent (or never awaited) as lost; the restarted agent takes its
// iperf3 port back, and restarts its iperf3 server when that is killed.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { firstDueAtOrAfter } from '../../agent/schedule/periodic.ts';
import { duringThroughputSlot, timetable } from '../../agent/schedule/plan.ts';
import { runThroughput } from '../../probes/throughput.ts';
import type { RttResult } from '../../shared/result.ts';
import { type AgentPlan, agentPlanSchema, type Heartbeat } from '../../shared/wire.ts';
import { type CliAgent, freeSitePorts, startCliAgent } from '../../testbed/agents.ts';
import { startTestCollector, type TestCollector } from '../../testbed/collector.ts';
import { requireRoot } from '../support/privilege.ts';

const root = requireRoot('the agents probe with icmp, the default method, which needs raw sockets');
const SITES = ['a', 'b', 'c'] as const;
type Site = (typeof SITES)[number];
const TOKENS: Record<Site, string> = { a: 'restart-token-a', b: 'restart-token-b', c: 'restart-token-c' };
/** Reads need a viewer's credential. */
const VIEWER = 'restart-viewer';
const asViewer = { headers: { authorization: `Bearer ${VIEWER}` } };
const ADDRESS: Record<Site, string> = { a: '127.0.0.1', b: '127.0.0.2', c: '127.0.0.3' };
const COUNT = 10;
const RESTARTS = 5;

let dir: string;
let collector: TestCollector;
const agents = new Map<Site, CliAgent>();
/** Every agent process that ran, stopped ones included (their logs are checked). */
const stoppedWithTerm: CliAgent[] = [];
const activeAlertsSeen: string[] = [];
let watching: NodeJS.Timeout | undefined;

const start = (site: Site): CliAgent => {
  const a = startCliAgent({
    site,
    token: TOKENS[site],
    collector: collector.url,
    dataDir: join(dir, `agent-${site}`),
  });
  agents.set(site, a);
  return a;
};

const heartbeat = (site: Site): Heartbeat | undefined =>
  collector.store.agents().find((x) => x.site === site)?.heartbeat;

async function plan(site: Site): Promise<AgentPlan> {
  const res = await fetch(`${collector.url}/api/v1/plan?site=${site}`, {
    headers: { authorization: `Bearer ${TOKENS[site]}` },
  });
  return agentPlanSchema.parse(await res.json());
}

/** Stored rounds measured by `site` that started after `since`. */
const roundsFrom = (site: Site, since: number): RttResult[] =>
  SITES.filter((d) => d !== site).flatMap((d) =>
    collector.store.rttResults(site, d, since).filter((r) => r.time_ms >= since),
  );

async function until<T>(what: string, check: () => T | undefined, timeoutMs = 30_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = check();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Waits until the agent's new process measures: a heartbeat from it and a round it started, stored. */
async function measuring(site: Site, startedAfter: number): Promise<void> {
  await until(`${site} heartbeating again`, () =>
    (heartbeat(site)?.started_at_ms ?? 0) >= startedAfter ? true : undefined,
  );
  await until(`${site} storing rounds again`, () =>
    roundsFrom(site, startedAfter).length > 0 ? true : undefined,
  );
}

/**
 * When the agent's next RTT round will be well under way: 900 ms after it is due (4 of its 10 probes
 * sent, 250 ms apart), skipping rounds a throughput test pauses.
 */
function midRound(p: AgentPlan, after: number): number {
  const table = timetable(p);
  const round_ms = p.rtt.count * p.rtt.spacing_ms + p.rtt.timeout_ms;
  let from = after;
  for (;;) {
    const next = [...table.rtt.keys()]
      .map((key) => {
        const job = table.jobs.find((j) => j.key === key)!;
        return { peer: table.rtt.get(key)!.site, due: firstDueAtOrAfter(job, from) };
      })
      .sort((x, y) => x.due - y.due)[0]!;
    if (!duringThroughputSlot(p, next.peer, next.due, round_ms)) return next.due + 900;
    from = next.due + 1;
  }
}

/** 500 ms into the next throughput test this site runs as the client; undefined if it runs none. */
function midThroughput(p: AgentPlan, after: number): number | undefined {
  const jobs = [...timetable(p).throughput.keys()].map((k) => timetable(p).jobs.find((j) => j.key === k)!);
  const dues = jobs.map((j) => firstDueAtOrAfter(j, after));
  return dues.length === 0 ? undefined : Math.min(...dues) + 500;
}

const sleepUntil = (t: number) => new Promise((r) => setTimeout(r, Math.max(0, t - Date.now())));

beforeAll(async () => {
  if (!root) return;
  const ports = Object.fromEntries(
    await Promise.all(SITES.map(async (s) => [s, await freeSitePorts(ADDRESS[s])] as const)),
  ) as Record<Site, { reflector_port: number; iperf3_port: number }>;
  const site = (s: Site) =>
    `  ${s}: {address: ${ADDRESS[s]}, token_env: WW_TOKEN_${s.toUpperCase()}, reflector_port: ${ports[s].reflector_port}, iperf3_port: ${ports[s].iperf3_port}}`;
  // Default alert settings (no `alerts:` section); probes quicker than the defaults, icmp as by default.
  collector = await startTestCollector(
    `sites:
${SITES.map(site).join('\n')}
clusters:
  east:
    subclusters:
      sc1: {nodes: {n1: a, n2: b, n3: c}}
probes:
  rtt: {interval: 3s, count: ${COUNT}, spacing: 250ms, timeout: 500ms}
  throughput: {interval: 10s, duration: 1s, omit: 0s}
  heartbeat: {interval: 2s, timeout: 10s}
collector: {credentials: [{name: test, role: viewer, token_env: WW_VIEWER}]}
`,
    { env: { WW_TOKEN_A: TOKENS.a, WW_TOKEN_B: TOKENS.b, WW_TOKEN_C: TOKENS.c, WW_VIEWER: VIEWER } },
  );
  dir = collector.dir;
  watching = setInterval(async () => {
    try {
      const body = (await (await fetch(`${collector.url}/api/v1/alerts`, asViewer)).json()) as {
        active: { dedup_key: string; status: string }[];
      };
      for (const a of body.active) activeAlertsSeen.push(`${a.status} ${a.dedup_key}`);
    } catch {
      // the collector is stopping
    }
  }, 200);
  const t0 = Date.now();
  for (const s of SITES) start(s);
  await Promise.all(SITES.map((s) => measuring(s, t0)));
}, 60_000);

afterAll(async () => {
  clearInterval(watching);
  await Promise.all([...agents.values()].map((a) => a.kill('SIGTERM')));
  await collector?.dispose();
});

describe.runIf(root)('agent restarts, with the real collector and the default alert settings', () => {
  it(`SIGTERM mid-round, ${RESTARTS} times per agent: the rounds and tests cut short are dropped, not stored`, async () => {
    const plans = Object.fromEntries(
      await Promise.all(SITES.map(async (s) => [s, await plan(s)] as const)),
    ) as Record<Site, AgentPlan>;
    await Promise.all(
      SITES.map(async (site) => {
        for (let i = 0; i < RESTARTS; i++) {
          // The third restart of an agent that runs throughput tests hits one of them mid-test.
          const at =
            (i === 2 ? midThroughput(plans[site], Date.now() + 1000) : undefined) ??
            midRound(plans[site], Date.now() + 1000);
          await sleepUntil(at);
          const old = agents.get(site)!;
          expect(await old.kill('SIGTERM')).toBe(0);
          stoppedWithTerm.push(old);
          const again = Date.now();
          start(site);
          await measuring(site, again);
        }
      }),
    );
    expect(stoppedWithTerm).toHaveLength(SITES.length * RESTARTS);
    for (const a of stoppedWithTerm) {
      const stopped = a.logs().find((l) => l.msg === 'agent stopped');
      expect(stopped, `${a.site}: no "agent stopped" line in\n${a.stderr}`).toBeDefined();
      // A round (or test) was running each time, and was dropped rather than stored.
      expect(
        Number(stopped?.dropped_in_progress),
        `${a.site} dropped nothing when stopped`,
      ).toBeGreaterThanOrEqual(1);
      expect(a.stderr).not.toMatch(/\n\s+at /); // no stack trace
    }
  }, 240_000);

  it('SIGKILL mid-round: the restarted agent stops the iperf3 server left holding its port, starts its own, and a test to it succeeds', async () => {
    const site: Site = 'b';
    const p = await plan(site);
    const pidFile = join(dir, `agent-${site}`, 'iperf3.pid');
    await sleepUntil(midRound(p, Date.now() + 1000));
    const old = agents.get(site)!;
    const leftover = (JSON.parse(readFileSync(pidFile, 'utf8')) as { pid: number }).pid;
    expect(await old.kill('SIGKILL')).toBeNull();
    // Its iperf3 server outlives it, still holding the port.
    expect(() => process.kill(leftover, 0)).not.toThrow();
    const again = Date.now();
    const next = start(site);
    await measuring(site, again);
    expect(next.logs().some((l) => String(l.msg).includes('an earlier run of this agent left behind'))).toBe(
      true,
    );
    const hb = await until('a heartbeat with the iperf3 server up', () => {
      const h = heartbeat(site);
      return h && h.started_at_ms >= again && h.responder?.iperf3.up ? h : undefined;
    });
    expect(hb.responder).toMatchObject({ reflector: { up: true }, iperf3: { up: true } });
    const own = (JSON.parse(readFileSync(pidFile, 'utf8')) as { pid: number }).pid;
    expect(own).not.toBe(leftover);
    await until('the left-behind iperf3 gone', () => (alive(leftover) ? undefined : true), 5000);
    const r = await runThroughput(
      { src: 'test', dst: site, host: ADDRESS[site], port: p.responder.iperf3_port },
      {
        protocol: 'tcp',
        duration_ms: 1000,
        omit_ms: 0,
        streams: 1,
        reverse: false,
        busy_retries: 10,
        busy_backoff_ms: 500,
      },
    );
    expect(r.error).toBeNull();
    expect(r.throughput?.goodput_bps).toBeGreaterThan(0);
  }, 60_000);

  it('restarts its iperf3 server within a minute when it is killed, and says so in its heartbeats', async () => {
    const site: Site = 'b';
    const p = await plan(site);
    const pidFile = join(dir, `agent-${site}`, 'iperf3.pid');
    const before = (JSON.parse(readFileSync(pidFile, 'utf8')) as { pid: number }).pid;
    const restartsBefore = heartbeat(site)?.responder?.iperf3.restarts ?? 0;
    const killedAt = Date.now();
    process.kill(before, 'SIGKILL');
    await until(
      'a new iperf3 server',
      () => {
        try {
          const now = (JSON.parse(readFileSync(pidFile, 'utf8')) as { pid: number }).pid;
          return now !== before && alive(now) ? now : undefined;
        } catch {
          return undefined;
        }
      },
      60_000,
    );
    const r = await runThroughput(
      { src: 'test', dst: site, host: ADDRESS[site], port: p.responder.iperf3_port },
      {
        protocol: 'tcp',
        duration_ms: 1000,
        omit_ms: 0,
        streams: 1,
        reverse: false,
        busy_retries: 10,
        busy_backoff_ms: 500,
      },
    );
    expect(r.error).toBeNull();
    const backAfter = Date.now() - killedAt;
    // The first restart comes after 1 s (responder/iperf3-server.ts); a test from the other agents may
    // hold the server up to a few more seconds.
    expect(backAfter).toBeLessThan(60_000);
    process.stderr.write(`iperf3 server killed: serving again after ${backAfter} ms\n`);
    const hb = await until('a heartbeat counting the restart', () => {
      const h = heartbeat(site);
      return h?.responder && h.responder.iperf3.restarts > restartsBefore && h.responder.iperf3.up
        ? h
        : undefined;
    });
    expect(hb.responder?.iperf3.last_error).toContain('stopped');
  }, 90_000);

  it('raised no alert of any kind, and stored no round with probes it never sent or awaited counted as lost', async () => {
    // A few more rounds after the last restart, and evaluations over them.
    await new Promise((r) => setTimeout(r, 6000));
    expect(activeAlertsSeen).toEqual([]);
    expect(collector.store.recentAlertEvents(100)).toEqual([]);
    const rounds = SITES.flatMap((s) => roundsFrom(s, 0));
    expect(rounds.length).toBeGreaterThan(50);
    const faked = rounds.filter((r) => r.error !== null || r.rtt?.sent !== COUNT || r.rtt.received !== COUNT);
    expect(
      faked.map((r) => `${r.src}→${r.dst} ${r.error?.code ?? ''} ${JSON.stringify(r.rtt?.samples_ms)}`),
    ).toEqual([]);
    // Throughput tests cut short by a shutdown were dropped too.
    const tests = SITES.flatMap((s) =>
      SITES.filter((d) => d > s).flatMap((d) => collector.store.throughputResults(s, d, 0, undefined, 1000)),
    );
    expect(tests.length).toBeGreaterThan(0);
    expect(tests.filter((t) => t.error?.code === 'cancelled')).toEqual([]);
    const links = (await (await fetch(`${collector.url}/api/v1/links`, asViewer)).json()) as {
      links: { directions: { src: string; dst: string; loss_percent: number | null; state: string }[] }[];
    };
    for (const d of links.links.flatMap((l) => l.directions)) {
      expect(d.loss_percent, `${d.src} → ${d.dst}`).toBe(0);
      expect(d.state, `${d.src} → ${d.dst}`).toBe('ok');
    }
  }, 30_000);
});

function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}
