// The collector's TLS as a client sees it: forward-secret suites only (checked with openssl s_client),
// a renewed certificate served without a restart (SIGHUP, or just replacing the files), a real
// `wanwatch agent` that trusts a self-signed collector through --ca, and client certificates (mTLS,
// collector.tls.client_ca): an agent must present one its CA signed for its own site; another site's,
// none, or one the CA did not sign is refused, while readers without one still connect.
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tlsFetch } from '../../shared/tls-client.ts';
import type { AgentsReply } from '../../shared/wire.ts';
import { eventually, tempDir } from '../../testbed/collector.ts';
import { TOKEN_A, TOKEN_B, twoSites } from '../../testbed/topologies.ts';
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

/** A private CA (EC key), as a site would make one for its agents' client certificates. */
function makeCa(dir: string): { cert: string; key: string } {
  const cert = join(dir, 'ca.crt');
  const key = join(dir, 'ca.key');
  execFileSync(
    'openssl',
    ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'].concat(
      ['-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=wanwatch test agents CA'],
      ['-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign'],
    ),
    { stdio: 'ignore' },
  );
  return { cert, key };
}

/** A client certificate for `site` (CN and DNS name), signed by `ca`. */
function clientCert(
  dir: string,
  ca: { cert: string; key: string },
  site: string,
): { cert: string; key: string } {
  const cert = join(dir, `agent-${site}.crt`);
  const key = join(dir, `agent-${site}.key`);
  const csr = join(dir, `agent-${site}.csr`);
  const ext = join(dir, `agent-${site}.ext`);
  writeFileSync(ext, `subjectAltName=DNS:${site}\nextendedKeyUsage=clientAuth\nbasicConstraints=CA:FALSE\n`);
  execFileSync(
    'openssl',
    ['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'].concat([
      '-keyout',
      key,
      '-out',
      csr,
      '-subj',
      `/CN=${site}`,
    ]),
    { stdio: 'ignore' },
  );
  execFileSync(
    'openssl',
    ['x509', '-req', '-in', csr, '-CA', ca.cert, '-CAkey', ca.key, '-CAcreateserial', '-out', cert].concat([
      '-days',
      '1',
      '-extfile',
      ext,
    ]),
    { stdio: 'ignore' },
  );
  return { cert, key };
}

/** Site a's agent view, once its agent is up; undefined before (or while the read is refused). */
async function agentUp(read: typeof fetch, url: string): Promise<true | undefined> {
  const res = await read(`${url}/api/v1/agents`);
  if (res.status !== 200) return undefined;
  const reply = (await res.json()) as AgentsReply;
  return reply.agents.find((a) => a.site === 'a')?.up || undefined;
}

/** Runs a real `wanwatch agent` with `args` until the collector at `url` (read over TLS trusting `ca`) sees it up. */
async function runUntilUp(args: string[], ca: string, url: string, what: string): Promise<void> {
  const agent = execa('node', [WANWATCH, ...args], { env: { WANWATCH_TOKEN: TOKEN_A }, reject: false });
  try {
    const read = tlsFetch({ ca }) as typeof fetch;
    await eventually(() => agentUp(read, url), 30_000, what);
  } finally {
    agent.kill('SIGTERM');
    await agent;
  }
}

/** `wanwatch collector` with DIR/topology.yaml and its data in DIR/data, on a free port. */
const collectorIn = (dir: string, args: string[] = []) =>
  runCollector([
    '-c',
    join(dir, 'topology.yaml'),
    '--listen',
    '127.0.0.1:0',
    '--data-dir',
    join(dir, 'data'),
    ...args,
  ]);

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
    c = await collectorIn(dir, ['--tls-cert', `${served}.crt`, '--tls-key', `${served}.key`]);
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

      await runUntilUp(
        [...agentArgs, '--ca', `${served}.crt`],
        `${served}.crt`,
        c.url,
        'the agent to report in over TLS',
      );
    } finally {
      rmSync(agentDir, { recursive: true, force: true });
    }
  }, 90_000);
});

