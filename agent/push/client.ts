// The agent's side of the HTTP contract in shared/wire.ts: its calls, each answering with an Outcome
// that says what the agent should do next, instead of throwing (shared/http.ts makes the request):
//   ok        2xx, body validated
//   retry     the collector is away or overloaded (connection refused, timeout, 5xx, 408, 429): try later
//   denied    401 / 403 / 404: this agent's site or token is wrong; retrying soon will not help
//   rejected  any other 4xx: this request itself is bad and will never be accepted
import { z } from 'zod';
import {
  type ApiRequest,
  callCollector,
  collectorBase,
  DEFAULT_TIMEOUT_MS,
  describeRequest,
  type Outcome,
  outcomeOf,
} from '../../shared/http.ts';
import { VERSION_HEADER } from '../../shared/version.ts';
import {
  type AgentPlan,
  agentPlanSchema,
  type Heartbeat,
  type HeartbeatReply,
  heartbeatReplySchema,
  type IngestReply,
  ingestReplySchema,
  type QualifyTask,
  qualifyTaskSchema,
  type ResultBatch,
  type TaskProgress,
  type TaskResult,
} from '../../shared/wire.ts';

export { type Outcome, parseRetryAfter } from '../../shared/http.ts';

const tasksReplySchema = z.object({ tasks: z.array(qualifyTaskSchema) });
const progressReplySchema = z.object({ cancelled: z.boolean() });

export interface CollectorClientOptions {
  /** Base URL, e.g. http://127.0.0.1:8080 */
  url: string;
  site: string;
  token: string;
  /** This agent's version, sent on every request (shared/version.ts): the collector refuses versions it does not take. */
  version: string;
  timeoutMs?: number;
  fetch?: typeof fetch;
}

export class CollectorClient {
  private readonly base: string;
  private readonly opts: CollectorClientOptions;
  private readonly fetch: typeof fetch;

  constructor(opts: CollectorClientOptions) {
    this.opts = opts;
    this.base = collectorBase(opts.url);
    // Every request says which wanwatch sends it (the collector's check: collector/api/versions.ts).
    const send = opts.fetch ?? globalThis.fetch;
    // Plain-object headers (callCollector sends them so): no Headers, whose first use loads Node's copy
    // of undici (an agent's memory: shared/node-fetch.ts).
    this.fetch = (input, init) =>
      send(input, {
        ...init,
        headers: { ...(init?.headers as Record<string, string> | undefined), [VERSION_HEADER]: opts.version },
      });
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

  postHeartbeat(hb: Heartbeat, signal?: AbortSignal): Promise<Outcome<HeartbeatReply>> {
    // Loose: fields a later collector adds must not make its heartbeats look unanswered.
    return this.call('POST', '/heartbeat', hb, heartbeatReplySchema.loose(), signal);
  }

  /** Mesh-qualification tasks the collector wants this site to run now. */
  /** The site's ready tasks; with `waitS`, the collector holds the request up to that long for some. */
  async getTasks(signal?: AbortSignal, waitS = 0): Promise<Outcome<QualifyTask[]>> {
    const wait = waitS > 0 ? `&wait=${waitS}` : '';
    const out = await this.call(
      'GET',
      `/tasks?site=${encodeURIComponent(this.opts.site)}${wait}`,
      undefined,
      tasksReplySchema,
      signal,
      waitS * 1000,
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
    return this.send('POST', `/tasks/${encodeURIComponent(id)}/result`, r, signal);
  }

  /** A call whose reply must match `schema`. */
  private async call<T>(
    method: 'GET' | 'POST',
    path: string,
    body: unknown,
    schema: z.ZodType<T>,
    signal: AbortSignal | undefined,
    /** Added to the usual timeout: the time the collector may hold the request (a long poll). */
    heldMs = 0,
  ): Promise<Outcome<T>> {
    const req = this.request(method, path, body, signal, heldMs);
    return outcomeOf(await callCollector({ ...req, schema }), describeRequest(req));
  }

  /** A call whose reply body does not matter. */
  private async send(
    method: 'GET' | 'POST',
    path: string,
    body: unknown,
    signal: AbortSignal | undefined,
  ): Promise<Outcome<unknown>> {
    const req = this.request(method, path, body, signal);
    return outcomeOf(await callCollector(req), describeRequest(req));
  }

  private request(
    method: 'GET' | 'POST',
    path: string,
    body: unknown,
    signal?: AbortSignal,
    heldMs = 0,
  ): ApiRequest {
    const { token } = this.opts;
    const timeoutMs = heldMs > 0 ? (this.opts.timeoutMs ?? DEFAULT_TIMEOUT_MS) + heldMs : this.opts.timeoutMs;
    return { base: this.base, method, path, body, token, timeoutMs, signal, fetch: this.fetch };
  }
}
