// The console's one way to read the collector: same-origin GETs of the read API, with the viewer
// credential the person typed (kept for this browser tab only) as a bearer token when reads need one.
import type { SeriesReply } from '../shared/series-wire.ts';
import type { AgentsReply, AlertsReply, LinksReply, Qualification } from '../shared/wire.ts';

const KEY = 'wanwatch.credential';

export class NeedsCredential extends Error {}

export function credential(): string | null {
  return sessionStorage.getItem(KEY);
}

export function setCredential(token: string | null): void {
  if (token === null) sessionStorage.removeItem(KEY);
  else sessionStorage.setItem(KEY, token);
}

async function get<T>(path: string): Promise<T> {
  const token = credential();
  const res = await fetch(path, {
    headers: token ? { authorization: `Bearer ${token}` } : {},
    cache: 'no-store',
  });
  if (res.status === 401 || res.status === 403) {
    const body = (await res.json().catch(() => ({}))) as { error?: string };
    throw new NeedsCredential(body.error ?? `HTTP ${res.status}`);
  }
  if (!res.ok) {
    const body = (await res.json().catch(() => ({}))) as { error?: string };
    throw new Error(`${path}: HTTP ${res.status}${body.error ? `: ${body.error}` : ''}`);
  }
  return (await res.json()) as T;
}

export const api = {
  links: () => get<LinksReply>('/api/v1/links'),
  alerts: () => get<AlertsReply>('/api/v1/alerts'),
  agents: () => get<AgentsReply>('/api/v1/agents'),
  /** `reports`: each finished one's report page, with a key a frame can use (no credential needed). */
  qualifications: () =>
    get<{ qualifications: Qualification[]; reports?: Record<string, string> }>('/api/v1/qualifications'),
  series: (src: string, dst: string, from: number, to: number, points: number) =>
    get<SeriesReply>(
      `/api/v1/series?${new URLSearchParams({ src, dst, from: String(from), to: String(to), points: String(points) })}`,
    ),
};
