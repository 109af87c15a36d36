// Mesh mode's side of the qualification API (qualify/mesh.ts over shared/http.ts), against a collector
// played by a fetch function: what it asks for, how it follows and cancels a qualification, how it
// judges the tasks, and what it says when the collector cannot be reached or answers something else.
import { describe, expect, it } from 'vitest';
import { qualificationApi, qualifyMesh } from '../../qualify/mesh.ts';
import { parseTopology } from '../../shared/config/load.ts';
import type { Qualification } from '../../shared/wire.ts';

const topology = parseTopology(`
sites:
  A: { address: 127.0.0.1 }
  B: { address: 127.0.0.2 }
  C: { address: 127.0.0.3 }
clusters:
  one:
    subclusters:
      sc1: { nodes: { a1: A, b1: B } }
      sc2: { nodes: { c1: C, c2: C } }
`);

const settings = {
  method: 'udp' as const,
  count: 3,
  spacing_ms: 50,
  duration_ms: 4000,
  test_duration_ms: 1000,
  skip_throughput: false,
};

type Task = Qualification['tasks'][number];
const task = (site: string, peer: string, over: Partial<Task> = {}): Task => ({
  id: `${site}-${peer}`,
  site,
  peer,
  round: 0,
  state: 'waiting',
  progress: null,
  measurements: null,
  error: null,
  ...over,
});
const qualification = (state: Qualification['state'], tasks: Task[]): Qualification => ({
  id: 'q1',
  state,
  created_at_ms: 1,
  tasks,
});

interface Call {
  method: string;
  url: string;
  headers: Record<string, string>;
  body: unknown;
}

/** A collector that answers each request with the next reply in `replies`, recording what it was asked. */
function collector(replies: ((call: Call) => Response)[]) {
  const calls: Call[] = [];
  const fetchImpl: typeof fetch = async (input, init) => {
    const call: Call = {
      method: init?.method ?? 'GET',
      url: String(input),
      headers: { ...(init?.headers as Record<string, string>) },
      body: typeof init?.body === 'string' ? JSON.parse(init.body) : undefined,
    };
    calls.push(call);
    const reply = replies.shift();
    if (!reply) throw new Error(`unexpected request ${call.method} ${call.url}`);
    return reply(call);
  };
  return { calls, fetch: fetchImpl };
}

const json =
  (body: unknown, status = 200) =>
  () =>
    new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });

describe('mesh qualification through the collector', () => {
  it('asks for the links, follows the qualification to its end, and judges each link by the topology', async () => {
    const c = collector([
      json(qualification('running', [task('A', 'B'), task('A', 'C', { error: 'agent C is offline' })]), 201),
      json(qualification('running', [task('A', 'B', { state: 'running' }), task('A', 'C')])),
      json(
        qualification('done', [
          task('A', 'B', { state: 'done' }),
          task('A', 'C', { state: 'failed', error: 'agent C is offline' }),
        ]),
      ),
    ]);
    const links = await qualifyMesh({
      ...settings,
      collector: 'http://collector.test:8080/',
      topology,
      links: [['B', 'A']],
      signal: new AbortController().signal,
      pollMs: 1,
      fetch: c.fetch,
    });

    expect(c.calls.map((x) => `${x.method} ${x.url}`)).toEqual([
      'POST http://collector.test:8080/api/v1/qualifications',
      'GET http://collector.test:8080/api/v1/qualifications/q1',
      'GET http://collector.test:8080/api/v1/qualifications/q1',
    ]);
    expect(c.calls[0]?.body).toEqual({
      links: [['B', 'A']],
      duration_ms: 4000,
      test_duration_ms: 1000,
      rtt: { method: 'udp', count: 3, spacing_ms: 50, timeout_ms: 2000 },
      skip_throughput: false,
    });
    // The operator's API needs no token: none is sent.
    expect(c.calls[0]?.headers).toEqual({ 'content-type': 'application/json' });

    expect(links.map((l) => [l.link.from, l.link.to, l.link.required_mbps, l.link.subclusters])).toEqual([
      ['A', 'B', 5, ['sc1']],
      ['A', 'C', 10, ['sc1', 'sc2']],
    ]);
    const [, failed] = links;
    expect(failed?.verdict).toBe('ERROR');
    expect(failed?.checks[0]).toMatchObject({ name: 'task', verdict: 'ERROR', reason: 'agent C is offline' });
  });

  it('cancels the qualification once when the run is stopped, and reports what the agents sent', async () => {
    const stop = new AbortController();
    const c = collector([
      json(qualification('running', [task('A', 'B', { state: 'running' })]), 201),
      () => {
        stop.abort();
        return json(qualification('running', [task('A', 'B', { state: 'running' })]))();
      },
      json(qualification('cancelled', [task('A', 'B', { state: 'cancelled' })])),
    ]);
    const links = await qualifyMesh({
      ...settings,
      collector: 'http://collector.test:8080',
      topology,
      links: null,
      signal: stop.signal,
      pollMs: 1,
      fetch: c.fetch,
    });
    expect(c.calls.map((x) => x.method)).toEqual(['POST', 'GET', 'DELETE']);
    expect(c.calls[2]?.url).toBe('http://collector.test:8080/api/v1/qualifications/q1');
    expect(links).toHaveLength(1);
    expect(links[0]?.verdict).not.toBe('PASS');
  });

  it('says what went wrong when the collector is away, refuses, or answers something else', async () => {
    const ask = (reply: (call: Call) => Response) =>
      qualificationApi('http://collector.test:8080', collector([reply]).fetch).get('q1');

    const refused = Object.assign(new TypeError('fetch failed'), {
      cause: Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }),
    });
    await expect(
      qualificationApi('http://collector.test:8080', async () => {
        throw refused;
      }).get('q1'),
    ).rejects.toThrow(
      'cannot reach the collector at http://collector.test:8080: connection refused (is the collector running?)',
    );
    await expect(ask(json({ error: 'not a link of the topology: A-Z (links: A-B)' }, 400))).rejects.toThrow(
      'the collector at http://collector.test:8080 answered 400: not a link of the topology: A-Z (links: A-B)',
    );
    await expect(ask(() => new Response('Bad Gateway', { status: 502 }))).rejects.toThrow(
      'the collector at http://collector.test:8080 answered 502: Bad Gateway',
    );
    await expect(ask(json({ id: 'q1', state: 'running' }))).rejects.toThrow(
      'the collector at http://collector.test:8080 sent a reply this wanwatch does not understand',
    );
    await expect(ask(() => new Response('<html>', { status: 200 }))).rejects.toThrow(
      'sent a reply this wanwatch does not understand',
    );
  });
});
