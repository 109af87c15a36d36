// The systemd units in deploy/ as systemd itself reads them: `systemd-analyze verify` loads each one
// into a root directory laid out like a host after the deploy guide's install (the distribution's
// units, ours in /etc/systemd/system, a `wanwatch` command in /usr/local/bin), so an unknown directive,
// a bad specifier, a missing dependency or a command systemd cannot find fails the test. The user comes
// from deploy/sysusers.d through systemd-sysusers, and `systemd-analyze security` scores the hardening.
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AGENT_UNIT, COLLECTOR_UNIT, DEPLOY_DIR, UNITS_DIR, unitDirectives } from './units.ts';

const WANWATCH_BIN = new URL('../../bin/wanwatch.js', import.meta.url).pathname;

function systemdMissing(): string | undefined {
  for (const tool of ['systemd-analyze', 'systemd-sysusers']) {
    if (spawnSync(tool, ['--version']).status !== 0)
      return `${tool} is not installed (Debian package systemd)`;
  }
  return undefined;
}
const missing = systemdMissing();
if (missing !== undefined) {
  if (process.env.WANWATCH_REQUIRE_LAB === '1')
    throw new Error(`${missing}; WANWATCH_REQUIRE_LAB=1 forbids skipping: .ci/install installs it`);
  process.stderr.write(`skipping the systemd unit tests: ${missing}\n`);
}

let root: string;

/** A host's root as the deploy guide leaves it, in a temporary directory. */
function installRoot(withCommand: boolean): string {
  const dir = mkdtempSync(join(tmpdir(), 'wanwatch-systemd-root-'));
  mkdirSync(join(dir, 'usr/lib/systemd'), { recursive: true });
  // The distribution's units (targets, slices): ours are checked against the real ones.
  cpSync('/usr/lib/systemd/system', join(dir, 'usr/lib/systemd/system'), {
    recursive: true,
    verbatimSymlinks: true,
  });
  mkdirSync(join(dir, 'etc/systemd/system'), { recursive: true });
  for (const unit of [AGENT_UNIT, COLLECTOR_UNIT])
    cpSync(UNITS_DIR + unit, join(dir, 'etc/systemd/system', unit));
  mkdirSync(join(dir, 'usr/bin'), { recursive: true });
  symlinkSync('usr/bin', join(dir, 'bin'));
  cpSync('/usr/bin/kill', join(dir, 'usr/bin/kill'));
  if (withCommand) {
    // What `npm install -g` puts there: a command that runs wanwatch (here, the checkout's).
    mkdirSync(join(dir, 'usr/local/bin'), { recursive: true });
    const cmd = join(dir, 'usr/local/bin/wanwatch');
    writeFileSync(cmd, `#!/bin/sh\nexec node ${WANWATCH_BIN} "$@"\n`, { mode: 0o755 });
  }
  return dir;
}

function verify(dir: string, ...units: string[]) {
  const r = spawnSync('systemd-analyze', ['verify', '--man=no', `--root=${dir}`, ...units], {
    encoding: 'utf8',
  });
  return { status: r.status, output: `${r.stdout}${r.stderr}`.trim() };
}

beforeAll(() => {
  if (missing === undefined) root = installRoot(true);
});
afterAll(() => {
  if (root) rmSync(root, { recursive: true, force: true });
});

describe.runIf(missing === undefined)('the systemd units in deploy/systemd', () => {
  it('pass systemd-analyze verify without a single warning, the agent for a site named like a real one', () => {
    const r = verify(root, COLLECTOR_UNIT, 'wanwatch-agent@dallas-1.service');
    expect(r.output).toBe('');
    expect(r.status).toBe(0);
  });

  it('fail verification when the wanwatch command is not installed (so the check above means something)', () => {
    const bare = installRoot(false);
    try {
      const r = verify(bare, COLLECTOR_UNIT, 'wanwatch-agent@dallas.service');
      expect(r.status).not.toBe(0);
      expect(r.output).toContain('Command wanwatch is not executable');
    } finally {
      rmSync(bare, { recursive: true, force: true });
    }
  });

  it('fail verification on a misspelt directive (verify reads every line)', () => {
    const bad = installRoot(true);
    try {
      const path = join(bad, 'etc/systemd/system', COLLECTOR_UNIT);
      const text = readFileSync(path, 'utf8').replace('ProtectHome=yes', 'ProtectHomes=yes');
      writeFileSync(path, text);
      const r = verify(bad, COLLECTOR_UNIT);
      expect(r.output).toMatch(/Unknown key 'ProtectHomes' in section \[Service\]/);
    } finally {
      rmSync(bad, { recursive: true, force: true });
    }
  });

  it('give the agent CAP_NET_RAW alone, ambient and bounding, and the collector no capability', () => {
    const agent = unitDirectives(AGENT_UNIT);
    expect(agent.get('AmbientCapabilities')).toEqual(['CAP_NET_RAW']);
    expect(agent.get('CapabilityBoundingSet')).toEqual(['CAP_NET_RAW']);
    const collector = unitDirectives(COLLECTOR_UNIT);
    expect(collector.get('AmbientCapabilities')).toEqual(['']);
    expect(collector.get('CapabilityBoundingSet')).toEqual(['']);
    for (const unit of [agent, collector]) {
      expect(unit.get('User')).toEqual(['wanwatch']);
      expect(unit.get('NoNewPrivileges')).toEqual(['yes']);
      expect(unit.get('Restart')).toEqual(['on-failure']);
      expect(unit.get('StateDirectory')?.[0]).toMatch(/^wanwatch\//);
    }
  });

  it.each([
    [COLLECTOR_UNIT, COLLECTOR_UNIT],
    [AGENT_UNIT, 'wanwatch-agent@dallas.service'],
  ])('%s scores an exposure of 2.5 or less in systemd-analyze security', (_unit, name) => {
    const r = spawnSync(
      'systemd-analyze',
      ['security', '--offline=yes', `--root=${root}`, '--no-pager', name],
      {
        encoding: 'utf8',
      },
    );
    const m = /Overall exposure level for \S+: (\d+\.\d+)/.exec(r.stdout);
    expect(m, r.stdout + r.stderr).not.toBeNull();
    const exposure = Number(m?.[1]);
    process.stdout.write(`${name}: systemd-analyze security exposure ${exposure}\n`);
    expect(exposure).toBeLessThanOrEqual(2.5);
  });

  it('sysusers.d creates the user wanwatch: a system user with no login, at home in /var/lib/wanwatch', () => {
    const dir = mkdtempSync(join(tmpdir(), 'wanwatch-sysusers-'));
    try {
      mkdirSync(join(dir, 'etc'));
      execFileSync('systemd-sysusers', [`--root=${dir}`, `${DEPLOY_DIR}sysusers.d/wanwatch.conf`], {
        stdio: 'pipe',
      });
      const entry = readFileSync(join(dir, 'etc/passwd'), 'utf8')
        .split('\n')
        .find((l) => l.startsWith('wanwatch:'));
      const [, , uid, , , home, shell] = entry?.split(':') ?? [];
      expect(Number(uid)).toBeLessThan(1000);
      expect(home).toBe('/var/lib/wanwatch');
      expect(shell).toBe('/usr/sbin/nologin');
      expect(readFileSync(join(dir, 'etc/group'), 'utf8')).toMatch(/^wanwatch:x:\d+:/m);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
