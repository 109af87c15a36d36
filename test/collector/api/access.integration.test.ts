// Who may do what on the real collector, with reads closed (public_read: false) and the real default
// rate limits: every endpoint that sends traffic or changes state refuses anonymous requests, viewers
// and agents and takes an operator; reads refuse anonymous requests unless public_read, and take viewers
// and operators; what an operator may ask is capped; a wrong token's answer says nothing about other
// sites; guessing, reading and starting too fast get 429 with Retry-After; starts and stops are logged
// with who and from where. Requests come from several loopback addresses (127.0.0.x) so that the
// per-address limits of one test do not touch another.
import { writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_API_LIMITS } from '../../../collector/api/limits.ts';
import { parseTopology } from '../../../shared/config/load.ts';
import { API_PREFIX } from '../../../shared/wire.ts';
import { startTestCollector, type TestCollector } from '../../../testbed/collector.ts';
import {
  CREDENTIAL_ENV,
  OPERATOR_TOKEN,
  TOKEN_A,
  TOKEN_ENV,
  threeSites,
  VIEWER_TOKEN,
} from '../../../testbed/topologies.ts';

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: { error?: string; details?: string[]; id?: string; state?: string; [k: string]: unknown };
  text: string;
}

let c: TestCollector;

/** One request from `from` (a loopback address), with `token` as the bearer token when given. */
function call(
  method: string,
  path: string,
  opts: { token?: string; from?: string; body?: unknown } = {},
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const text = opts.body === undefined ? undefined : JSON.stringify(opts.body);
    const req = request(
      `${c.url}${path}`,
      {
        method,
        localAddress: opts.from ?? '127.0.0.1',
        headers: {
          ...(opts.token === undefined ? {} : { authorization: `Bearer ${opts.token}` }),
          ...(text === undefined ? {} : { 'content-type': 'application/json' }),
        },
      },
      (res) => {
        let got = '';
        res.on('data', (d: Buffer) => {
          got += d.toString();
        });
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: JSON.parse(got), text: got }),
        );
      },
    );
    req.on('error', reject);
    req.end(text);
  });
}

const qualificationRequest = (over: Record<string, unknown> = {}) => ({
  links: [['a', 'b']],
  duration_ms: 10_000,
  test_duration_ms: 2000,
  rtt: { method: 'udp', count: 3, spacing_ms: 100, timeout_ms: 1000 },
  skip_throughput: false,
  ...over,
});

const READS = ['/links', '/alerts', '/agents', '/outputs'].map((p) => `${API_PREFIX}${p}`);

beforeAll(async () => {
  c = await startTestCollector(threeSites({ publicRead: false }), {
    env: { ...TOKEN_ENV, ...CREDENTIAL_ENV },
    limits: DEFAULT_API_LIMITS,
  });
});
afterAll(async () => {
  await c?.dispose();
});