describe('client certificates (collector.tls.client_ca)', () => {
  const dir = tempDir('mtls');
  const otherDir = tempDir('mtls-other-ca');
  let server: { cert: string; key: string };
  let ca: { cert: string; key: string };
  let certOf: Record<'a' | 'b' | 'stranger', { cert: string; key: string }>;
  let c: Awaited<ReturnType<typeof runCollector>>;

  beforeAll(async () => {
    server = selfSigned(dir, 'collector');
    ca = makeCa(dir);
    // `stranger` names site a but was signed by a CA of its own, not the collector's client CA.
    certOf = {
      a: clientCert(dir, ca, 'a'),
      b: clientCert(dir, ca, 'b'),
      stranger: clientCert(otherDir, makeCa(otherDir), 'a'),
    };
    writeFileSync(
      join(dir, 'topology.yaml'),
      twoSites({
        heartbeat: '{interval: 1s, timeout: 5s}',
        collector: `  tls: {cert: ${server.cert}, key: ${server.key}, client_ca: ${ca.cert}}\n`,
      }),
    );
    c = await collectorIn(dir);
  }, 60_000);

  afterAll(async () => {
    c?.proc.kill('SIGTERM');
    await c?.proc;
    rmSync(dir, { recursive: true, force: true });
    rmSync(otherDir, { recursive: true, force: true });
  });

  /** GET /api/v1/plan?site=a with site a's token, presenting `cert` (or none). */
  const planOfA = async (cert?: { cert: string; key: string }) => {
    const f = tlsFetch({ ca: server.cert, ...cert }) as typeof fetch;
    const res = await f(`${c.url}/api/v1/plan?site=a`, { headers: { authorization: `Bearer ${TOKEN_A}` } });
    return { status: res.status, body: (await res.json()) as { error?: string; site?: string } };
  };

  it("serves an agent presenting its own site's certificate, and refuses another site's, none, or one the CA did not sign", async () => {
    expect(await planOfA(certOf.a)).toMatchObject({ status: 200, body: { site: 'a' } });
    const other = await planOfA(certOf.b);
    expect(other.status).toBe(403);
    expect(other.body.error).toMatch(
      /the client certificate names CN b, DNS b, but the token belongs to site "a"/,
    );
    const none = await planOfA();
    expect(none.status).toBe(403);
    expect(none.body.error).toMatch(/requires agents' client certificates and none was presented/);
    const stranger = await planOfA(certOf.stranger);
    expect(stranger.status).toBe(403);
    expect(stranger.body.error).toMatch(/not signed by the collector's client CA/);
    // Site b's own certificate with b's token is fine: the certificate is checked against the token's site.
    const f = tlsFetch({ ca: server.cert, ...certOf.b }) as typeof fetch;
    const b = await f(`${c.url}/api/v1/plan?site=b`, { headers: { authorization: `Bearer ${TOKEN_B}` } });
    expect(b.status).toBe(200);
  });

  it('lets readers without a certificate connect and read', async () => {
    const f = tlsFetch({ ca: server.cert }) as typeof fetch;
    expect((await f(`${c.url}/api/v1/links`)).status).toBe(200);
    expect((await f(`${c.url}/healthz`)).status).toBe(200);
  });

  it("a real agent presenting another site's certificate is refused (exit 2, the reason); with its own it reports in", async () => {
    const agentDir = tempDir('mtls-agent');
    const args = ['agent', '--site', 'a', '--collector', c.url, '--data-dir', agentDir, '--ca', server.cert];
    const env = { WANWATCH_TOKEN: TOKEN_A };
    try {
      const wrong = await execa(
        'node',
        [WANWATCH, ...args, '--tls-cert', certOf.b.cert, '--tls-key', certOf.b.key],
        {
          env,
          reject: false,
          timeout: 30_000,
        },
      );
      expect(wrong.exitCode).toBe(2);
      expect(`${wrong.stdout}${wrong.stderr}`).toMatch(
        /403.*names CN b, DNS b, but the token belongs to site "a"/,
      );

      await runUntilUp(
        [...args, '--tls-cert', certOf.a.cert, '--tls-key', certOf.a.key],
        server.cert,
        c.url,
        'the agent with its own certificate to report in',
      );
    } finally {
      rmSync(agentDir, { recursive: true, force: true });
    }
  }, 90_000);
});
