// Double agents: two agent processes for one site (one token, started twice: a forgotten old host, a
// second service unit). Each agent sends a random `instance` in its heartbeats (older agents: their
// start time stands in). A restarted agent's old instance falls silent before the new one speaks; a
// double's instances keep interleaving, so a site is a double while two instances that are both still
// alive (heard within the heartbeat interval plus timeout) were each heard after the other first spoke.
//
// Results carry no instance, so the collector cannot tell which process sent a batch: while a site is a
// double it refuses all of that site's results with 503, which agents retry, so they stay in the
// agents' spools and nothing is lost or mixed (docs/deploying.md says why).
import type { Logger } from '../../shared/log.ts';
import type { Heartbeat } from '../../shared/wire.ts';

interface Sighting {
  instance: string;
  started_at_ms: number;
  address: string | null;
  first_ms: number;
  last_ms: number;
}

export interface Double {
  since_ms: number;
  instances: { instance: string; started_at_ms: number; last_heartbeat_ms: number; address: string | null }[];
}

export class AgentInstances {
  private readonly sites = new Map<string, Map<string, Sighting>>();
  /** Sites flagged as doubles, and since when. */
  private readonly flagged = new Map<string, number>();

  constructor(private readonly log: Logger) {}

  /** Records a heartbeat from `address`; `aliveMs` is how long an agent counts as up after one. */
  heard(hb: Heartbeat, address: string | null, now: number, aliveMs: number): void {
    const key = hb.instance ?? `started ${hb.started_at_ms}`;
    let seen = this.sites.get(hb.site);
    if (seen === undefined) {
      seen = new Map();
      this.sites.set(hb.site, seen);
    }
    const s = seen.get(key);
    if (s === undefined)
      seen.set(key, { instance: key, started_at_ms: hb.started_at_ms, address, first_ms: now, last_ms: now });
    else {
      s.last_ms = now;
      s.address = address;
    }
    this.double(hb.site, now, aliveMs);
  }

  /** The site's double, if it has one now (and logs when one starts or ends). */
  double(site: string, now: number, aliveMs: number): Double | null {
    const seen = this.sites.get(site);
    for (const [key, s] of seen ?? []) if (now - s.last_ms > aliveMs) seen?.delete(key);
    const alive = [...(seen?.values() ?? [])].sort((a, b) => a.first_ms - b.first_ms);
    // The first instance heard after a later one first spoke: both run.
    const overlapping = alive.filter((s) =>
      alive.some((o) => o !== s && s.first_ms < o.first_ms && s.last_ms > o.first_ms),
    );
    const since = this.flagged.get(site);
    if (overlapping.length === 0) {
      if (since !== undefined && alive.length <= 1) {
        this.flagged.delete(site);
        this.log.info(`only one agent sends for site "${site}" again; its results are accepted again`, {
          site,
          double_for_s: Math.round((now - since) / 1000),
        });
      }
      if (since === undefined || alive.length <= 1) return null;
    }
    const flaggedSince = since ?? now;
    if (since === undefined) {
      this.flagged.set(site, now);
      this.log.warn(
        `two agents are running for site "${site}" (${alive.map(describe).join('; ')}): the same token is in use twice. ` +
          "The site's results are refused (503; they wait in the agents' spools) until one of them is stopped",
        { site, instances: alive.map((s) => s.instance), addresses: alive.map((s) => s.address) },
      );
    }
    return {
      since_ms: flaggedSince,
      instances: alive.map((s) => ({
        instance: s.instance,
        started_at_ms: s.started_at_ms,
        last_heartbeat_ms: s.last_ms,
        address: s.address,
      })),
    };
  }
}

const describe = (s: Sighting) =>
  `instance ${s.instance} started ${new Date(s.started_at_ms).toISOString()}${s.address ? ` from ${s.address}` : ''}`;