describe('starting and stopping qualifications (traffic between sites)', () => {
  it('refuses anonymous requests, viewers and agents, and takes an operator', async () => {
    const from = '127.0.0.11';
    const start = (token?: string) =>
      call('POST', `${API_PREFIX}/qualifications`, {
        from,
        body: qualificationRequest(),
        ...(token === undefined ? {} : { token }),
      });
    const anonymous = await start();
    expect(anonymous.status).toBe(401);
    expect(anonymous.body.error).toMatch(
      /^starting a qualification needs an operator credential: missing Authorization/,
    );
    const viewer = await start(VIEWER_TOKEN);
    expect(viewer.status).toBe(403);
    expect(viewer.body.error).toBe(
      'starting a qualification needs an operator credential; credential "viewer" has the role viewer',
    );
    const agent = await start(TOKEN_A);
    expect(agent.status).toBe(403);
    expect(agent.body.error).toMatch(/a site's agent token is not one/);
    const wrong = await start('guess');
    expect(wrong.status).toBe(401);

    const started = await start(OPERATOR_TOKEN);
    expect(started.status, started.text).toBe(201);
    const id = started.body.id as string;
    const path = `${API_PREFIX}/qualifications/${id}`;

    for (const token of [undefined, VIEWER_TOKEN, TOKEN_A]) {
      const stop = await call('DELETE', path, { from, ...(token === undefined ? {} : { token }) });
      expect(stop.status, `DELETE with ${token}`).toBe(token === undefined ? 401 : 403);
      expect(stop.body.error).toMatch(/stopping a qualification needs an operator credential/);
    }
    // Still running: nobody but the operator stopped it.
    expect((await call('GET', path, { from, token: VIEWER_TOKEN })).body.state).toBe('running');
    const stopped = await call('DELETE', path, { from, token: OPERATOR_TOKEN });
    expect(stopped.status).toBe(200);
    expect(stopped.body.state).toBe('cancelled');

    // Both logged with the credential's name and the remote address.
    const logged = c.logs.filter((l) => l.includes(`qualification ${id}`));
    expect(logged.find((l) => l.includes('started by operator from 127.0.0.11'))).toBeDefined();
    expect(logged.find((l) => l.includes('stopped by operator from 127.0.0.11'))).toBeDefined();
    expect(
      logged.every((l) => l.includes('"by":"operator"') && l.includes('"remote_address":"127.0.0.11"')),
    ).toBe(true);
  });

  it('refuses a qualification longer than the caps, naming the cap, and a tighter cap from the file at once', async () => {
    const from = '127.0.0.12';
    const post = (body: unknown) =>
      call('POST', `${API_PREFIX}/qualifications`, { from, token: OPERATOR_TOKEN, body });
    // What the issue found accepted: a day per link, an hour per test.
    const long = await post(qualificationRequest({ duration_ms: 86_400_000, test_duration_ms: 3_600_000 }));
    expect(long.status).toBe(400);
    expect(long.body.error).toMatch(/duration_ms: 86400000 is over the collector's cap of 3600000 ms \(1h/);
    expect(long.body.details).toEqual([
      expect.stringMatching(
        /^duration_ms: .* cap of 3600000 ms \(1h, collector\.qualifications\.max_duration\)$/,
      ),
      expect.stringMatching(
        /^test_duration_ms: 3600000 is over the collector's cap of 60000 ms \(1m, collector\.qualifications\.max_test_duration\)$/,
      ),
    ]);
    expect(
      c.logs.some((l) => l.includes('qualification refused') && l.includes('"remote_address":"127.0.0.12"')),
    ).toBe(true);

    writeFileSync(
      c.configPath,
      threeSites({ publicRead: false, collector: '  qualifications: {max_duration: 5s}\n' }),
    );
    expect(c.reload()).toBe(true);
    try {
      const over = await post(qualificationRequest({ duration_ms: 6000 }));
      expect(over.status).toBe(400);
      expect(over.body.error).toMatch(/cap of 5000 ms \(5s, collector\.qualifications\.max_duration\)/);
    } finally {
      writeFileSync(c.configPath, threeSites({ publicRead: false }));
      expect(c.reload()).toBe(true);
    }
  });
});

describe('reads', () => {
  it('refuse anonymous requests and agent tokens, and take viewers and operators', async () => {
    const from = '127.0.0.13';
    for (const path of READS) {
      const anonymous = await call('GET', path, { from });
      expect(anonymous.status, path).toBe(401);
      expect(anonymous.body.error).toMatch(
        /^reading needs a viewer or operator credential: missing Authorization/,
      );
      expect(anonymous.headers['www-authenticate']).toBe('Bearer realm="wanwatch"');
      expect((await call('GET', path, { from, token: TOKEN_A })).status, path).toBe(403);
      expect((await call('GET', path, { from, token: VIEWER_TOKEN })).status, path).toBe(200);
      expect((await call('GET', path, { from, token: OPERATOR_TOKEN })).status, path).toBe(200);
    }
    // A qualification's progress is a read too.
    const q = `${API_PREFIX}/qualifications/00000000-0000-4000-8000-000000000000`;
    expect((await call('GET', q, { from })).status).toBe(401);
    expect((await call('GET', q, { from, token: VIEWER_TOKEN })).status).toBe(404);
    // /healthz stays open.
    expect((await call('GET', '/healthz', { from })).status).toBe(200);
  });

  it('are open to anyone once the file says public_read: true (and closed again when it no longer does)', async () => {
    const from = '127.0.0.14';
    writeFileSync(c.configPath, threeSites({ publicRead: true }));
    expect(c.reload()).toBe(true);
    try {
      for (const path of READS) expect((await call('GET', path, { from })).status, path).toBe(200);
      // Operator endpoints are not reads: still an operator's.
      const start = await call('POST', `${API_PREFIX}/qualifications`, {
        from,
        body: qualificationRequest(),
      });
      expect(start.status).toBe(401);
    } finally {
      writeFileSync(c.configPath, threeSites({ publicRead: false }));
      expect(c.reload()).toBe(true);
    }
    expect((await call('GET', `${API_PREFIX}/links`, { from })).status).toBe(401);
  });

  it('are limited per address: a burst, then 429 with Retry-After; other addresses read on', async () => {
    // All at once, so that however slow the machine, the bucket cannot refill in between.
    const answers = await Promise.all(
      Array.from({ length: DEFAULT_API_LIMITS.readBurst * 2 }, () =>
        call('GET', `${API_PREFIX}/links`, { from: '127.0.0.15', token: VIEWER_TOKEN }),
      ),
    );
    const statuses = answers.map((r) => r.status);
    const refused = answers.find((r) => r.status === 429);
    expect(statuses.filter((s) => s === 200).length).toBeGreaterThanOrEqual(DEFAULT_API_LIMITS.readBurst);
    expect(statuses).toContain(429);
    expect(Number(refused?.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect(refused?.body.error).toMatch(
      /too many reads from 127\.0\.0\.15: at most 10 a second \(bursts of 20\)/,
    );
    expect(
      (await call('GET', `${API_PREFIX}/links`, { from: '127.0.0.16', token: VIEWER_TOKEN })).status,
    ).toBe(200);
  });
});

describe('failed authentication', () => {
  it('says what is wrong with this request and nothing about other sites or credentials', async () => {
    const from = '127.0.0.17';
    const answers = [
      await call('POST', `${API_PREFIX}/results`, { from, token: 'wrong', body: {} }),
      await call('GET', `${API_PREFIX}/plan?site=c`, { from, token: 'wrong' }),
      await call('GET', `${API_PREFIX}/links`, { from, token: 'wrong' }),
      await call('POST', `${API_PREFIX}/qualifications`, {
        from,
        token: 'wrong',
        body: qualificationRequest(),
      }),
    ];
    for (const a of answers) {
      expect(a.status).toBe(401);
      expect(a.text).not.toMatch(/WW_|token_env names|"[abc]"|operator"|viewer"|neither/);
    }
    expect(answers[0]?.body.error).toMatch(/^the bearer token matches no site's token/);
  });

  it('is logged with the address, and after 10 different wrong tokens in a minute that address waits (429) even with a good token', async () => {
    const from = '127.0.0.18';
    for (let i = 0; i < DEFAULT_API_LIMITS.authFailures; i++)
      expect((await call('GET', `${API_PREFIX}/links`, { from, token: `guess-${i}` })).status).toBe(401);
    const blocked = await call('GET', `${API_PREFIX}/links`, { from, token: VIEWER_TOKEN });
    expect(blocked.status).toBe(429);
    expect(Number(blocked.headers['retry-after'])).toBeGreaterThan(50);
    expect(blocked.body.error).toMatch(/too many failed authentications from 127\.0\.0\.18/);
    const agent = await call('GET', `${API_PREFIX}/plan?site=a`, { from, token: TOKEN_A });
    expect(agent.status).toBe(429);
    // Requests without a token, and other addresses, are not slowed down.
    expect((await call('GET', '/healthz', { from })).status).toBe(200);
    expect(
      (await call('GET', `${API_PREFIX}/links`, { from: '127.0.0.19', token: VIEWER_TOKEN })).status,
    ).toBe(200);
    const warnings = c.logs.filter(
      (l) => l.includes('"level":"warn"') && l.includes('"remote_address":"127.0.0.18"'),
    );
    expect(
      warnings.some((l) => l.includes('refused an API request from 127.0.0.18 (401 GET /api/v1/links')),
    ).toBe(true);
    expect(warnings.some((l) => l.includes('10 different wrong tokens from 127.0.0.18 within 1m'))).toBe(
      true,
    );
    // One line for the refusals (the rest counted for later), one for the slowing down.
    expect(warnings).toHaveLength(2);
  });

  it('does not slow down an address that repeats one wrong token (an agent left with an old one)', async () => {
    const from = '127.0.0.21';
    for (let i = 0; i < 3 * DEFAULT_API_LIMITS.authFailures; i++)
      expect((await call('GET', `${API_PREFIX}/plan?site=a`, { from, token: 'rotated-away' })).status).toBe(
        401,
      );
    expect((await call('GET', `${API_PREFIX}/plan?site=a`, { from, token: TOKEN_A })).status).toBe(200);
  });
});

describe('qualification starts', () => {
  it('are limited collector-wide: a few a minute, then 429 with Retry-After', async () => {
    const from = '127.0.0.20';
    let refused: Answer | undefined;
    let started = 0;
    for (let i = 0; i < 10 && refused === undefined; i++) {
      const r = await call('POST', `${API_PREFIX}/qualifications`, {
        from,
        token: OPERATOR_TOKEN,
        body: qualificationRequest(),
      });
      if (r.status === 429) refused = r;
      else {
        expect(r.status, r.text).toBe(201);
        started++;
        // Stopped at once, so the next start does not meet a qualification still running (409).
        await call('DELETE', `${API_PREFIX}/qualifications/${r.body.id}`, { from, token: OPERATOR_TOKEN });
      }
    }
    expect(refused?.body.error).toMatch(/^qualifications are started too often; try again in/);
    expect(Number(refused?.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    // The test before this one started one more within the minute.
    expect(started).toBeLessThanOrEqual(DEFAULT_API_LIMITS.qualificationStarts);
    expect(started).toBeGreaterThanOrEqual(DEFAULT_API_LIMITS.qualificationStarts - 2);
  });
});

describe('configuration', () => {
  it('refuses credentials given badly, naming each, with its line', () => {
    const file = (credentials: string) => `sites: {a: {address: 127.0.0.1}}
clusters: {e: {subclusters: {s: {nodes: {n: a}}}}}
collector:
  credentials:
${credentials}`;
    expect(() =>
      parseTopology(
        file(`    - {name: x, role: admin, token_env: A}
    - {name: y, role: viewer}
    - {name: z, role: viewer, token_env: B, token_sha256: ${'ab'.repeat(32)}}
`),
      ),
    ).toThrow(
      [
        '<topology>:5: collector.credentials[0].role: expected a role: viewer or operator',
        '  <topology>:6: collector.credentials[1]: give exactly one of token_env (an environment variable of the collector holding the token) or token_sha256 (its SHA-256)',
        '  <topology>:7: collector.credentials[2]: give exactly one of',
      ].join('\n'),
    );
    expect(() =>
      parseTopology(
        file(`    - {name: x, role: operator, token_env: A}
    - {name: x, role: viewer, token_env: B}
`),
      ),
    ).toThrow('collector.credentials[1].name: "x" is already the name of credentials[0]');
  });

  it('warns when a credential cannot be used, without naming its token', async () => {
    const other = await startTestCollector(threeSites({ publicRead: false }), {
      env: { ...TOKEN_ENV, WW_OPERATOR: TOKEN_A },
    });
    try {
      const lines = other.logs.join('\n');
      expect(lines).toContain('credential operator cannot be used');
      expect(lines).toContain('credential \\"operator\\" has the same token as site \\"a\\"');
      expect(lines).toContain('credential viewer cannot be used');
      expect(lines).toContain('no usable operator credential');
      expect(lines).not.toContain(TOKEN_A);
      // The agent's token stays an agent's: it starts nothing.
      const start = await fetch(`${other.url}${API_PREFIX}/qualifications`, {
        method: 'POST',
        headers: { authorization: `Bearer ${TOKEN_A}`, 'content-type': 'application/json' },
        body: JSON.stringify(qualificationRequest()),
      });
      expect(start.status).toBe(403);
    } finally {
      await other.dispose();
    }
  });
});
