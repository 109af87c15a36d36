// Shared by the collector's /metrics (collector/metrics/) and the agent's (agent/metrics/).
// Rendering a prom-client registry as the client asked: the Prometheus text format (0.0.4), or
// OpenMetrics 1.0 when the Accept header names it (Prometheus itself asks for it first). prom-client
// renders either from one registry by switching its content type; rendering OpenMetrics strips `_total`
// from the counters' names (OpenMetrics adds it back to each sample), so the names are put back after,
// and renders never overlap.
import { collectDefaultMetrics, Registry } from 'prom-client';

export const PROMETHEUS_TEXT = Registry.PROMETHEUS_CONTENT_TYPE;
export const OPENMETRICS_TEXT = Registry.OPENMETRICS_CONTENT_TYPE;

export interface Exposition {
  contentType: string;
  text: string | Buffer;
}

/** The Accept header lists application/openmetrics-text with a non-zero quality. */
export function wantsOpenMetrics(accept: string | undefined): boolean {
  if (!accept) return false;
  return accept.split(',').some((part) => {
    const [type, ...params] = part.split(';').map((s) => s.trim().toLowerCase());
    if (type !== 'application/openmetrics-text') return false;
    const q = params.find((p) => p.startsWith('q='));
    return q === undefined || Number(q.slice(2)) > 0;
  });
}

/** Renders registries one at a time (the content type and counter names are the registry's state). */
export class Renderer {
  private queue: Promise<unknown> = Promise.resolve();

  render(registry: Registry, openMetrics: boolean): Promise<string> {
    const next = this.queue.then(() => renderNow(registry, openMetrics));
    this.queue = next.catch(() => undefined);
    return next;
  }
}

async function renderNow(registry: Registry, openMetrics: boolean): Promise<string> {
  if (!openMetrics) return registry.metrics();
  const names = registry.getMetricsAsArray().map((m) => [m, m.name] as const);
  // The registry's type fixes its content type at compile time; this one switches it for one render.
  (registry as unknown as Registry<typeof OPENMETRICS_TEXT>).setContentType(OPENMETRICS_TEXT);
  try {
    return await registry.metrics();
  } finally {
    registry.setContentType(PROMETHEUS_TEXT);
    for (const [m, name] of names) (m as { name: string }).name = name;
  }
}

/** A registry's text without its end: no trailing newline, and no `# EOF` in OpenMetrics. */
export function bare(text: string, openMetrics: boolean): string {
  return (openMetrics ? text.replace(/# EOF\n?$/, '') : text).trimEnd();
}

/**
 * One exposition from the bare texts of several registries (see bare()): families apart as each
 * format wants, one `# EOF` at the end in OpenMetrics. Buffers (a large part kept rendered) are copied
 * as they are.
 */
export function joinBodies(parts: (string | Buffer)[], openMetrics: boolean): Buffer {
  const sep = openMetrics ? '\n' : '\n\n';
  const chunks: Buffer[] = [];
  for (const p of parts) {
    if (p.length === 0) continue;
    if (chunks.length > 0) chunks.push(Buffer.from(sep));
    chunks.push(typeof p === 'string' ? Buffer.from(p) : p);
  }
  chunks.push(Buffer.from(openMetrics ? '\n# EOF\n' : '\n'));
  return Buffer.concat(chunks);
}

/**
 * prom-client's process and Node.js metrics (CPU, memory, open files, event loop lag, GC), without its
 * gauges of open handles, requests and resources: they end in _total, which Prometheus keeps for
 * counters (`promtool check metrics` says so).
 */
export function collectProcessMetrics(registry: Registry): void {
  collectDefaultMetrics({ register: registry });
  for (const name of [
    'nodejs_active_handles_total',
    'nodejs_active_requests_total',
    'nodejs_active_resources_total',
  ])
    registry.removeSingleMetric(name);
}
