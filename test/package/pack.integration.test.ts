// The package as a user gets it: `npm pack` (which builds dist/ through prepack), installed globally
// into a temporary prefix with `npm install -g --offline` (every dependency from npm's cache, which
// .ci/install fills), then run from that install, from a folder outside the checkout: --version, `plan`
// on a bundled example, and a collector and two agents measuring each other on loopback. Runs on
// whichever Node runs the tests (CI: 20, 22 and 24).
//
// The native parts: raw-socket and wanwatch's own addon (probes/native) compile with node-gyp as on a
// site. better-sqlite3 takes the binary `npm ci` compiled from the same sources for this Node, handed to
// its installer (prebuild-install) as a local prebuilt binary, the route a site with prebuilt binaries
// takes: compiling SQLite again would take a minute and prove nothing `npm ci` has not.
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { execa, type ResultPromise } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DirectionJson, linksReplySchema } from '../../shared/alerts-wire.ts';
import { loopbackAgentSites } from '../../testbed/agents.ts';
import { freePort, waitFor } from '../../testbed/ports.ts';

const ROOT = new URL('../..', import.meta.url).pathname;
const VERSION = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;

let dir: string;
let prefix: string;
let pkgDir: string;
let cwd: string;
let env: Record<string, string>;
const running: ResultPromise[] = [];

/** `wanwatch` found on PATH, as a user runs it; the Node that runs the tests comes first on PATH. */
function wanwatch(args: string[]) {
  return execa('wanwatch', args, { cwd, env, extendEnv: false, reject: false, timeout: 30_000 });
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'wanwatch-package-'));
  prefix = join(dir, 'prefix');
  cwd = join(dir, 'elsewhere');
  await mkdir(cwd);
  env = {
    PATH: [dirname(process.execPath), join(prefix, 'bin'), '/usr/local/bin', '/usr/bin', '/bin'].join(
      delimiter,
    ),
    HOME: process.env.HOME ?? dir,
    // node-gyp's headers for a Node that is not the system's (CI's Node 22 and 24): see .ci/node.
    ...(process.env.npm_config_nodedir ? { npm_config_nodedir: process.env.npm_config_nodedir } : {}),
    JOBS: 'max',
  };
  const prebuilds = join(dir, 'prebuilds');
  await mkdir(prebuilds);
  const sqlite = join(ROOT, 'node_modules', 'better-sqlite3');
  const sqliteVersion = (
    JSON.parse(readFileSync(join(sqlite, 'package.json'), 'utf8')) as { version: string }
  ).version;
  await execa('tar', [
    '-czf',
    join(
      prebuilds,
      `better-sqlite3-v${sqliteVersion}-node-v${process.versions.modules}-linux-${process.arch}.tar.gz`,
    ),
    '-C',
    sqlite,
    'build/Release/better_sqlite3.node',
  ]);
  env.npm_config_better_sqlite3_local_prebuilds = prebuilds;
  const pack = await execa('npm', ['pack', '--silent', '--pack-destination', dir], {
    cwd: ROOT,
    env: { ...process.env, PATH: env.PATH },
  });
  const tarball = join(dir, pack.stdout.trim().split('\n').at(-1) ?? '');
  const install = await execa(
    'npm',
    [
      'install',
      '--global',
      '--prefix',
      prefix,
      '--offline',
      '--no-audit',
      '--no-fund',
      '--allow-scripts=wanwatch,better-sqlite3,raw-socket',
      tarball,
    ],
    { cwd, env, extendEnv: false, reject: false, all: true },
  );
  if (install.exitCode !== 0)
    throw new Error(
      `npm install -g --offline ${tarball} failed${/ENOTCACHED/.test(install.all ?? '') ? " (npm's cache lacks a dependency: run bash .ci/npm-cache, which caches what installing the package fetches; .ci/install runs it)" : ''}:\n${install.all}`,
    );
  pkgDir = join(prefix, 'lib', 'node_modules', 'wanwatch');
}, 300_000);

