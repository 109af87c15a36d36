// GET /api/v1/tasks?wait=S on the real collector: an idle agent's request is held (one request per wait
// instead of one every 3 s), answered as soon as a qualification gives its site a task, and answered at
// once when the collector stops. Without `wait`, the answer comes at once, as older agents expect.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { API_PREFIX } from '../../../shared/wire.ts';
import { startTestCollector, type TestCollector } from '../../../testbed/collector.ts';
import {
  CREDENTIAL_ENV,
  OPERATOR_TOKEN,
  TOKEN_A,
  TOKEN_ENV,
  threeSites,
} from '../../../testbed/topologies.ts';

let c: TestCollector;
beforeAll(async () => {
  // No monitoring throughput tests to hold: a qualification's first round is ready at once.
  const yaml = threeSites().replace(
    'probes:\n  heartbeat: {interval: 1h, timeout: 1h}',
    'probes:\n  heartbeat: {interval: 1h, timeout: 1h}\n  throughput: {enabled: false}',
  );
  if (!yaml.includes('enabled: false')) throw new Error('the test topology changed shape');
  c = await startTestCollector(yaml, { env: { ...TOKEN_ENV, ...CREDENTIAL_ENV } });
});
afterAll(async () => {
  await c?.dispose();
});

const tasksOfA = async (query: string) => {
  const t0 = Date.now();
  const res = await fetch(`${c.url}${API_PREFIX}/tasks?site=a${query}`, {
    headers: { authorization: `Bearer ${TOKEN_A}` },
  });
  const body = (await res.json()) as { tasks: { id: string; peer: { site: string } }[] };
  return { status: res.status, tasks: body.tasks, ms: Date.now() - t0 };
};

it('answers at once without wait, and holds an idle request for the wait it asks', async () => {
  const now = await tasksOfA('');
  expect(now).toMatchObject({ status: 200, tasks: [] });
  expect(now.ms).toBeLessThan(500);
  const held = await tasksOfA('&wait=2');
  expect(held).toMatchObject({ status: 200, tasks: [] });
  expect(held.ms).toBeGreaterThanOrEqual(1900);
});

it('hands a held request its task as soon as a qualification is started', async () => {
  const waiting = tasksOfA('&wait=20');
  await new Promise((r) => setTimeout(r, 500));
  const started = Date.now();
  const res = await fetch(`${c.url}${API_PREFIX}/qualifications`, {
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
  expect(res.status, await res.clone().text()).toBe(201);
  const got = await waiting;
  expect(got.tasks.map((t) => t.peer.site)).toEqual(['b']);
  expect(Date.now() - started, 'the task came with the start, not after the wait').toBeLessThan(2000);
});

it('ends held requests at once when the collector stops, so stopping never waits for them', async () => {
  const waiting = tasksOfA('&wait=25').then(
    (r) => r.tasks,
    () => 'closed' as const,
  );
  await new Promise((r) => setTimeout(r, 300));
  const t0 = Date.now();
  await c.close();
  // Answered with no tasks, or its connection closed with the server: the agent asks again later.
  expect(['closed', '[]']).toContain(JSON.stringify(await waiting).replace(/^"|"$/g, ''));
  expect(Date.now() - t0).toBeLessThan(5000);
});
