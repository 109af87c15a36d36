// The console's files as the collector serves them: the page under the strict policy, hashed assets
// kept by browsers, revalidation by ETag, HEAD without a body, nothing outside the folder, and a clear
// 503 when the console was never built.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CONSOLE_CSP, ConsoleFiles } from '../../../collector/console/static.ts';

let dir: string;
let built: string | null;
let server: Server;
let url: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'wanwatch-console-files-'));
  const out = join(dir, 'console');
  mkdirSync(out);
  writeFileSync(
    join(out, 'index.html'),
    '<!doctype html><script type="module" src="/console/console-ABCD1234.js"></script>',
  );
  writeFileSync(join(out, 'console-ABCD1234.js'), 'console.log(1)');
  writeFileSync(join(dir, 'secret.txt'), 'not for the browser');
  built = out;
  const files = new ConsoleFiles(() => built);
  server = createServer((req, res) => files.serve(req, res, new URL(req.url ?? '/', 'http://x').pathname));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise((r) => server.close(r));
  rmSync(dir, { recursive: true, force: true });
});

describe('the console’s files', () => {
  it('serves the page under the strict policy, to be revalidated each time', async () => {
    const res = await fetch(`${url}/`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-security-policy')).toBe(CONSOLE_CSP);
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('cache-control')).toBe('no-cache');
    const again = await fetch(`${url}/`, { headers: { 'if-none-match': res.headers.get('etag') ?? '' } });
    expect(again.status).toBe(304);
  });

  it('lets browsers keep a hashed asset, and answers HEAD without a body', async () => {
    const res = await fetch(`${url}/console/console-ABCD1234.js`, { method: 'HEAD' });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(res.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect(await res.text()).toBe('');
  });

  it.each(['/console/../secret.txt', '/console/%2e%2e/secret.txt', '/console/nothing.js', '/console/'])(
    'answers 404 for %s',
    async (path) => {
      const res = await fetch(`${url}${path}`);
      expect(res.status).toBe(404);
      expect(await res.text()).not.toContain('not for the browser');
    },
  );

  it('says how to build the console when it was never built', async () => {
    built = null;
    const res = await fetch(`${url}/`);
    built = join(dir, 'console');
    expect(res.status).toBe(503);
    expect(await res.text()).toContain('npm run build:console');
  });
});
