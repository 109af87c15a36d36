// Small helpers for the node:http server: bounded body reading and JSON replies.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ErrorReply } from '../../shared/wire.ts';

/** An error that becomes an HTTP reply {error, details?} with its status. */
export class HttpError extends Error {
  readonly status: number;
  readonly details: string[] | undefined;
  /** Extra reply headers, e.g. Retry-After on a 503. */
  readonly headers: Record<string, string>;
  constructor(status: number, message: string, details?: string[], headers: Record<string, string> = {}) {
    super(message);
    this.status = status;
    this.details = details;
    this.headers = headers;
  }
}

/** Reads the whole body, refusing (413) past `limit` bytes without buffering the rest. */
export function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length']);
    if (Number.isFinite(declared) && declared > limit) {
      req.resume();
      reject(tooLarge(declared, limit));
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let failed = false;
    req.on('data', (chunk: Buffer) => {
      if (failed) return;
      size += chunk.length;
      if (size > limit) {
        failed = true;
        reject(tooLarge(size, limit));
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      if (!failed) resolve(Buffer.concat(chunks));
    });
    req.on('error', (err) => {
      if (!failed) reject(new HttpError(400, `the request body could not be read: ${err.message}`));
      failed = true;
    });
  });
}

function tooLarge(size: number, limit: number): HttpError {
  return new HttpError(
    413,
    `the request body is larger than ${limit} bytes (at least ${size}); send fewer results per batch`,
  );
}

export function parseJson(body: Buffer): unknown {
  try {
    return JSON.parse(body.toString('utf8'));
  } catch (err) {
    throw new HttpError(400, `the request body is not valid JSON: ${(err as Error).message}`);
  }
}

/** A reply serialized once and sent as it is to every client that asks (the read API's replies). */
export class JsonText<T> {
  /** Only a type: what the text is the JSON of. */
  declare readonly of: T;
  constructor(readonly text: string) {}
}

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = body instanceof JsonText ? body.text : JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    'cache-control': 'no-store',
  });
  res.end(text);
}

export function sendError(res: ServerResponse, err: HttpError): void {
  const body: ErrorReply = { error: err.message, ...(err.details ? { details: err.details } : {}) };
  for (const [name, value] of Object.entries(err.headers)) res.setHeader(name, value);
  if (err.status === 401) res.setHeader('www-authenticate', 'Bearer realm="wanwatch"');
  // After a 413 the rest of the body is not read: close the connection rather than drain it.
  if (err.status === 413) res.setHeader('connection', 'close');
  sendJson(res, err.status, body);
}

/** "results[3].rtt.samples_ms[0]: expected number" lines from zod issues. */
export function zodDetails(issues: readonly { path: PropertyKey[]; message: string }[]): string[] {
  return issues.slice(0, 50).map((i) => {
    let path = '';
    for (const p of i.path)
      path += typeof p === 'number' ? `[${p}]` : path === '' ? String(p) : `.${String(p)}`;
    return `${path === '' ? '(body)' : path}: ${i.message}`;
  });
}
