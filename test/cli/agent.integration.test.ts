// `wanwatch agent` as a user runs it: the real command line against the real collector (in-process).
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type RunningCollector, startCollector } from '../../collector/collector.ts';
import { createLogger } from '../../shared/log.ts';
import { freePort } from '../../testbed/ports.ts';
import { remount, tmpfs, unmountAll } from '../agent/mounts.ts';
import { WANWATCH, wanwatch } from '../support/cli.ts';
import { requireRoot } from '../support/privilege.ts';

const root = requireRoot(
  'a read-only data directory needs a tmpfs mounted read-only (chmod does not stop root)',
);

const TOKENS = { WW_TOKEN_A: 'cli-token-a', WW_TOKEN_B: 'cli-token-b' };
// TCP connect to 127.0.0.2:1, where nothing listens: every round is a `refused` error Result, which is
// still a result to push. The agent's own responder gets free ports (0).
const TOPOLOGY = `sites:
  a: {address: 127.0.0.1, token_env: WW_TOKEN_A}
  b: {address: 127.0.0.2, token_env: WW_TOKEN_B}
clusters:
  east:
    subclusters:
      sc1: {nodes: {n1: a, n2: b}}
probes:
  rtt: {method: tcp, tcp_port: 1, interval: 200ms, count: 2, spacing: 10ms, timeout: 200ms}
  throughput: {enabled: false}
  heartbeat: {interval: 300ms, timeout: 1s}
`;

let collector: RunningCollector | undefined;
let dir: string;
let port: number;
let url: string;

async function startTheCollector(): Promise<void> {
  collector = await startCollector({
    configPath: join(dir, 'topology.yaml'),
    listen: `127.0.0.1:${port}`,
    dataDir: join(dir, 'collector'),
    env: TOKENS,
    planRefreshMs: 1000,
    evaluateIntervalMs: 60_000,
    log: createLogger({}, () => {}),
  });
}
async function stopTheCollector(): Promise<void> {
  await collector?.close();
  collector = undefined;
}
const stored = () => collector?.store.rttResults('a', 'b', 0) ?? [];
const heartbeat = () => collector?.store.agents().find((x) => x.site === 'a')?.heartbeat;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'wanwatch-agent-cli-'));
  await writeFile(join(dir, 'topology.yaml'), TOPOLOGY);
  port = await freePort();
  url = `http://127.0.0.1:${port}`;
  await startTheCollector();
});
afterEach(async () => {
  await stopTheCollector();
  await rm(dir, { recursive: true, force: true });
});
afterAll(() => unmountAll());

