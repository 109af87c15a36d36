// The collector's HTTP API (shared/wire.ts is the contract). Who may call which endpoint is access.ts:
// agents use their site's bearer token; reads (/metrics too) need a viewer or operator credential
// (unless `collector.public_read`); starting and stopping qualifications an operator credential; /healthz
// nothing. Every bad request gets a 4xx with a JSON body {error, details?}; nothing a client sends can
// stop the server. What the collector takes from agents beyond the schema's shapes is ingest-checks.ts.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { z } from 'zod';
import type { OutputsReply } from '../../shared/outputs-wire.ts';
import type { SeriesQuery, SeriesReply } from '../../shared/series-wire.ts';
import {
  type AgentPlan,
  type AgentsReply,
  type AlertsReply,
  API_PREFIX,
  type Heartbeat,
  type HeartbeatReply,
  heartbeatSchema,
  type IngestReply,
  type LinksReply,
  MAX_BODY_BYTES,
  type Qualification,
  type QualificationRequest,
  type QualifyTask,
  qualificationRequestSchema,
  type ResultBatch,
  resultBatchSchema,
  type TaskProgress,
  type TaskResult,
  taskProgressSchema,
  taskResultSchema,
} from '../../shared/wire.ts';
import { ConsoleFiles, isConsolePath } from '../console/static.ts';
import { checkSite, type Gate, type Requester } from './access.ts';
import { HttpError, type JsonText, parseJson, readBody, sendError, sendJson, zodDetails } from './http.ts';
import { badText } from './ingest-checks.ts';
import { type ReportKeys, sendReport } from './report.ts';
import { parseSeriesQuery } from './series.ts';

export interface ApiContext {
  /** Who may call what, and how often. */
  gate: Gate;
  knownSites(): string[];
  plan(site: string): AgentPlan | undefined;
  /** Throws HttpError when the collector does not take the batch (ingest-checks.ts, two agents). */
  ingest(batch: ResultBatch): IngestReply;
  /** `from` is the agent's remote address. */
  heartbeat(hb: Heartbeat, from: string | null): HeartbeatReply;
  /** Built once per evaluation, serialized once (read.ts). */
  links(): JsonText<LinksReply>;
  alerts(): JsonText<AlertsReply>;
  agents(): AgentsReply;
  outputs(): OutputsReply;
  /** GET /api/v1/series: one link direction's history, downsampled (api/series.ts). */
  series(q: SeriesQuery): Promise<SeriesReply>;
  /** GET /metrics (collector/metrics/): Prometheus text, or OpenMetrics when `accept` asks for it. */
  metrics(accept: string | undefined): Promise<{ contentType: string; text: string | Buffer }>;
  /** Any request answered with an HTTP error, by its status (counted for /metrics). */
  onHttpError(status: number): void;
  /** Mesh qualifications; methods throw HttpError for bad requests. `by` is the operator asking. */
  qualifications: {
    create(req: QualificationRequest, by: Requester): Qualification;
    /** Those the collector still holds, newest first (GET /api/v1/qualifications). */
    list(): Qualification[];
    get(id: string): Qualification | undefined;
    /** A finished one's report page (api/report.ts), or undefined; its URL with a key for frames. */
    report(id: string): string | undefined;
    reportKeys: ReportKeys;
    cancel(id: string, by: Requester): Qualification | undefined;
    /** The site's ready tasks, waiting up to `waitMs` for some (a long poll) unless `signal` aborts. */
    take(site: string, waitMs: number, signal: AbortSignal): Promise<QualifyTask[]>;
    progress(taskId: string, site: string, p: TaskProgress): { cancelled: boolean };
    complete(taskId: string, site: string, r: TaskResult): void;
  };
  onError(err: unknown, req: IncomingMessage): void;
  /** A request refused for its token or credential (401, 403), from `from`. */
  onRefused(err: HttpError, req: IncomingMessage, from: string): void;
}

