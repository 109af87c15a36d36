// The agent's side of the HTTP contract in shared/wire.ts: three calls, each answering with an
// Outcome that says what the agent should do next, instead of throwing.
//   ok        2xx, body validated
//   retry     the collector is away or overloaded (connection refused, timeout, 5xx, 408, 429): try later
//   denied    401 / 403 / 404: this agent's site or token is wrong; retrying soon will not help
//   rejected  any other 4xx: this request itself is bad and will never be accepted
import type { z } from 'zod';
import { z as zod } from 'zod';
import {
  type AgentPlan,
  API_PREFIX,
  agentPlanSchema,
  errorReplySchema,
  type Heartbeat,
  type IngestReply,
  ingestReplySchema,
  type QualifyTask,
  qualifyTaskSchema,
  type ResultBatch,
  type TaskProgress,
  type TaskResult,
} from '../../shared/wire.ts';

const tasksReplySchema = zod.object({ tasks: zod.array(qualifyTaskSchema) });
const progressReplySchema = zod.object({ cancelled: zod.boolean() });

export type Outcome<T> =
  | { kind: 'ok'; value: T }
  | { kind: 'retry'; reason: string; retryAfterMs?: number }
  | { kind: 'denied'; status: number; message: string }
  | { kind: 'rejected'; status: number; message: string };

export interface CollectorClientOptions {
  /** Base URL, e.g. http://127.0.0.1:8080 */
  url: string;
  site: string;
  token: string;
  timeoutMs?: number;
  fetch?: typeof fetch;
}

export class CollectorClient {
  private readonly base: string;
  private readonly opts: CollectorClientOptions;

  constructor(opts: CollectorClientOptions) {
    this.opts = opts;
    this.base = opts.url.replace(/\/+$/, '');
  }

  get url(): string {
    return this.base;
  }

  getPlan(signal?: AbortSignal): Promise<Outcome<AgentPlan>> {
    const path = `/plan?site=${encodeURIComponent(this.opts.site)}`;
    return this.call('GET', path, undefined, agentPlanSchema, signal);
  }

  postResults(batch: ResultBatch, signal?: AbortSignal): Promise<Outcome<IngestReply>> {
    return this.call('POST', '/results', batch, ingestReplySchema, signal);
  }

  postHeartbeat(hb: Heartbeat, signal?: AbortSignal): Promise<Outcome<unknown>> {
    return this.call('POST', '/heartbeat', hb, undefined, signal);
  }

  /** Mesh-qualification tasks the collector wants this site to run now. */
  async getTasks(signal?: AbortSignal): Promise<Outcome<QualifyTask[]>> {
    const out = await this.call(
      'GET',
      `/tasks?site=${encodeURIComponent(this.opts.site)}`,
      undefined,
      tasksReplySchema,
      signal,
    );
    return out.kind === 'ok' ? { kind: 'ok', value: out.value.tasks } : out;
  }

  postTaskProgress(
    id: string,
    p: TaskProgress,
    signal?: AbortSignal,
  ): Promise<Outcome<{ cancelled: boolean }>> {
    return this.call('POST', `/tasks/${encodeURIComponent(id)}/progress`, p, progressReplySchema, signal);
  }

  postTaskResult(id: string, r: TaskResult, signal?: AbortSignal): Promise<Outcome<unknown>> {
    return this.call('POST', `/tasks/${encodeURIComponent(id)}/result`, r, undefined, signal);
  }

  private async call<T>(
    method: 'GET' | 'POST',
    path: string,
    body: unknown,
    schema: z.ZodType<T> | undefined,
    signal: AbortSignal | undefined,
  ): Promise<Outcome<T>> {
    const timeout = AbortSignal.timeout(this.opts.timeoutMs ?? 15_000);
    const url = `${this.base}${API_PREFIX}${path}`;
    let res: Response;
    try {
      res = await (this.opts.fetch ?? fetch)(url, {
        method,
        headers: {
          authorization: `Bearer ${this.opts.token}`,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: signal === undefined ? timeout : AbortSignal.any([signal, timeout]),
      });
    } catch (err) {
      return { kind: 'retry', reason: `${method} ${url}: ${describeFetchError(err)}` };
    }
    const text = await res.text().catch(() => '');
    if (res.ok) {
      if (schema === undefined) return { kind: 'ok', value: undefined as T };
      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch {
        return {
          kind: 'retry',
          reason: `${method} ${url}: answered ${res.status} with a body that is not JSON`,
        };
      }
      const parsed = schema.safeParse(json);
      if (!parsed.success) {
        // A collector of another version: retrying later (after an upgrade) is the only remedy.
        return {
          kind: 'retry',
          reason: `${method} ${url}: unexpected reply (${parsed.error.issues
            .slice(0, 3)
            .map((i) => `${i.path.join('.') || '(body)'}: ${i.message}`)
            .join('; ')})`,
        };
      }
      return { kind: 'ok', value: parsed.data };
    }
    const message = collectorMessage(text, res.status);
    if (res.status >= 500 || res.status === 408 || res.status === 429) {
      const retryAfterMs = parseRetryAfter(res.headers.get('retry-after'));
      return {
        kind: 'retry',
        reason: `${method} ${url}: ${res.status} ${message}`,
        ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
      };
    }
    if (res.status === 401 || res.status === 403 || res.status === 404) {
      return { kind: 'denied', status: res.status, message };
    }
    return { kind: 'rejected', status: res.status, message };
  }
}

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
