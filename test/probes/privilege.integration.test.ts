// requireRoot itself, run as an unprivileged user: it must skip with a printed reason, and refuse to
// skip when WANWATCH_REQUIRE_LAB=1.
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { requireRoot } from '../support/privilege.ts';

const root = requireRoot('switching to an unprivileged user');
const helper = new URL('../support/privilege.ts', import.meta.url).pathname;
const script = `const { requireRoot } = await import(${JSON.stringify(helper)}); console.log(String(requireRoot('raw sockets')));`;
const asNobody = (env: Record<string, string>) =>
  execa(
    'runuser',
    [
      '-u',
      'nobody',
      '--',
      'env',
      ...Object.entries(env).map(([k, v]) => `${k}=${v}`),
      'node',
      '--import',
      'tsx',
      '--input-type=module',
      '-e',
      script,
    ],
    {
      reject: false,
    },
  );

describe.runIf(root)('requireRoot', () => {
  it('says true for root', () => {
    expect(requireRoot('anything')).toBe(true);
  });

  it('skips for another user, printing why', async () => {
    const r = await asNobody({ WANWATCH_REQUIRE_LAB: '0' });
    expect(r.stdout.trim()).toBe('false');
    expect(r.stderr).toContain('skipping: needs root: raw sockets (running as uid 65534)');
  });

  it('fails instead of skipping when WANWATCH_REQUIRE_LAB=1', async () => {
    const r = await asNobody({ WANWATCH_REQUIRE_LAB: '1' });
    expect(r.exitCode).not.toBe(0);
    expect(r.stderr).toContain('WANWATCH_REQUIRE_LAB=1 forbids skipping');
  });
});
