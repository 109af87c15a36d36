// An agent without the ICMP privilege: `wanwatch agent` run as the unprivileged user nobody, whose plan
// says icmp (the default), against the real collector. It says loudly, once and without a stack trace,
// what is wrong and what to run; every round is still a Result, `permission_denied`; its heartbeats count
// them by code, and the agents view shows them, with the collector's measurement_failing naming the
// cause, and no link alert.
import { chmodSync, chownSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AgentJson } from '../../shared/wire.ts';
import { type CliAgent, startCliAgent } from '../../testbed/agents.ts';
import type { TestCollector } from '../../testbed/collector.ts';
import { nobodyId } from '../deploy/as-nobody.ts';
import { requireRoot } from '../support/privilege.ts';
import { startTwoAgentCollector } from '../support/two-agent-collector.ts';

const root = requireRoot('running an agent as the unprivileged user nobody');
const TOKEN_A = 'privilege-token-a';
/** Reads need a viewer's credential. */
const VIEWER = 'privilege-viewer';
const asViewer = { headers: { authorization: `Bearer ${VIEWER}` } };
let collector: TestCollector;
let agent: CliAgent | undefined;
let nobodyDir: string | undefined;

beforeAll(async () => {
  if (!root) return;
  collector = await startTwoAgentCollector('{interval: 500ms, count: 2, spacing: 10ms, timeout: 200ms}', {
    a: TOKEN_A,
    b: 'privilege-token-b',
    viewer: VIEWER,
  });
  // The collector's temp dir is private (0700): nobody's data dir goes beside it.
  nobodyDir = mkdtempSync(join(tmpdir(), 'wanwatch-nobody-'));
  chmodSync(nobodyDir, 0o755);
  const dataDir = join(nobodyDir, 'agent-a');
  mkdirSync(dataDir);
  chownSync(dataDir, nobodyId('-u'), nobodyId('-g'));
  agent = startCliAgent({ site: 'a', token: TOKEN_A, collector: collector.url, dataDir, user: 'nobody' });
});

afterAll(async () => {
  await agent?.kill('SIGTERM');
  await collector?.dispose();
  if (nobodyDir) rmSync(nobodyDir, { recursive: true, force: true });
});

async function until<T>(what: string, check: () => T | undefined | Promise<T | undefined>): Promise<T> {
  const end = Date.now() + 20_000;
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for: ${what}\n${agent?.stderr ?? ''}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const agentView = async (): Promise<AgentJson | undefined> =>
  (
    (await (await fetch(`${collector.url}/api/v1/agents`, asViewer)).json()) as { agents: AgentJson[] }
  ).agents.find((x) => x.site === 'a');

describe.runIf(root)('an agent without the ICMP privilege', () => {
  it('says once, loudly and without a stack trace, what is wrong and what to run', async () => {
    const line = await until('the privilege error in its log', () =>
      agent?.logs().find((l) => l.level === 'error' && String(l.msg).startsWith('CANNOT MEASURE')),
    );
    expect(line.msg).toContain('may not open raw ICMP sockets');
    expect(line.msg).toMatch(/`sudo setcap cap_net_raw\+ep \/\S+node\S*`/);
    expect(line.msg).toContain('AmbientCapabilities=CAP_NET_RAW');
    expect(line.msg).toContain('probes.rtt.method: udp');
    expect(line.msg).toContain('uid 65534');
    // Several plan refreshes later it has not repeated itself, and nothing printed a stack trace.
    await new Promise((r) => setTimeout(r, 2000));
    expect(agent?.logs().filter((l) => String(l.msg).startsWith('CANNOT MEASURE'))).toHaveLength(1);
    expect(agent?.stderr).not.toMatch(/\n\s+at /);
  });

  it('stores every round as permission_denied, and its heartbeats count them by code', async () => {
    const rounds = await until('rounds stored', () => {
      const rs = collector.store.rttResults('a', 'b', 0);
      return rs.length >= 3 ? rs : undefined;
    });
    for (const r of rounds) {
      expect(r.error?.code).toBe('permission_denied');
      expect(r.rtt).toBeNull();
    }
    const hb = await until('a heartbeat counting permission_denied', () => {
      const h = collector.store.agents().find((x) => x.site === 'a')?.heartbeat;
      return (h?.errors_by_code?.permission_denied ?? 0) > 0 ? h : undefined;
    });
    expect(hb.errors).toBeGreaterThan(0);
  });

  it('shows them in the agents view, beside the collector’s measurement_failing naming the cause, and no link alert', async () => {
    const view = await until('the agents view', async () => {
      const v = await agentView();
      return (v?.errors_by_code?.permission_denied ?? 0) > 0 && (v?.measurement_failing.length ?? 0) > 0
        ? v
        : undefined;
    });
    expect(view.responder).toMatchObject({ reflector: { up: true } });
    expect(view.measurement_failing[0]).toMatchObject({ code: 'permission_denied' });
    const alerts = (await (await fetch(`${collector.url}/api/v1/alerts`, asViewer)).json()) as {
      active: { rule: string }[];
    };
    expect(alerts.active.filter((a) => a.rule !== 'measurement_failing')).toEqual([]);
  });
});