export function createHandler(ctx: ApiContext) {
  const files = new ConsoleFiles();
  return (req: IncomingMessage, res: ServerResponse): void => {
    route(ctx, req, res, files).catch((err: unknown) => {
      if (err instanceof HttpError) {
        ctx.onHttpError(err.status);
        if (err.status === 401 || err.status === 403) ctx.onRefused(err, req, remoteAddress(req));
        if (!res.headersSent) sendError(res, err);
        return;
      }
      ctx.onError(err, req);
      if (!res.headersSent) sendJson(res, 500, { error: `internal error: ${(err as Error).message}` });
    });
  };
}

async function route(
  ctx: ApiContext,
  req: IncomingMessage,
  res: ServerResponse,
  files: ConsoleFiles,
): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://collector');
  const path = url.pathname.replace(/\/+$/, '') || '/';
  const method = req.method ?? 'GET';
  // The web console's files (collector/console/): public; the reads the page makes are not.
  if ((method === 'GET' || method === 'HEAD') && isConsolePath(path)) return files.serve(req, res, path);
  const from = remoteAddress(req);
  ctx.gate.checkAddress(req, from);
  const only = (m: string) => {
    if (method !== m) {
      res.setHeader('allow', m);
      throw new HttpError(405, `${path} accepts ${m} only, not ${method}`);
    }
  };

  const report = new RegExp(`^${API_PREFIX}/qualifications/([^/]+)/report\\.html$`).exec(path);
  if (report) {
    only('GET');
    const id = report[1] as string;
    if (!ctx.qualifications.reportKeys.valid(id, url.searchParams, Date.now())) ctx.gate.reader(req, from);
    const html = ctx.qualifications.report(id);
    if (html === undefined)
      throw new HttpError(404, `no finished qualification ${id} (a running one has no report yet)`);
    return sendReport(res, html);
  }
  const qualification = new RegExp(`^${API_PREFIX}/qualifications(?:/([^/]+))?$`).exec(path);
  if (qualification) {
    const id = qualification[1];
    if (id === undefined) {
      if (method === 'GET') {
        ctx.gate.reader(req, from);
        const qualifications = ctx.qualifications.list();
        const now = Date.now();
        // Each finished one's report page, with a key a frame can use (api/report.ts).
        const reports = Object.fromEntries(
          qualifications
            .filter((q) => q.state !== 'running')
            .map((q) => [q.id, ctx.qualifications.reportKeys.url(q.id, now)]),
        );
        return sendJson(res, 200, { qualifications, reports });
      }
      only('POST');
      const by = ctx.gate.operator(req, from, 'starting a qualification');
      const body = await readValid(req, qualificationRequestSchema, 'qualification request');
      return sendJson(res, 201, ctx.qualifications.create(body, by));
    }
    if (method === 'DELETE') {
      const by = ctx.gate.operator(req, from, 'stopping a qualification');
      const q = ctx.qualifications.cancel(id, by);
      if (!q) throw new HttpError(404, `no qualification ${id} (the collector may have restarted)`);
      return sendJson(res, 200, q);
    }
    only('GET');
    ctx.gate.reader(req, from);
    const q = ctx.qualifications.get(id);
    if (!q) throw new HttpError(404, `no qualification ${id} (the collector may have restarted)`);
    return sendJson(res, 200, q);
  }
  const task = new RegExp(`^${API_PREFIX}/tasks/([^/]+)/(progress|result)$`).exec(path);
  if (task) {
    only('POST');
    const who = ctx.gate.agent(req, from);
    const id = task[1] as string;
    if (task[2] === 'progress') {
      const p = await readValid(req, taskProgressSchema, 'task progress');
      return sendJson(res, 200, ctx.qualifications.progress(id, who, p));
    }
    const r = await readValid(req, taskResultSchema, 'task result');
    ctx.qualifications.complete(id, who, r);
    return sendJson(res, 200, { ok: true });
  }

  switch (path) {
    case `${API_PREFIX}/tasks`: {
      only('GET');
      const who = querySite(ctx, req, from, url, path);
      // ?wait=S: hold the request up to S seconds (at most 30) until a task is ready; without it, answer now.
      const waitS = Number(url.searchParams.get('wait') ?? 0);
      const gone = new AbortController();
      res.once('close', () => gone.abort());
      const tasks = await ctx.qualifications.take(
        who,
        Number.isFinite(waitS) ? Math.max(0, waitS) * 1000 : 0,
        gone.signal,
      );
      return sendJson(res, 200, { tasks });
    }
    case '/healthz':
      only('GET');
      return sendJson(res, 200, { ok: true });
    case `${API_PREFIX}/plan`: {
      only('GET');
      const who = querySite(ctx, req, from, url, path);
      const plan = ctx.plan(who);
      if (!plan) throw new HttpError(404, `no plan for site "${who}"`);
      return sendJson(res, 200, plan);
    }
    case `${API_PREFIX}/results`: {
      only('POST');
      const who = ctx.gate.agent(req, from);
      const batch = await readValid(req, resultBatchSchema, 'result batch');
      checkSite(ctx.knownSites(), who, batch.site, 'batch');
      for (const [i, r] of batch.results.entries()) {
        if (r.src !== who) {
          throw new HttpError(
            403,
            `results[${i}].src is "${r.src}", but this token belongs to site "${who}"`,
            [`results[${i}].src: must be "${who}"`],
          );
        }
      }
      return sendJson(res, 200, ctx.ingest(batch));
    }
    case `${API_PREFIX}/heartbeat`: {
      only('POST');
      const who = ctx.gate.agent(req, from);
      const hb = await readValid(req, heartbeatSchema, 'heartbeat');
      checkSite(ctx.knownSites(), who, hb.site, 'heartbeat');
      return sendJson(res, 200, ctx.heartbeat(hb, from));
    }
    case `${API_PREFIX}/links`:
      only('GET');
      ctx.gate.reader(req, from);
      return sendJson(res, 200, ctx.links());
    case `${API_PREFIX}/alerts`:
      only('GET');
      ctx.gate.reader(req, from);
      return sendJson(res, 200, ctx.alerts());
    case `${API_PREFIX}/agents`:
      only('GET');
      ctx.gate.reader(req, from);
      return sendJson(res, 200, ctx.agents());
    case `${API_PREFIX}/outputs`:
      only('GET');
      ctx.gate.reader(req, from);
      return sendJson(res, 200, ctx.outputs());
    case `${API_PREFIX}/series`:
      only('GET');
      ctx.gate.reader(req, from);
      return sendJson(res, 200, await ctx.series(parseSeriesQuery(url.searchParams)));
    case '/metrics': {
      only('GET');
      ctx.gate.reader(req, from);
      const m = await ctx.metrics(req.headers.accept);
      res.writeHead(200, {
        'content-type': m.contentType,
        'content-length': Buffer.byteLength(m.text),
        'cache-control': 'no-store',
      });
      return void res.end(m.text);
    }
    default:
      throw new HttpError(
        404,
        `no such endpoint: ${method} ${path}; see ${API_PREFIX}/plan, /results, /heartbeat, /links, /alerts, /agents, /outputs, and /metrics`,
      );
  }
}

