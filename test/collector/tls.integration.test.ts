// The collector's TLS as a client sees it: forward-secret suites only (checked with openssl s_client),
// a renewed certificate served without a restart (SIGHUP, or just replacing the files), and a real
// `wanwatch agent` that trusts a self-signed collector through --ca.
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tlsFetch } from '../../shared/tls-client.ts';
import type { AgentsReply } from '../../shared/wire.ts';
import { eventually, tempDir } from '../../testbed/collector.ts';
import { TOKEN_A, twoSites } from '../../testbed/topologies.ts';
import { runCollector, WANWATCH } from '../support/cli.ts';

/** A self-signed RSA certificate for 127.0.0.1 (RSA, so that plain-RSA suites could be offered at all). */
function selfSigned(dir: string, name: string): { cert: string; key: string } {
  const cert = join(dir, `${name}.crt`);
  const key = join(dir, `${name}.key`);
  execFileSync(
    'openssl',
    ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1'].concat([
      '-subj',
      `/CN=${name}`,
      '-addext',
      'subjectAltName=IP:127.0.0.1',
    ]),
    { stdio: 'ignore' },
  );
  return { cert, key };
}

/** One TLS handshake with openssl s_client: did it succeed, and whose certificate was served. */
function handshake(port: number, args: string[]): { ok: boolean; subject: string } {
  const r = spawnSync(
    'openssl',
    ['s_client', '-connect', `127.0.0.1:${port}`, '-servername', 'localhost', ...args],
    {
      input: '',
      encoding: 'utf8',
      timeout: 10_000,
    },
  );
  const subject = /subject=\s*CN\s*=\s*(\S+)/.exec(r.stdout)?.[1] ?? '';
  const ok = r.status === 0 && /Cipher is (?!\(NONE\))/.test(r.stdout);
  return { ok, subject };
}

describe('the collector over TLS', () => {
  const dir = tempDir('tls');
  const served = join(dir, 'served');
  let first: { cert: string; key: string };
  let c: Awaited<ReturnType<typeof runCollector>>;
  let port: number;

  beforeAll(async () => {
    first = selfSigned(dir, 'first');
    copyFileSync(first.cert, `${served}.crt`);
    copyFileSync(first.key, `${served}.key`);
    writeFileSync(join(dir, 'topology.yaml'), twoSites());
    c = await runCollector([
      '-c',
      join(dir, 'topology.yaml'),
      '--listen',
      '127.0.0.1:0',
      '--data-dir',
      join(dir, 'data'),
      '--tls-cert',
      `${served}.crt`,
      '--tls-key',
      `${served}.key`,
    ]);
    port = Number(new URL(c.url).port);
  }, 60_000);

  afterAll(async () => {
    c?.proc.kill('SIGTERM');
    await c?.proc;
    rmSync(dir, { recursive: true, force: true });
  });

  it('offers no suite without forward secrecy, and no protocol older than TLS 1.2', () => {
    expect(handshake(port, ['-tls1_2', '-cipher', 'ECDHE-RSA-AES128-GCM-SHA256']).ok).toBe(true);
    expect(handshake(port, ['-tls1_3']).ok).toBe(true);
    for (const cipher of [
      'AES128-SHA',
      'AES256-GCM-SHA384',
      'AES128-GCM-SHA256',
      'DHE-RSA-AES128-GCM-SHA256',
    ]) {
      expect(handshake(port, ['-tls1_2', '-cipher', cipher]).ok, cipher).toBe(false);
    }
    expect(handshake(port, ['-tls1_1', '-cipher', 'ALL:@SECLEVEL=0']).ok).toBe(false);
  });

  it('serves a renewed certificate after SIGHUP, and after the files are replaced, without a restart', async () => {
    expect(handshake(port, []).subject).toBe('first');
    const second = selfSigned(dir, 'second');
    // Replace the files without telling the collector: it notices the change itself.
    copyFileSync(second.key, `${served}.key`);
    copyFileSync(second.cert, `${served}.crt`);
    await eventually(
      () => handshake(port, []).subject === 'second' || undefined,
      10_000,
      'the renewed certificate',
    );

    const third = selfSigned(dir, 'third');
    // A renewal that is half written is kept out: the old pair stays until both files match.
    copyFileSync(third.cert, `${served}.crt`);
    await new Promise((r) => setTimeout(r, 700));
    expect(handshake(port, []).subject).toBe('second');
    expect(c.stdout() + c.stderr()).toContain('kept the previous TLS certificate');
    copyFileSync(third.key, `${served}.key`);
    c.proc.kill('SIGHUP');
    await eventually(
      () => handshake(port, []).subject === 'third' || undefined,
      10_000,
      'the certificate after SIGHUP',
    );
    expect(c.proc.exitCode).toBeNull();
  });

  it('a real agent trusts the self-signed collector with --ca, and not without it', async () => {
    const agentDir = tempDir('tls-agent');
    const agentArgs = ['agent', '--site', 'a', '--collector', c.url, '--data-dir', agentDir];
    const env = { WANWATCH_TOKEN: TOKEN_A };
    try {
      // The collector now serves `third`; an agent trusting only the public CAs cannot connect.
      const untrusting = execa('node', [WANWATCH, ...agentArgs], { env, reject: false });
      let err = '';
      untrusting.stdout?.on('data', (d: Buffer) => {
        err += d.toString();
      });
      untrusting.stderr?.on('data', (d: Buffer) => {
        err += d.toString();
      });
      await eventually(
        () => /self.signed|certificate/i.test(err) || undefined,
        20_000,
        'the certificate error',
      );
      untrusting.kill('SIGTERM');
      await untrusting;

      const trusting = execa('node', [WANWATCH, ...agentArgs, '--ca', `${served}.crt`], {
        env,
        reject: false,
      });
      try {
        const readAgents = tlsFetch({ ca: `${served}.crt` });
        await eventually(
          async () => {
            const reply = (await (await readAgents!(`${c.url}/api/v1/agents`)).json()) as AgentsReply;
            return reply.agents.find((a) => a.site === 'a')?.up || undefined;
          },
          30_000,
          'the agent to report in over TLS',
        );
      } finally {
        trusting.kill('SIGTERM');
        await trusting;
      }
    } finally {
      rmSync(agentDir, { recursive: true, force: true });
    }
  }, 90_000);
});
