// The collector as deploy/systemd/wanwatch-collector.service runs it, without systemd: `wanwatch
// collector` as the unprivileged user nobody through setpriv with no capability in any set and no way
// to gain one, with the unit's environment (WANWATCH_DATA_DIR under %S, a state directory owned by that
// user as StateDirectory= makes it) and deploy/etc/collector.env's. It serves, stores, and stops cleanly.
// And every variable the units and their environment files name is one wanwatch reads.
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { requireRoot } from '../support/privilege.ts';
import { nobodyId, nobodyStateDirectory, wanwatchAsNobody } from './as-nobody.ts';
import { AGENT_UNIT, COLLECTOR_UNIT, envFile, unitEnvironment } from './units.ts';

const WANWATCH_BIN = new URL('../../bin/wanwatch.js', import.meta.url).pathname;
const root = requireRoot('running the collector as nobody through setpriv');
let base: string | undefined;

afterAll(() => {
  if (base) rmSync(base, { recursive: true, force: true });
});

const help = (command: string) =>
  execFileSync('node', [WANWATCH_BIN, command, '--help'], { encoding: 'utf8' });

describe('the units’ environment', () => {
  it('names only variables wanwatch reads (each in the command’s --help, or the log level)', () => {
    for (const [command, unit, file] of [
      ['collector', COLLECTOR_UNIT, 'collector.env'],
      ['agent', AGENT_UNIT, 'agent.env'],
    ] as const) {
      const text = help(command);
      const names = [
        ...Object.keys(unitEnvironment(unit, { instance: 'x' })),
        ...Object.keys(envFile(file, { commented: true })),
      ].filter((n) => n.startsWith('WANWATCH_') && n !== 'WANWATCH_LOG');
      expect(names.length).toBeGreaterThan(1);
      for (const name of names) expect(text, `${unit} or ${file} sets ${name}`).toContain(name);
    }
  });
});

describe.runIf(root)('the collector as its unit runs it, as nobody with no capability', () => {
  it('serves, keeps its store in the unit’s state directory, and stops cleanly on SIGTERM', async () => {
    base = mkdtempSync(join(tmpdir(), 'wanwatch-collector-unit-'));
    chmodSync(base, 0o755);
    const stateRoot = join(base, 'var-lib');
    const env = unitEnvironment(COLLECTOR_UNIT, { stateRoot });
    expect(env.WANWATCH_CONFIG).toBe('/etc/wanwatch/collector.yaml');
    expect(env.WANWATCH_DATA_DIR).toBe(join(stateRoot, 'wanwatch', 'collector'));
    // What StateDirectory=wanwatch/collector makes: root's parents, the user's directory.
    const dataDir = env.WANWATCH_DATA_DIR ?? '';
    nobodyStateDirectory(dataDir);
    // The topology stands where /etc/wanwatch/collector.yaml would, readable by the user.
    const config = join(base, 'collector.yaml');
    writeFileSync(
      config,
      'sites:\n  a: {address: 127.0.0.1}\n  b: {address: 127.0.0.2}\nclusters:\n  east:\n    subclusters:\n      sc1: {nodes: {n1: a, n2: b}}\ncollector: {public_read: true}\n',
      { mode: 0o644 },
    );
    const fromFile = envFile('collector.env');
    expect(fromFile.WANWATCH_LISTEN).toBe('0.0.0.0:8080');
    const child = wanwatchAsNobody(
      '',
      { ...env, ...fromFile, WANWATCH_CONFIG: config, WANWATCH_LISTEN: '127.0.0.1:0' },
      ['collector'],
    );
    try {
      let out = '';
      child.stdout?.on('data', (d: Buffer) => {
        out += d.toString();
      });
      let err = '';
      child.stderr?.on('data', (d: Buffer) => {
        err += d.toString();
      });
      const end = Date.now() + 20_000;
      let url: string | undefined;
      while (url === undefined) {
        url = /listening on (http:\/\/\S+)/.exec(out + err)?.[1];
        if (Date.now() > end) throw new Error(`the collector did not start:\n${out}\n${err}`);
        await new Promise((r) => setTimeout(r, 100));
      }
      expect(await (await fetch(`${url}/healthz`)).json()).toEqual({ ok: true });
      const status = readFileSync(`/proc/${child.pid}/status`, 'utf8');
      expect(status).toMatch(/^CapEff:\s+0{16}$/m);
      expect(status).toMatch(/^CapBnd:\s+0{16}$/m);
      expect(status).toMatch(new RegExp(`^Uid:\\s+${nobodyId('-u')}\\s`, 'm'));
      expect(existsSync(join(dataDir, 'wanwatch.sqlite'))).toBe(true);
      child.kill('SIGTERM');
      expect((await child).exitCode).toBe(0);
    } finally {
      child.kill('SIGKILL');
    }
  });
});