/** The client's address, an IPv4 one without its IPv6-mapped prefix. */
function remoteAddress(req: IncomingMessage): string {
  return req.socket.remoteAddress?.replace(/^::ffff:(?=\d+\.\d+\.\d+\.\d+$)/, '') ?? 'an unknown address';
}

/** An agent's GET names its site in the query; it must be the token's site. */
function querySite(ctx: ApiContext, req: IncomingMessage, from: string, url: URL, path: string): string {
  const site = url.searchParams.get('site');
  if (!site) throw new HttpError(400, `missing query parameter "site": GET ${path}?site=<site name>`);
  return ctx.gate.agent(req, from, site);
}

async function readValid<S extends z.ZodType>(
  req: IncomingMessage,
  schema: S,
  what: string,
): Promise<z.output<S>> {
  // Any Content-Type is accepted: the body is parsed as JSON whatever the client called it.
  const body = await readBody(req, MAX_BODY_BYTES);
  const parsed = schema.safeParse(parseJson(body));
  if (!parsed.success) {
    throw new HttpError(400, `the ${what} does not match the wire schema`, zodDetails(parsed.error.issues));
  }
  const bad = badText(parsed.data);
  if (bad.length > 0)
    throw new HttpError(
      400,
      `the ${what} holds text that is not valid Unicode or holds NUL; send UTF-8 text`,
      bad,
    );
  return parsed.data;
}
