// One JSON request to the collector's API (shared/wire.ts), for everything that talks to it: the agent's
// push client (agent/push/client.ts) and mesh qualification (qualify/mesh.ts). It sends the body as
// JSON with a bearer token when there is one (the site's, or an operator's credential), gives up after a timeout, validates a 2xx reply with a zod
// schema, and says what went wrong instead of throwing:
//   ok           2xx, body validated
//   unreachable  no HTTP answer at all (connection refused, name not found, timeout)
//   refused      an HTTP answer other than 2xx, with the collector's message {error, details?}
//   unreadable   2xx, but the body is not JSON or not what the schema says (a collector of another version)
// `outcomeOf` sorts these into what an agent does next (ok / retry / denied / rejected).
import type { z } from 'zod';
import { API_PREFIX, errorReplySchema } from './wire.ts';

export interface ApiRequest {
  /** The collector's URL, e.g. http://127.0.0.1:8080 (a trailing slash is fine). */
  base: string;
  method: 'GET' | 'POST' | 'DELETE';
  /** Below /api/v1, e.g. `/plan?site=A`. */
  path: string;
  /** Sent as JSON when given. */
  body?: unknown;
  /** Sent as `authorization: Bearer <token>` when given: a site's token, or a viewer's or operator's credential. */
  token?: string;
  /** Default 15 s. */
  timeoutMs?: number;
  signal?: AbortSignal;
  fetch?: typeof fetch;
}

export type ApiReply<T> =
  | { kind: 'ok'; value: T }
  | { kind: 'unreachable'; reason: string }
  | { kind: 'refused'; status: number; message: string; retryAfterMs?: number }
  | { kind: 'unreadable'; status: number; reason: string };

/** What a caller that retries does next (the agent). */
export type Outcome<T> =
  | { kind: 'ok'; value: T }
  | { kind: 'retry'; reason: string; retryAfterMs?: number }
  | { kind: 'denied'; status: number; message: string }
  | { kind: 'rejected'; status: number; message: string };

export const DEFAULT_TIMEOUT_MS = 15_000;

/** The collector's URL without trailing slashes, to put a path after. */
export const collectorBase = (url: string): string => url.replace(/\/+$/, '');

/** `METHOD URL` of a request, as replies and logs name it. */
export const describeRequest = (req: ApiRequest): string =>
  `${req.method} ${collectorBase(req.base)}${API_PREFIX}${req.path}`;

/** A request whose 2xx reply must match `schema`. */
export function callCollector<T>(req: ApiRequest & { schema: z.ZodType<T> }): Promise<ApiReply<T>>;
/** A request whose 2xx reply body is not looked at. */
export function callCollector(req: ApiRequest & { schema?: undefined }): Promise<ApiReply<undefined>>;
export async function callCollector<T>(
  req: ApiRequest & { schema?: z.ZodType<T> },
): Promise<ApiReply<T | undefined>> {
  const timeout = AbortSignal.timeout(req.timeoutMs ?? DEFAULT_TIMEOUT_MS);
  let res: Response;
  try {
    res = await (req.fetch ?? fetch)(`${collectorBase(req.base)}${API_PREFIX}${req.path}`, {
      method: req.method,
      headers: {
        ...(req.token === undefined ? {} : { authorization: `Bearer ${req.token}` }),
        ...(req.body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: req.body === undefined ? undefined : JSON.stringify(req.body),
      signal: req.signal === undefined ? timeout : AbortSignal.any([req.signal, timeout]),
    });
  } catch (err) {
    return { kind: 'unreachable', reason: describeFetchError(err) };
  }
  const text = await res.text().catch(() => '');
  if (!res.ok) {
    const retryAfterMs = parseRetryAfter(res.headers.get('retry-after'));
    return {
      kind: 'refused',
      status: res.status,
      message: collectorMessage(text, res.status),
      ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
    };
  }
  if (req.schema === undefined) return { kind: 'ok', value: undefined };
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return {
      kind: 'unreadable',
      status: res.status,
      reason: `answered ${res.status} with a body that is not JSON`,
    };
  }
  const parsed = req.schema.safeParse(json);
  if (!parsed.success) {
    const issues = parsed.error.issues
      .slice(0, 3)
      .map((i) => `${i.path.join('.') || '(body)'}: ${i.message}`)
      .join('; ');
    return { kind: 'unreadable', status: res.status, reason: `unexpected reply (${issues})` };
  }
  return { kind: 'ok', value: parsed.data };
}

/**
 * What to do about a reply: retry when the collector is away or overloaded (no answer, 5xx, 408, 429)
 * or of another version (retrying after an upgrade is the only remedy); denied for 401 / 403 / 404 (this
 * site or token is wrong); rejected for any other 4xx (the request itself will never be accepted).
 * `request` (see describeRequest) starts each retry reason.
 */
export function outcomeOf<T>(reply: ApiReply<T>, request: string): Outcome<T> {
  switch (reply.kind) {
    case 'ok':
      return reply;
    case 'unreachable':
    case 'unreadable':
      return { kind: 'retry', reason: `${request}: ${reply.reason}` };
    case 'refused': {
      const { status, message, retryAfterMs } = reply;
      if (status >= 500 || status === 408 || status === 429)
        return {
          kind: 'retry',
          reason: `${request}: ${status} ${message}`,
          ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
        };
      if (status === 401 || status === 403 || status === 404) return { kind: 'denied', status, message };
      return { kind: 'rejected', status, message };
    }
  }
}

/** The collector's {error, details?} as one line, or the start of whatever else it sent. */
function collectorMessage(text: string, status: number): string {
  try {
    const parsed = errorReplySchema.safeParse(JSON.parse(text));
    if (parsed.success) {
      return [parsed.data.error, ...(parsed.data.details ?? [])].join('; ');
    }
  } catch {
    // not JSON
  }
  return text.trim().slice(0, 300) || `HTTP ${status}`;
}

function describeFetchError(err: unknown): string {
  if (err instanceof Error) {
    if (err.name === 'TimeoutError') return 'no answer in time (timeout)';
    const cause = (err as Error & { cause?: { code?: string; message?: string } }).cause;
    if (cause?.code === 'ECONNREFUSED') return 'connection refused (is the collector running?)';
    if (cause?.code !== undefined) return `${cause.code}${cause.message ? ` (${cause.message})` : ''}`;
    return err.message;
  }
  return String(err);
}

/** Retry-After in seconds or as an HTTP date, in milliseconds from now. */
export function parseRetryAfter(value: string | null, now = Date.now()): number | undefined {
  if (value === null || value.trim() === '') return undefined;
  const secs = Number(value);
  if (Number.isFinite(secs) && secs >= 0) return Math.min(secs * 1000, 3_600_000);
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, Math.min(at - now, 3_600_000));
}
