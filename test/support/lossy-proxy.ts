// An HTTP proxy in front of a real collector that can lose acknowledgements: it forwards a request,
// waits for the collector's full answer (so the collector has acted on it), then drops the client's
// connection instead of relaying the answer. That is a crash or a network cut between send and ack.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface LossyProxy {
  url: string;
  /** Lose the answers to the next N requests whose path starts with `path`. */
  loseAnswers(path: string, n: number): void;
  /** Paths and bodies of the requests forwarded, in order. */
  forwarded: { method: string; path: string; body: string }[];
  close(): Promise<void>;
}

export async function startLossyProxy(upstream: string): Promise<LossyProxy> {
  let lose: { path: string; n: number } | undefined;
  const forwarded: LossyProxy['forwarded'] = [];
  const server: Server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = Buffer.concat(chunks).toString('utf8');
    const path = req.url ?? '/';
    forwarded.push({ method: req.method ?? 'GET', path, body });
    const headers: Record<string, string> = {};
    for (const h of ['authorization', 'content-type']) {
      const v = req.headers[h];
      if (typeof v === 'string') headers[h] = v;
    }
    let answer: Response;
    try {
      answer = await fetch(`${upstream}${path}`, {
        method: req.method ?? 'GET',
        headers,
        ...(req.method === 'GET' ? {} : { body }),
      });
    } catch {
      req.socket.destroy(); // upstream away: so is the proxy, as far as the client can tell
      return;
    }
    const text = await answer.text();
    if (lose !== undefined && lose.n > 0 && path.startsWith(lose.path)) {
      lose.n -= 1;
      req.socket.destroy();
      return;
    }
    res.writeHead(answer.status, { 'content-type': answer.headers.get('content-type') ?? 'text/plain' });
    res.end(text);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    loseAnswers: (path, n) => {
      lose = { path, n };
    },
    forwarded,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
