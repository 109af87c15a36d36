// Finished qualifications outlive the collector: run one on a real collector (the agent's part through
// the API as an agent does it), stop the collector, start another on the same data directory, and the
// finished run is still listed, with what it measured, and its report served (reads closed: a viewer
// credential, or the key the list gives).

import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPORT_CSP } from '../../../collector/api/report.ts';
import { API_PREFIX, type Qualification } from '../../../shared/wire.ts';
import { startTestCollector, type TestCollector, tempDir } from '../../../testbed/collector.ts';
import { rttResult } from '../../../testbed/results.ts';
import {
  CREDENTIAL_ENV,
  OPERATOR_TOKEN,
  TOKEN_A,
  TOKEN_ENV,
  threeSites,
  VIEWER_TOKEN,
} from '../../../testbed/topologies.ts';

const dir = tempDir('qualify-archive');
let c: TestCollector;
const start = () => startTestCollector('', { dir, env: { ...TOKEN_ENV, ...CREDENTIAL_ENV } });
beforeAll(async () => {
  // No monitoring throughput tests to hold: a qualification's first round is ready at once.
  const yaml = threeSites({ publicRead: false }).replace(
    'probes:\n  heartbeat: {interval: 1h, timeout: 1h}',
    'probes:\n  heartbeat: {interval: 1h, timeout: 1h}\n  throughput: {enabled: false}',
  );
  if (!yaml.includes('enabled: false')) throw new Error('the test topology changed shape');
  writeFileSync(join(dir, 'topology.yaml'), yaml);
  c = await start();
});
afterAll(async () => {
  await c?.dispose();
  rmSync(dir, { recursive: true, force: true });
});

const read = async (path: string) => {
  const res = await fetch(`${c.url}${API_PREFIX}${path}`, {
    headers: { authorization: `Bearer ${VIEWER_TOKEN}` },
  });
  expect(res.status, path).toBe(200);
  return res;
};

/** Runs a qualification of a–b to its end, a's part played as the agent would; returns its id. */
async function qualifyAB(): Promise<string> {
  const created = await fetch(`${c.url}${API_PREFIX}/qualifications`, {
    method: 'POST',
    headers: { authorization: `Bearer ${OPERATOR_TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify({
      links: [['a', 'b']],
      duration_ms: 10_000,
      test_duration_ms: 2000,
      rtt: { method: 'udp', count: 3, spacing_ms: 100, timeout_ms: 1000 },
      skip_throughput: true,
    }),
  });
  expect(created.status, await created.clone().text()).toBe(201);
  const q = (await created.json()) as Qualification;
  const agent = { authorization: `Bearer ${TOKEN_A}`, 'content-type': 'application/json' };
  const { tasks } = (await (
    await fetch(`${c.url}${API_PREFIX}/tasks?site=a`, { headers: agent })
  ).json()) as {
    tasks: { id: string }[];
  };
  expect(tasks).toHaveLength(1);
  const now = Date.now();
  const rounds = Array.from({ length: 10 }, (_, i) => ({
    result: rttResult('a', 'b', now - 10_000 + i * 1000, [12, 13, 14]),
    loaded: false,
  }));
  const done = await fetch(`${c.url}${API_PREFIX}/tasks/${tasks[0]?.id}/result`, {
    method: 'POST',
    headers: agent,
    body: JSON.stringify({ measurements: { rounds, tcp: [], udp: [], interrupted: false }, error: null }),
  });
  expect(done.status, await done.clone().text()).toBe(200);
  return q.id;
}

describe('finished qualifications', () => {
  it('are still listed, with what they measured, by a collector restarted on the same store', async () => {
    const id = await qualifyAB();
    const before = (await (await read('/qualifications')).json()) as { qualifications: Qualification[] };
    expect(before.qualifications.map((q) => [q.id, q.state])).toEqual([[id, 'done']]);
    await c.close();
    c = await start();
    const after = (await (await read('/qualifications')).json()) as { qualifications: Qualification[] };
    expect(after.qualifications).toEqual(before.qualifications);
    const one = (await (await read(`/qualifications/${id}`)).json()) as Qualification;
    expect(one.state).toBe('done');
    expect(one.finished_at_ms).toBeGreaterThanOrEqual(one.created_at_ms);
    expect(one.tasks[0]?.measurements?.rounds).toHaveLength(10);
  });

  it('serve their report as a page of its own, under a policy that allows its styles and nothing else', async () => {
    const { qualifications, reports } = (await (await read('/qualifications')).json()) as {
      qualifications: Qualification[];
      reports: Record<string, string>;
    };
    const id = qualifications[0]?.id as string;
    const page = await read(`/qualifications/${id}/report.html`);
    expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(page.headers.get('content-security-policy')).toBe(REPORT_CSP);
    expect(REPORT_CSP).toContain("default-src 'none'");
    expect(REPORT_CSP).not.toContain('script');
    const html = await page.text();
    expect(html).toMatch(/^<!doctype html>/);
    expect(html).toMatch(/WAN link qualification <span class="badge" style="background:[^"]+">(PASS|WARN)</);
    expect(html).toContain('a ↔ b');
    expect(html).not.toContain('<script');
    // A frame cannot send the credential: the listed URL carries a key for this one report.
    const url = reports[id] as string;
    expect(url).toMatch(new RegExp(`^${API_PREFIX}/qualifications/${id}/report\\.html\\?exp=\\d+&key=`));
    expect((await fetch(`${c.url}${url}`)).status).toBe(200);
    expect((await fetch(`${c.url}${API_PREFIX}/qualifications/${id}/report.html`)).status).toBe(401);
    expect((await fetch(`${c.url}${url.replace(/key=./, 'key=x')}`)).status).toBe(401);
    expect((await fetch(`${c.url}${url.replace(id, 'other')}`)).status).toBe(401);
    const none = await fetch(`${c.url}${API_PREFIX}/qualifications/nope/report.html`, {
      headers: { authorization: `Bearer ${VIEWER_TOKEN}` },
    });
    expect(none.status).toBe(404);
  });
});
