// Runs real agents in-process (real probes, real responders) for tests and benchmarks that need a
// fleet on loopback: one per site, each with its own data dir, every result they produce recorded.
// And real agent processes (`wanwatch agent`, startCliAgent) for what only a process shows: signals,
// SIGKILL, another user, the exit code and the log.
import { createSocket } from 'node:dgram';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { execa, type ResultPromise } from 'execa';
import { type Agent, type AgentOptions, createAgent, iperf3PidFile } from '../agent/runtime.ts';
import { RTT_PROBES } from '../probes/index.ts';
import { runThroughput } from '../probes/throughput.ts';
import { startResponder } from '../responder/index.ts';
import { freeTcpPort } from '../responder/iperf3-server.ts';
import { createLogger, type Logger } from '../shared/log.ts';
import type { Result } from '../shared/result.ts';
import { testAccess } from './topologies.ts';

export const quietLog: Logger = createLogger({}, () => {});

export function freeUdpPort(address: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createSocket('udp4');
    s.once('error', reject);
    s.bind(0, address, () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/**
 * The `sites:` and `clusters:` of a topology for two real agents on loopback: a at 127.0.0.1 and b at
 * 127.0.0.2 (tokens from WW_TOKEN_A and WW_TOKEN_B), each with free reflector and iperf3 ports, one
 * subcluster across them. Tests add their own `probes:`, `collector:` and the rest.
 */
export async function loopbackAgentSites(): Promise<string> {
  const a = await freeSitePorts('127.0.0.1');
  const b = await freeSitePorts('127.0.0.2');
  return `sites:
  a: {address: 127.0.0.1, token_env: WW_TOKEN_A, reflector_port: ${a.reflector_port}, iperf3_port: ${a.iperf3_port}}
  b: {address: 127.0.0.2, token_env: WW_TOKEN_B, reflector_port: ${b.reflector_port}, iperf3_port: ${b.iperf3_port}}
clusters:
  east:
    subclusters:
      sc1: {nodes: {n1: a, n2: b}}
`;
}

/**
 * loopbackAgentSites with the test credentials' `collector:` section (testbed/topologies.ts
 * testAccess: reads open). Tests add their own `probes:`, `thresholds:` and the rest.
 */
export async function twoLoopbackAgentSites(): Promise<string> {
  return `${await loopbackAgentSites()}${testAccess()}`;
}

/** A free UDP port for the reflector (which also listens on TCP) and a free TCP port for iperf3. */
export async function freeSitePorts(
  address: string,
): Promise<{ reflector_port: number; iperf3_port: number }> {
  for (;;) {
    // The reflector listens on UDP and TCP on its port; iperf3 on another TCP port.
    const reflector_port = await freeUdpPort(address);
    if (!(await tcpFree(address, reflector_port))) continue;
    const iperf3_port = await freeTcpPort(address);
    if (iperf3_port !== reflector_port) return { reflector_port, iperf3_port };
  }
}

function tcpFree(address: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(false));
    s.listen(port, address, () => s.close(() => resolve(true)));
  });
}

export interface Fleet {
  agents: Map<string, Agent>;
  produced: Result[];
  /**
   * Stops one agent (its spool stays on disk) and starts a new one on the same data dir. Resolves once
   * the old one stopped; the new one waits for the collector in the background if it is away.
   */
  restart(site: string): Promise<void>;
  stop(): Promise<void>;
}

export async function startFleet(
  sites: { site: string; token: string }[],
  opts: {
    collector: string;
    dir: string;
    log?: Logger;
    agent?: Partial<AgentOptions>;
    /** The agents' clock (default Date.now): a test sets one that is off. */
    now?: () => number;
  },
): Promise<Fleet> {
  const produced: Result[] = [];
  const agents = new Map<string, Agent>();
  const tokens = new Map(sites.map((s) => [s.site, s.token]));
  const make = (site: string): Agent => {
    const log = opts.log ?? quietLog;
    const dataDir = join(opts.dir, `agent-${site}`);
    return createAgent(
      {
        rttProbes: RTT_PROBES,
        runThroughput,
        // As `wanwatch agent` wires it: the iperf3 pid file in the data dir, iperf3 kept trying.
        startResponder: (config) =>
          startResponder({ ...config, log, pidFile: iperf3PidFile(dataDir), keepTrying: true }),
        log,
        onResult: (r) => produced.push(r),
        ...(opts.now === undefined ? {} : { now: opts.now }),
      },
      {
        site,
        collector: opts.collector,
        token: tokens.get(site)!,
        dataDir,
        batchMaxDelayMs: 200,
        retryMinMs: 100,
        retryMaxMs: 1000,
        requestTimeoutMs: 3000,
        ...opts.agent,
      },
    );
  };
  for (const { site } of sites) agents.set(site, make(site));
  await Promise.all([...agents.values()].map((a) => a.start()));
  return {
    agents,
    produced,
    restart: async (site) => {
      await agents.get(site)?.stop();
      const next = make(site);
      agents.set(site, next);
      next.start().catch((err: unknown) => {
        throw new Error(`restarted agent ${site} failed to start: ${String(err)}`);
      });
    },
    stop: async () => {
      await Promise.all([...agents.values()].map((a) => a.stop()));
    },
  };
}

const WANWATCH_BIN = new URL('../bin/wanwatch.js', import.meta.url).pathname;

export interface CliAgent {
  site: string;
  dataDir: string;
  pid: number;
  /** Everything it logged so far (JSON lines on stderr). */
  readonly stderr: string;
  /** Its log lines, parsed. */
  logs(): { level?: string; msg?: string; [field: string]: unknown }[];
  /** Resolves with its exit code (null when a signal ended it) once it exited. */
  readonly exited: Promise<number | null>;
  /** Sends `signal` and waits for the exit; the exit code. */
  kill(signal: 'SIGTERM' | 'SIGINT' | 'SIGKILL'): Promise<number | null>;
}

/**
 * Starts `wanwatch agent` for one site as its own process, as an operator runs it (optionally as another
 * user, through runuser: that user must be able to write `dataDir`).
 */
export function startCliAgent(o: {
  site: string;
  token: string;
  collector: string;
  dataDir: string;
  user?: string;
  args?: string[];
  env?: Record<string, string>;
}): CliAgent {
  const argv = [WANWATCH_BIN, 'agent', '--site', o.site, '--collector', o.collector, '--data-dir', o.dataDir];
  const env = { WANWATCH_TOKEN: o.token, WANWATCH_LOG: 'info', ...o.env };
  const child: ResultPromise = o.user
    ? execa(
        'runuser',
        [
          '-u',
          o.user,
          '--',
          'env',
          ...Object.entries(env).map(([k, v]) => `${k}=${v}`),
          'node',
          ...argv,
          ...(o.args ?? []),
        ],
        { reject: false },
      )
    : execa('node', [...argv, ...(o.args ?? [])], { reject: false, env });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  const exited = child.then((r) => (r.signal ? null : (r.exitCode ?? null)));
  return {
    site: o.site,
    dataDir: o.dataDir,
    pid: child.pid ?? -1,
    get stderr() {
      return stderr;
    },
    logs: () =>
      stderr
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => {
          try {
            return JSON.parse(l) as { level?: string; msg?: string };
          } catch {
            return {};
          }
        }),
    exited,
    kill: async (signal) => {
      child.kill(signal);
      return exited;
    },
  };
}
