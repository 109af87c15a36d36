// The agent as deploy/systemd/wanwatch-agent@.service runs it, without systemd: `wanwatch agent` as the
// unprivileged user nobody through setpriv, holding exactly the capabilities the unit gives it
// (AmbientCapabilities= and CapabilityBoundingSet=, read from the unit: CAP_NET_RAW) and the unit's
// environment (WANWATCH_SITE from the instance, WANWATCH_TOKEN_FILE in a credentials directory,
// $STATE_DIRECTORY as StateDirectory= sets it, WANWATCH_COLLECTOR as agent.env does). It measures its
// peer with ICMP and the results reach a real collector. The same user without the capability gets the
// CANNOT MEASURE error; and a data directory a root run left behind stops it with the chown to run,
// after which nothing of that spool is lost.
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import {
  chmodSync,
  chownSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ResultPromise } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Spool } from '../../agent/spool/spool.ts';
import type { RttResult } from '../../shared/result.ts';
import type { TestCollector } from '../../testbed/collector.ts';
import { nobodyId, nobodyStateDirectory, wanwatchAsNobody } from '../deploy/as-nobody.ts';
import { AGENT_UNIT, unitDirectives, unitEnvironment } from '../deploy/units.ts';
import { rttResult } from '../support/agent-results.ts';
import { requireRoot } from '../support/privilege.ts';
import { startTwoAgentCollector } from '../support/two-agent-collector.ts';

const root = requireRoot('running the agent as nobody through setpriv, with and without CAP_NET_RAW');
const TOKEN_A = 'capability-token-a';

let collector: TestCollector;
let base: string;
let credentials: string;

beforeAll(async () => {
  if (!root) return;
  collector = await startTwoAgentCollector(
    '{method: icmp, interval: 500ms, count: 3, spacing: 10ms, timeout: 300ms}',
    { a: TOKEN_A, b: 'capability-token-b', viewer: 'v' },
  );
  // The collector's temp dir is private (0700): nobody's directories go beside it.
  base = mkdtempSync(join(tmpdir(), 'wanwatch-capability-'));
  chmodSync(base, 0o755);
  // What LoadCredential= makes: a directory only the service's user reads, holding the token.
  credentials = join(base, 'credentials');
  mkdirSync(credentials, { mode: 0o700 });
  writeFileSync(join(credentials, 'token'), `${TOKEN_A}\n`, { mode: 0o400 });
  for (const p of [credentials, join(credentials, 'token')]) chownSync(p, nobodyId('-u'), nobodyId('-g'));
});

afterAll(async () => {
  await collector?.dispose();
  if (base) rmSync(base, { recursive: true, force: true });
});

interface Run {
  child: ResultPromise;
  stderr: () => string;
  logs: () => { level?: string; msg?: string }[];
  stop: () => Promise<void>;
}

/**
 * `wanwatch agent` for site a as the unit runs it, as nobody through setpriv holding `caps` (systemd's
 * spelling, e.g. the unit's `CAP_NET_RAW`; '' for none), with the unit's environment and agent.env's.
 */
function runAsUnit(caps: string, env: Record<string, string>): Run {
  const unitEnv = unitEnvironment(AGENT_UNIT, { instance: 'a', credentialsDir: credentials });
  const child = wanwatchAsNobody(
    caps,
    {
      ...unitEnv,
      // agent.env
      WANWATCH_COLLECTOR: collector.url,
      WANWATCH_LOG: 'info',
      ...env,
    },
    ['agent'],
  );
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  return {
    child,
    stderr: () => stderr,
    logs: () =>
      stderr
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as { level?: string; msg?: string }),
    stop: async () => {
      child.kill('SIGTERM');
      await child;
    },
  };
}

/** What StateDirectory=wanwatch/agent-%i makes: a directory owned by the service's user. */
function stateDirectory(name: string): string {
  return nobodyStateDirectory(join(base, name, 'wanwatch', 'agent-a'));
}

async function until<T>(what: string, run: Run | undefined, check: () => T | undefined): Promise<T> {
  const end = Date.now() + 20_000;
  for (;;) {
    const v = check();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for: ${what}\n${run?.stderr() ?? ''}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The capability sets and uid of a running process, from /proc. */
function processStatus(pid: number): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of readFileSync(`/proc/${pid}/status`, 'utf8').split('\n')) {
    const [k, v] = line.split(':\t');
    if (k && v) out[k] = v.trim();
  }
  return out;
}
const CAP_NET_RAW_MASK = (1n << 13n).toString(16).padStart(16, '0');
const NO_CAPS = '0'.repeat(16);

