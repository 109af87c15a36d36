// What `wanwatch agent --metrics-listen` adds to an agent: the metrics, the deps that feed them (every
// result, the timed pushes) and the endpoint, started before the agent so a taken port fails at once.
import type { Result } from '../../shared/result.ts';
import type { AgentStats } from '../runtime.ts';
import { AgentMetrics } from './agent-metrics.ts';
import { parseMetricsListen, serveMetrics } from './server.ts';

export interface AgentMetricsEndpoint {
  url: string;
  /** To spread into the agent's deps. */
  deps: { onResult(r: Result): void; fetch: typeof fetch };
  /** The agent, once created: its spool and plan, read at each scrape. */
  readFrom(stats: () => AgentStats): void;
  close(): Promise<void>;
}

/** Throws (naming --metrics-listen) when the address is malformed or cannot be bound. */
export async function startAgentMetrics(o: {
  listen: string;
  site: string;
  version: string;
  fetch?: typeof fetch;
}): Promise<AgentMetricsEndpoint> {
  const metrics = new AgentMetrics({ site: o.site, version: o.version });
  const server = await serveMetrics(parseMetricsListen(o.listen), (accept) => metrics.scrape(accept));
  return {
    url: server.url,
    deps: {
      onResult: (r) => metrics.result(r),
      fetch: metrics.timedFetch(o.fetch ?? globalThis.fetch),
    },
    readFrom: (stats) => metrics.readFrom(stats),
    close: () => server.close(),
  };
}
