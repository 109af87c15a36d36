// The real command line against a collector whose reads are closed: `wanwatch status` reads with a
// viewer's credential from --token-file or WANWATCH_CREDENTIAL and says what to do without one or with a
// wrong one; `wanwatch qualify -c … --collector …` needs an operator's credential and says so, and the
// collector refuses a viewer's.
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestCollector, type TestCollector, tempDir } from '../../../testbed/collector.ts';
import {
  CREDENTIAL_ENV,
  OPERATOR_TOKEN,
  TOKEN_ENV,
  threeSites,
  VIEWER_TOKEN,
} from '../../../testbed/topologies.ts';
import { wanwatch } from '../../support/cli.ts';

let c: TestCollector;
const dir = tempDir('cli-access');
const viewerFile = join(dir, 'viewer.token');

beforeAll(async () => {
  c = await startTestCollector(threeSites({ publicRead: false }), {
    env: { ...TOKEN_ENV, ...CREDENTIAL_ENV },
  });
  writeFileSync(viewerFile, `${VIEWER_TOKEN}\n`);
});
afterAll(async () => {
  await c?.dispose();
  rmSync(dir, { recursive: true, force: true });
});

describe('wanwatch status with reads closed', () => {
  it('without a credential: exit 2, saying how to give one', async () => {
    const s = await wanwatch(['status', '--collector', c.url]);
    expect(s.exitCode).toBe(2);
    expect(s.stderr).toContain(
      `${c.url}/api/v1/links answered 401: reading needs a viewer or operator credential: missing Authorization header; send "Authorization: Bearer <credential>"; give a viewer or operator credential with --token-file FILE or $WANWATCH_CREDENTIAL`,
    );
  });

  it('reads with a viewer credential from --token-file or WANWATCH_CREDENTIAL', async () => {
    for (const r of [
      await wanwatch(['status', '--collector', c.url, '--token-file', viewerFile]),
      await wanwatch(['status', '--collector', c.url], { env: { WANWATCH_CREDENTIAL: VIEWER_TOKEN } }),
      await wanwatch(['status', '--collector', c.url, '--json'], {
        env: { WANWATCH_CREDENTIAL: OPERATOR_TOKEN },
      }),
    ]) {
      expect(r.exitCode, r.stderr).toBe(0);
      expect(r.stdout).toMatch(/^LINK\s+DIRECTION|^\{"time_ms"/);
    }
  });

  it('with a wrong credential: exit 2, naming where it came from', async () => {
    const s = await wanwatch(['status', '--collector', c.url], { env: { WANWATCH_CREDENTIAL: 'not-it' } });
    expect(s.exitCode).toBe(2);
    expect(s.stderr).toMatch(
      /answered 401: .*; check the credential in --token-file or \$WANWATCH_CREDENTIAL against the collector's collector\.credentials/,
    );
    const missing = await wanwatch(['status', '--collector', c.url, '--token-file', join(dir, 'nope')]);
    expect(missing.exitCode).toBe(2);
    expect(missing.stderr).toMatch(/--token-file: cannot read ".*nope": ENOENT/);
  });
});

describe('wanwatch qualify, mesh mode', () => {
  const qualify = (env?: Record<string, string>) =>
    wanwatch(
      ['qualify', '-c', c.configPath, '--collector', c.url, '--duration', '3s', '--no-throughput'],
      env === undefined ? {} : { env },
    );

  it('needs an operator credential, and says so without one', async () => {
    const r = await qualify();
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain(
      'mesh mode needs an operator credential of the collector (collector.credentials): --token-file FILE or $WANWATCH_CREDENTIAL',
    );
  });

  it("is refused with a viewer's credential", async () => {
    const r = await qualify({ WANWATCH_CREDENTIAL: VIEWER_TOKEN });
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain(
      'answered 403: starting a qualification needs an operator credential; credential "viewer" has the role viewer',
    );
  });
});