describe.runIf(root)('the agent as its systemd unit runs it, as nobody', () => {
  it('with the unit’s capabilities (CAP_NET_RAW alone) measures with ICMP, and the results reach the collector', async () => {
    const caps = unitDirectives(AGENT_UNIT).get('AmbientCapabilities')?.[0] ?? '';
    expect(caps).toBe('CAP_NET_RAW');
    const state = stateDirectory('with-cap');
    const since = Date.now();
    const run = runAsUnit(caps, { STATE_DIRECTORY: state });
    try {
      const rounds = await until('ICMP rounds stored', run, () => {
        const rs = collector.store.rttResults('a', 'b', since);
        return rs.length >= 3 ? rs : undefined;
      });
      for (const r of rounds) {
        expect(r.method).toBe('icmp');
        expect(r.error).toBeNull();
        expect(r.rtt?.received).toBeGreaterThan(0);
      }
      // It is nobody, and holds that one capability in every set, with no way to gain another.
      const status = processStatus(run.child.pid!);
      expect(status.Uid?.split('\t')).toEqual(Array(4).fill(String(nobodyId('-u'))));
      for (const set of ['CapEff', 'CapPrm', 'CapAmb', 'CapBnd']) expect(status[set]).toBe(CAP_NET_RAW_MASK);
      expect(status.NoNewPrivs).toBe('1');
      // No --data-dir: its spool is in $STATE_DIRECTORY, as under systemd.
      expect(readdirSync(state)).toContain('spool');
      expect(statSync(join(state, 'spool')).uid).toBe(nobodyId('-u'));
      expect(run.logs().filter((l) => String(l.msg).startsWith('CANNOT MEASURE'))).toEqual([]);
    } finally {
      await run.stop();
    }
  });

  it('without the capability says CANNOT MEASURE, and every round is permission_denied', async () => {
    const since = Date.now();
    const run = runAsUnit('', { STATE_DIRECTORY: stateDirectory('without-cap') });
    try {
      const line = await until('the privilege error', run, () =>
        run.logs().find((l) => l.level === 'error' && String(l.msg).startsWith('CANNOT MEASURE')),
      );
      expect(line.msg).toContain('uid 65534');
      expect(line.msg).toContain('AmbientCapabilities=CAP_NET_RAW');
      expect(processStatus(run.child.pid!).CapEff).toBe(NO_CAPS);
      const rounds = await until('rounds stored', run, () => {
        const rs = collector.store.rttResults('a', 'b', since);
        return rs.length >= 2 ? rs : undefined;
      });
      for (const r of rounds) expect(r.error?.code).toBe('permission_denied');
    } finally {
      await run.stop();
    }
  });

  it('meeting a spool a root run left, exits 2 naming the path and the chown to run; after that chown nothing of it is lost', async () => {
    // A root run's spool: real batches written by the spool itself, as root, with results the
    // collector takes (a's rounds to b, dated a minute ago).
    const dataDir = join(base, 'left-by-root', 'agent-a');
    const spool = await Spool.open(join(dataDir, 'spool'), { site: 'a' });
    const ids = Array.from({ length: 5 }, () => randomUUID());
    const results: RttResult[] = ids.map((rid, n) => ({
      ...rttResult(n, 'a', 'b'),
      id: rid,
      method: 'icmp',
      target: '127.0.0.2',
      time_ms: Date.now() - 60_000 + n,
    }));
    await spool.append(results, 2);
    await spool.close();
    chmodSync(join(base, 'left-by-root'), 0o755);
    const env = { WANWATCH_DATA_DIR: dataDir };

    // All of it root's: refused, naming the directory.
    const untouched = runAsUnit('CAP_NET_RAW', env);
    expect((await untouched.child).exitCode).toBe(2);
    expect(untouched.stderr()).toContain(`the data directory ${dataDir} is owned by root and this agent`);

    // Only the top directory handed over (a half fix): still refused, naming the spool.
    chownSync(dataDir, nobodyId('-u'), nobodyId('-g'));
    const refused = runAsUnit('CAP_NET_RAW', env);
    const done = await refused.child;
    expect(done.exitCode, refused.stderr()).toBe(2);
    const lines = refused.stderr().trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain(`the data directory ${dataDir} holds ${dataDir}/spool, owned by root`);
    expect(lines[0]).toContain('running as nobody');
    expect(lines[0]).not.toMatch(/\n\s+at /);
    const chown = /`(sudo chown -R [^`]+)`/.exec(lines[0] ?? '')?.[1];
    expect(chown).toBe(`sudo chown -R nobody: ${dataDir}`);

    // Run what it says (as root already: without sudo), and start again: the spool is sent.
    execFileSync('sh', ['-c', chown!.replace(/^sudo /, '')]);
    const run = runAsUnit('CAP_NET_RAW', env);
    try {
      await until('the left spool stored', run, () => {
        const stored = new Set(collector.store.rttResults('a', 'b', 0).map((r) => r.id));
        return ids.every((rid) => stored.has(rid)) ? true : undefined;
      });
    } finally {
      await run.stop();
    }
  });
});
