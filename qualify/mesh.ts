// Mesh mode of `wanwatch qualify -c FILE --collector URL`: the collector has its agents measure the links
// (POST /api/v1/qualifications; collector/qualify/ runs them in rounds, agents run qualify/run.ts), this
// side follows the progress, cancels the qualification when the run is stopped (Ctrl-C), and judges
// each link itself against the requirement its topology derives (the one `wanwatch plan` prints).
// Requests go through shared/http.ts, like the agent's, with the operator's credential as the bearer
// token (the collector takes starts and stops from operators only); replies are validated with
// shared/wire.ts.
import { type ApiReply, callCollector, collectorBase } from '../shared/http.ts';
import type { Topology } from '../shared/topology/model.ts';
import { deriveLinks } from '../shared/topology/requirements.ts';
import { type Qualification, type QualificationRequest, qualificationSchema } from '../shared/wire.ts';
import { QualifyError } from './errors.ts';
import { judgeQualification } from './report/mesh.ts';
import type { LinkReport } from './report/model.ts';
import type { RunSettings } from './run.ts';
import type { ProgressPrinter } from './session.ts';

export interface MeshRun extends RunSettings {
  /** The collector's URL, e.g. http://127.0.0.1:8080. */
  collector: string;
  /** The topology the collector runs: each link's requirement comes from it. */
  topology: Topology;
  /** Links as [siteA, siteB]; null for every link of the topology. */
  links: [string, string][] | null;
  /** Aborting it cancels the qualification at the collector; the agents then send what they have. */
  signal: AbortSignal;
  progress?: ProgressPrinter;
  /** How often to ask the collector how far it got (default 1 s). */
  pollMs?: number;
  fetch?: typeof fetch;
  /** An operator credential of the collector (collector.credentials). */
  token?: string;
}

/** The collector's qualification API, each call throwing a QualifyError that says what went wrong. */
export function qualificationApi(collector: string, fetchImpl?: typeof fetch, token?: string) {
  const base = collectorBase(collector);
  const call = async (method: 'GET' | 'POST' | 'DELETE', path: string, body?: unknown) =>
    qualificationOf(
      base,
      await callCollector({
        base,
        method,
        path,
        body,
        schema: qualificationSchema,
        fetch: fetchImpl,
        ...(token === undefined ? {} : { token }),
      }),
    );
  return {
    create: (req: QualificationRequest) => call('POST', '/qualifications', req),
    get: (id: string) => call('GET', `/qualifications/${encodeURIComponent(id)}`),
    cancel: (id: string) => call('DELETE', `/qualifications/${encodeURIComponent(id)}`),
  };
}

function qualificationOf(base: string, reply: ApiReply<Qualification>): Qualification {
  switch (reply.kind) {
    case 'ok':
      return reply.value;
    case 'unreachable':
      throw new QualifyError(`cannot reach the collector at ${base}: ${reply.reason}`);
    case 'refused':
      throw new QualifyError(`the collector at ${base} answered ${reply.status}: ${reply.message}`);
    case 'unreadable':
      throw new QualifyError(`the collector at ${base} sent a reply this wanwatch does not understand`);
  }
}

/** Runs a mesh qualification to its end (or until `signal` aborts) and judges every link it measured. */
export async function qualifyMesh(run: MeshRun): Promise<LinkReport[]> {
  const api = qualificationApi(run.collector, run.fetch, run.token);
  let q = await api.create({
    links: run.links,
    duration_ms: run.duration_ms,
    test_duration_ms: run.test_duration_ms,
    rtt: { method: run.method, count: run.count, spacing_ms: run.spacing_ms, timeout_ms: 2000 },
    skip_throughput: run.skip_throughput,
  });
  let cancelled = false;
  const deadline = Date.now() + run.duration_ms * (q.tasks.length + 1) + 10 * 60_000;
  while (q.state === 'running' && Date.now() < deadline) {
    if (run.signal.aborted && !cancelled) {
      cancelled = true;
      q = await api.cancel(q.id);
      continue;
    }
    const running = q.tasks.filter((t) => t.state === 'running');
    const done = q.tasks.filter((t) => t.state !== 'waiting' && t.state !== 'running').length;
    const first = running[0];
    if (first?.progress)
      run.progress?.update(`[${done}/${q.tasks.length} done] ${first.site} → ${first.peer}`, first.progress);
    await new Promise((r) => setTimeout(r, run.pollMs ?? 1000));
    q = await api.get(q.id);
  }
  run.progress?.done();
  return judgeMesh(q, run.topology);
}

/** Each task's link judged against its requirement in `topology`; a task that failed is an ERROR. */
export function judgeMesh(q: Qualification, topology: Topology): LinkReport[] {
  return judgeQualification(q, deriveLinks(topology), topology.thresholds);
}
