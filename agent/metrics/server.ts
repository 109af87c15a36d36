// The agent's /metrics endpoint (`--metrics-listen HOST:PORT`, off by default): plain HTTP on a local
// address, GET /metrics and nothing else. It says nothing about other sites and takes no input, so it
// has no credential; bind it to loopback or an address only the Prometheus server reaches.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Exposition } from '../../shared/metrics/exposition.ts';

export interface MetricsServer {
  /** e.g. http://127.0.0.1:9469 */
  url: string;
  close(): Promise<void>;
}

/** "127.0.0.1:9469", "[::1]:9469", "0.0.0.0:9469" → host and port; throws naming the option otherwise. */
export function parseMetricsListen(listen: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(listen.trim());
  const port = m ? Number(m[3]) : Number.NaN;
  if (!m || port > 65535)
    throw new Error(`--metrics-listen: "${listen}" is not HOST:PORT (e.g. 127.0.0.1:9469, [::1]:9469)`);
  return { host: (m[1] ?? m[2]) as string, port };
}

export async function serveMetrics(
  listen: { host: string; port: number },
  scrape: (accept: string | undefined) => Promise<Exposition>,
): Promise<MetricsServer> {
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' });
      return void res.end('not found: the agent serves GET /metrics only\n');
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET', 'content-type': 'text/plain; charset=utf-8' });
      return void res.end('/metrics accepts GET only\n');
    }
    scrape(req.headers.accept).then(
      (m) => {
        res.writeHead(200, {
          'content-type': m.contentType,
          'content-length': Buffer.byteLength(m.text),
          'cache-control': 'no-store',
        });
        res.end(req.method === 'HEAD' ? undefined : m.text);
      },
      (err: unknown) => {
        res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' });
        res.end(`metrics failed: ${(err as Error).message}\n`);
      },
    );
  });
  server.requestTimeout = 30_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) =>
      reject(
        new Error(
          `--metrics-listen: cannot listen on ${listen.host}:${listen.port}: ${err.code ?? err.message}; choose another address or port`,
        ),
      ),
    );
    server.listen(listen.port, listen.host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const host = listen.host.includes(':') ? `[${listen.host}]` : listen.host;
  return {
    url: `http://${host}:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
