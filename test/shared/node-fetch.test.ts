// shared/node-fetch.ts against a real HTTP server on loopback: what callCollector reads of a reply, and
// failures shaped as fetch's (a timeout's TimeoutError, a refused connection's cause).
import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { callCollector } from '../../shared/http.ts';
import { nodeFetch } from '../../shared/node-fetch.ts';

let server: Server;
let base = '';
const seen: { method?: string; headers: Record<string, unknown>; body: string }[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => {
      body += c;
    });
    req.on('end', () => {
      seen.push({ method: req.method, headers: req.headers, body });
      if (req.url?.includes('slow')) return void setTimeout(() => res.end('{}'), 2000);
      if (req.url?.includes('busy')) {
        res.writeHead(503, { 'retry-after': '7', 'content-type': 'application/json' });
        return void res.end(JSON.stringify({ error: 'busy' }));
      }
      res.writeHead(200, { 'content-type': 'application/json', 'x-two': ['a', 'b'] });
      res.end(JSON.stringify({ echo: body }));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

describe('nodeFetch', () => {
  it('sends method, headers and body; reads status, headers and text', async () => {
    const res = await nodeFetch(`${base}/api/v1/x`, {
      method: 'POST',
      headers: { authorization: 'Bearer t', 'content-type': 'application/json' },
      body: '{"a":1}',
    });
    expect([res.ok, res.status]).toEqual([true, 200]);
    expect(res.headers.get('X-Two')).toBe('a, b');
    expect(res.headers.get('nope')).toBeNull();
    expect(JSON.parse(await res.text())).toEqual({ echo: '{"a":1}' });
    expect(seen.at(-1)).toMatchObject({ method: 'POST', headers: { authorization: 'Bearer t' } });
  });

  it('works as callCollector’s fetch: a refusal with Retry-After, a timeout, a refused connection', async () => {
    const busy = await callCollector({ base, method: 'GET', path: '/busy', fetch: nodeFetch });
    expect(busy).toMatchObject({ kind: 'refused', status: 503, message: 'busy', retryAfterMs: 7000 });
    const slow = await callCollector({
      base,
      method: 'GET',
      path: '/slow',
      timeoutMs: 200,
      fetch: nodeFetch,
    });
    expect(slow).toEqual({ kind: 'unreachable', reason: 'no answer in time (timeout)' });
    const gone = await callCollector({
      base: 'http://127.0.0.1:9',
      method: 'GET',
      path: '/x',
      fetch: nodeFetch,
    });
    expect(gone).toEqual({ kind: 'unreachable', reason: 'connection refused (is the collector running?)' });
  });
});
