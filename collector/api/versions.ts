// The collector's side of shared/version.ts: every agent request (plan, results, heartbeat, tasks) is
// checked against the collector's own version, from the `wanwatch-version` header, and a heartbeat from
// its body too (agents before the header sent only that). An agent outside the lines the collector
// takes gets 403 with a message naming both versions and what to upgrade: 403, because every agent,
// old ones included, keeps a batch refused with 401/403/404 in its spool and retries it later, while
// another 4xx would make it set the batch aside. The latest refusal per site is kept in memory for the
// agents view (`version_refused`), until that site's agent is taken again.
import type { IncomingMessage } from 'node:http';
import { checkAgentVersion, VERSION_HEADER } from '../../shared/version.ts';
import type { VersionRefusal } from '../../shared/wire.ts';
import { HttpError } from './http.ts';

export class AgentVersions {
  private readonly refused = new Map<string, VersionRefusal>();

  constructor(private readonly collectorVersion: string) {}

  /** The version a request's header gives, if any. */
  static header(req: IncomingMessage): string | undefined {
    const v = req.headers[VERSION_HEADER];
    return Array.isArray(v) ? v[0] : v;
  }

  /** Throws 403 for an agent of `site` that is `version` when the collector does not take it. */
  check(site: string, version: string | undefined, nowMs: number): void {
    // No header: an agent from before it; its heartbeats' version is checked instead.
    if (version === undefined) return;
    const v = checkAgentVersion(version, this.collectorVersion, site);
    if (v.ok) {
      this.refused.delete(site);
      return;
    }
    const before = this.refused.get(site);
    this.refused.set(site, {
      version,
      verdict: v.verdict,
      collector_version: this.collectorVersion,
      message: v.message,
      since_ms: before?.version === version ? before.since_ms : nowMs,
      last_ms: nowMs,
    });
    throw new HttpError(403, v.message);
  }

  /** The latest refusal of `site`'s agent, or null when it was taken since (or never refused). */
  refusal(site: string): VersionRefusal | null {
    return this.refused.get(site) ?? null;
  }
}