async function until(what: string, cond: () => boolean, timeoutMs = 20_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('wanwatch agent', () => {
  it('--help explains every option and its default', async () => {
    const r = await wanwatch(['agent', '--help']);
    expect(r.exitCode).toBe(0);
    for (const opt of [
      '--site',
      '--collector',
      '--token ',
      'WANWATCH_TOKEN',
      '--token-file',
      '--data-dir',
      '$STATE_DIRECTORY under systemd',
      '--spool-max-results',
      '100000',
      '--batch-max-results',
      '--batch-max-delay',
    ]) {
      expect(r.stdout).toContain(opt);
    }
  });

  it('exits 2 with the collector’s message when the token is wrong', async () => {
    const r = await wanwatch(['agent', '--site', 'a', '--collector', url, '--data-dir', dir], {
      env: { WANWATCH_TOKEN: 'wrong' },
    });
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain('refused site "a" (401): the bearer token matches no site');
    expect(r.stderr).toContain('sites.a.token_env or token_sha256');
  });

  it('exits 2 with the collector’s message when the site is not in the topology', async () => {
    const r = await wanwatch(['agent', '--site', 'nowhere', '--collector', url, '--data-dir', dir], {
      env: { WANWATCH_TOKEN: TOKENS.WW_TOKEN_A },
    });
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain('refused site "nowhere" (403)');
    expect(r.stderr).toContain('"nowhere" (not a site in the topology)');
  });

  it('takes every option from the environment: started with none on its command line', async () => {
    const r = await wanwatch(['agent'], {
      env: {
        WANWATCH_SITE: 'nowhere',
        WANWATCH_COLLECTOR: url,
        WANWATCH_TOKEN: TOKENS.WW_TOKEN_A,
        WANWATCH_DATA_DIR: dir,
        WANWATCH_BATCH_MAX_DELAY: '1s',
      },
    });
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain('refused site "nowhere" (403)');
    // A bad value from the environment is refused, naming the variable.
    const bad = await wanwatch(['agent'], {
      env: { WANWATCH_SITE: 'a', WANWATCH_COLLECTOR: url, WANWATCH_SPOOL_MAX_RESULTS: '0' },
    });
    expect(bad.exitCode).toBe(2);
    expect(bad.stderr).toContain("from env 'WANWATCH_SPOOL_MAX_RESULTS' is invalid");
    // --token on the command line wins over a WANWATCH_TOKEN_FILE of the environment.
    const cli = await wanwatch(['agent', '--site', 'a', '--token', 'wrong'], {
      env: { WANWATCH_COLLECTOR: url, WANWATCH_DATA_DIR: dir, WANWATCH_TOKEN_FILE: join(dir, 'none') },
    });
    expect(cli.exitCode).toBe(2);
    expect(cli.stderr).toContain('refused site "a" (401)');
  });

  it('exits 2 naming the input when the token, URL or spool bound is missing or wrong', async () => {
    const noToken = await wanwatch(['agent', '--site', 'a', '--collector', url], {
      env: { WANWATCH_TOKEN: '' },
    });
    expect(noToken.exitCode).toBe(2);
    expect(noToken.stderr).toContain('no token: set WANWATCH_TOKEN');
    const badUrl = await wanwatch(['agent', '--site', 'a', '--collector', 'collector:8080', '--token', 't']);
    expect(badUrl.exitCode).toBe(2);
    expect(badUrl.stderr).toContain('--collector: "collector:8080" is not an http(s) URL');
    const badBound = await wanwatch([
      'agent',
      '--site',
      'a',
      '--collector',
      url,
      '--token',
      't',
      '--spool-max-results',
      '0',
    ]);
    expect(badBound.exitCode).toBe(2);
    expect(badBound.stderr).toContain('--spool-max-results must be a whole number ≥ 1 (got "0")');
    const missingFile = await wanwatch([
      'agent',
      '--site',
      'a',
      '--collector',
      url,
      '--token-file',
      join(dir, 'none'),
    ]);
    expect(missingFile.exitCode).toBe(2);
    expect(missingFile.stderr).toContain('--token-file: cannot read');
  });

  it('reads the token from --token-file, pushes results and heartbeats, and on SIGTERM spools what is left and exits 0', async () => {
    const tokenFile = join(dir, 'token');
    await writeFile(tokenFile, `${TOKENS.WW_TOKEN_A}\n`);
    const child = execa(
      'node',
      [WANWATCH, 'agent', '--site', 'a', '--collector', url, '--token-file', tokenFile],
      // No --data-dir: the default under systemd, $STATE_DIRECTORY.
      {
        reject: false,
        cwd: dir,
        env: { WANWATCH_TOKEN: '', STATE_DIRECTORY: join(dir, 'state') },
        all: true,
      },
    );
    await until('results and a heartbeat', () => stored().length >= 2 && heartbeat() !== undefined);
    const r = stored()[0]!;
    expect(r).toMatchObject({ src: 'a', dst: 'b', kind: 'rtt', method: 'tcp' });
    expect(r.error?.code).toBe('refused');
    expect(heartbeat()).toMatchObject({ site: 'a', spool_dropped: 0 });
    // Collector away, then SIGTERM: results made meanwhile stay in the default data dir's spool.
    await stopTheCollector();
    await new Promise((res) => setTimeout(res, 800));
    child.kill('SIGTERM');
    const done = await child;
    expect(done.exitCode).toBe(0);
    const spooled = await readdir(join(dir, 'state', 'spool'));
    expect(spooled.some((n) => n.endsWith('.json') && n !== 'state.json')).toBe(true);
  });

  it.runIf(root)('exits 2 with one line saying what is wrong when --data-dir cannot be written', async () => {
    const disk = tmpfs(64);
    remount(disk, 'ro');
    const r = await wanwatch(['agent', '--site', 'a', '--collector', url, '--data-dir', join(disk, 'data')], {
      env: { WANWATCH_TOKEN: TOKENS.WW_TOKEN_A },
    });
    expect(r.exitCode).toBe(2);
    const lines = r.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(
      /^wanwatch: cannot write the data directory \S+\/data \(EROFS: read-only file system/,
    );
    expect(lines[0]).toContain('give --data-dir a directory that the user running the agent can write');
  });

  it('keeps retrying with a log line while the collector is unreachable at start', async () => {
    await stopTheCollector();
    const child = execa('node', [WANWATCH, 'agent', '--site', 'a', '--collector', url, '--data-dir', dir], {
      reject: false,
      env: { WANWATCH_TOKEN: TOKENS.WW_TOKEN_A },
    });
    let stderr = '';
    child.stderr?.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    await until('a retry log line', () => stderr.includes('cannot get the plan from the collector yet'));
    expect(stderr).toContain('connection refused');
    await startTheCollector();
    await until('results after the collector came up', () => stored().length >= 1);
    child.kill('SIGINT');
    expect((await child).exitCode).toBe(0);
  });
});
