// The part of fetch the collector client uses (shared/http.ts callCollector), on node:http / node:https.
// Why: Node's global fetch loads its own copy of undici at the first use of fetch, Headers or Response,
// which is 12 MB of an agent's resident memory (5 MB of heap, 7 MB more of the node binary's pages), an
// eighth of what an agent probing 50 peers holds (docs/measuring.md, "What an agent costs"). Requests
// keep their connections alive as fetch's do (Node's global agents keep alive since Node 19).
//
// Only what callCollector needs: method, plain-object headers, a string body, an AbortSignal; the reply's
// ok, status, headers.get and text(). Failures look like fetch's: the signal's reason when it aborted
// (a TimeoutError for AbortSignal.timeout), else TypeError("fetch failed") with the system error as cause.
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';

interface Init {
  method?: string;
  headers?: Record<string, string> | Iterable<[string, string]>;
  body?: string;
  signal?: AbortSignal;
}

function plainHeaders(h: Init['headers']): Record<string, string> {
  if (h === undefined) return {};
  if (Symbol.iterator in h) return Object.fromEntries(h as Iterable<[string, string]>);
  return h as Record<string, string>;
}

export const nodeFetch = ((input: string | URL, init: Init = {}) =>
  new Promise((resolve, reject) => {
    const url = new URL(String(input));
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
    const { signal } = init;
    const fail = (err: Error) =>
      reject(signal?.aborted ? signal.reason : Object.assign(new TypeError('fetch failed'), { cause: err }));
    const req = send(
      url,
      { method: init.method ?? 'GET', headers: plainHeaders(init.headers), ...(signal ? { signal } : {}) },
      (res: IncomingMessage) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', fail);
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          const status = res.statusCode ?? 0;
          resolve({
            ok: status >= 200 && status < 300,
            status,
            headers: {
              get: (name: string) => {
                const v = res.headers[name.toLowerCase()];
                return v === undefined ? null : Array.isArray(v) ? v.join(', ') : v;
              },
            },
            text: async () => text,
            json: async () => JSON.parse(text),
          });
        });
      },
    );
    req.on('error', fail);
    req.end(init.body);
  })) as unknown as typeof fetch;