afterAll(async () => {
  for (const p of running) p.kill('SIGTERM');
  await Promise.allSettled(running);
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('the installed package', () => {
  it('holds what users run, its native parts built, and none of the development files', async () => {
    const top = (await readdir(pkgDir)).sort();
    expect(top).toEqual(
      expect.arrayContaining([
        'bin',
        'dist',
        'examples',
        'dashboards',
        'package.json',
        'README.md',
        'LICENSE',
      ]),
    );
    for (const dev of [
      'test',
      'bench',
      'testbed',
      'lab',
      'scripts',
      '.ci',
      'cli',
      'collector',
      'tsconfig.json',
    ])
      expect(top, `${dev} is in the package`).not.toContain(dev);
    expect(existsSync(join(pkgDir, 'node_modules', 'tsx')), 'tsx installed with the package').toBe(false);
    expect(existsSync(join(pkgDir, 'dist', 'wanwatch.js'))).toBe(true);
    expect(existsSync(join(pkgDir, 'dist', 'console', 'index.html')), 'the web console').toBe(true);
    // Built at install for this Node: the kernel timestamps addon (whose install step only warns when it
    // fails) and the SQLite store's.
    expect(existsSync(join(pkgDir, 'probes', 'native', 'build', 'Release', 'wwsock.node'))).toBe(true);
    expect(
      existsSync(join(pkgDir, 'node_modules', 'better-sqlite3', 'build', 'Release', 'better_sqlite3.node')),
    ).toBe(true);
  });

  it('prints its version, the one in package.json', async () => {
    const r = await wanwatch(['--version']);
    expect(r.stderr).toBe('');
    expect(r.stdout.trim()).toBe(VERSION);
    expect(r.exitCode).toBe(0);
  });

  it('--help names an example that exists, and plan runs on it', async () => {
    const help = await wanwatch(['--help']);
    const example = /Start with: wanwatch plan -c (\S+)/.exec(help.stdout)?.[1];
    expect(example, help.stdout).toBeDefined();
    const r = await wanwatch(['plan', '-c', example!]);
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/A – B\s+1\s+5 Mbps\s+80 ms/);
    expect(r.exitCode).toBe(0);
  });

  it('plans a bundled example as JSON', async () => {
    const r = await wanwatch(['plan', '-c', join(pkgDir, 'examples', 'full.yaml'), '--json']);
    expect(r.exitCode).toBe(0);
    const plan = JSON.parse(r.stdout) as { links: { sites: string[]; required_mbps: number }[] };
    expect(plan.links.length).toBeGreaterThan(0);
    for (const l of plan.links) expect(l.required_mbps).toBeGreaterThan(0);
  });

  it('runs a collector and two agents that measure each other on loopback', async () => {
    const [collectorPort, sites] = await Promise.all([freePort('127.0.0.1'), loopbackAgentSites()]);
    const config = join(dir, 'topology.yaml');
    await writeFile(
      config,
      `${sites}probes:
  rtt: {method: udp, interval: 500ms, count: 3, spacing: 10ms, timeout: 500ms}
  throughput: {enabled: false}
  heartbeat: {interval: 1s, timeout: 5s}
collector:
  public_read: true
`,
    );
    const url = `http://127.0.0.1:${collectorPort}`;
    const tokens = { WW_TOKEN_A: 'package-token-a', WW_TOKEN_B: 'package-token-b' };
    const output: string[] = [];
    const start = (name: string, args: string[], extra: Record<string, string>) => {
      const p = execa('wanwatch', args, {
        cwd,
        env: { ...env, ...extra },
        extendEnv: false,
        reject: false,
        all: true,
      });
      p.all?.on('data', (d: Buffer) => output.push(`${name}: ${d.toString().trimEnd()}`));
      running.push(p);
      return p;
    };
    start(
      'collector',
      [
        'collector',
        '-c',
        config,
        '--listen',
        `127.0.0.1:${collectorPort}`,
        '--data-dir',
        join(dir, 'collector'),
        '--evaluate-interval',
        '500ms',
      ],
      tokens,
    );
    for (const site of ['a', 'b'] as const)
      start(
        `agent ${site}`,
        ['agent', '--site', site, '--collector', url, '--data-dir', join(dir, `agent-${site}`)],
        {
          WANWATCH_TOKEN: site === 'a' ? tokens.WW_TOKEN_A : tokens.WW_TOKEN_B,
        },
      );

    let directions: DirectionJson[] = [];
    const measuredBothWays = async () => {
      const r = await fetch(`${url}/api/v1/links`);
      directions = linksReplySchema.parse(await r.json()).links.flatMap((l) => l.directions);
      return directions.length === 2 && directions.every((d) => d.rtt_ms !== null && d.rounds_in_window > 0);
    };
    await waitFor('both directions measured', measuredBothWays, 30_000).catch((err: Error) => {
      throw new Error(`${err.message}; directions: ${JSON.stringify(directions)}\n${output.join('\n')}`);
    });
    expect(directions.map((d) => `${d.src}>${d.dst}`).sort()).toEqual(['a>b', 'b>a']);
    for (const d of directions) {
      expect(d.rtt_ms).toBeGreaterThan(0);
      expect(d.rtt_ms).toBeLessThan(50);
      expect(d.loss_percent).toBe(0);
    }
  }, 60_000);
});
