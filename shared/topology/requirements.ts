// The requirement math of the Clustering-over-WAN rules: which subclusters' traffic crosses each
// link, and so how much bandwidth and how little latency the link must offer. Pure: a function of the
// topology alone.
import type { Topology } from './model.ts';
import { linkKey, sortedPair } from './model.ts';

export interface SubclusterCrossing {
  subcluster: string;
  cluster: string;
  /** intracluster: the cluster has nodes at both ends; intercluster: it peers with a cluster at the other end. */
  kind: 'intracluster' | 'intercluster';
  /** Why this subcluster's traffic crosses the link, in words. */
  why: string;
}

export interface LinkRequirement {
  /** The two sites, sorted. */
  sites: [string, string];
  /** Subclusters whose traffic crosses the link, sorted by name. */
  subclusters: string[];
  crossings: SubclusterCrossing[];
  mbps_per_subcluster: number;
  extra_mbps: number;
  /** The derived figure, before any `required_mbps` override. */
  derived_mbps: number;
  required_mbps: number;
  max_rtt_ms: number;
  max_loss_percent: number;
  /** How required_mbps was reached, e.g. "2 × 5 Mbps (sc1, sc2) + 2 Mbps extra = 12 Mbps". */
  derivation: string;
}

/** Every link that carries deployment traffic (or is configured under `links`), sorted by its sites. */
export function deriveLinks(topology: Topology): LinkRequirement[] {
  const { thresholds } = topology;

  const clusterSites = new Map<string, Set<string>>();
  for (const [name, subs] of topology.clusters) {
    clusterSites.set(name, new Set(subs.flatMap((s) => s.sites)));
  }
  const peers = new Map<string, Set<string>>();
  for (const [a, b] of topology.intercluster) {
    if (!peers.has(a)) peers.set(a, new Set());
    if (!peers.has(b)) peers.set(b, new Set());
    peers.get(a)?.add(b);
    peers.get(b)?.add(a);
  }

  // link key → subcluster name → crossing
  const crossingsByLink = new Map<string, Map<string, SubclusterCrossing>>();
  const crossingsOf = (a: string, b: string) => {
    const key = linkKey(a, b);
    let m = crossingsByLink.get(key);
    if (!m) {
      m = new Map();
      crossingsByLink.set(key, m);
    }
    return m;
  };

  for (const sc of topology.subclusters) {
    const own = clusterSites.get(sc.cluster) ?? new Set<string>();
    // Sites reachable by this subcluster's traffic, with the peer cluster that takes it there.
    const reach = new Map<string, string | undefined>();
    for (const peer of peers.get(sc.cluster) ?? []) {
      for (const site of clusterSites.get(peer) ?? []) if (!reach.has(site)) reach.set(site, peer);
    }
    for (const site of own) reach.set(site, undefined);

    for (const here of sc.sites) {
      for (const [there, viaPeer] of reach) {
        if (there === here) continue;
        const m = crossingsOf(here, there);
        const existing = m.get(sc.name);
        if (existing?.kind === 'intracluster') continue;
        m.set(
          sc.name,
          viaPeer === undefined
            ? {
                subcluster: sc.name,
                cluster: sc.cluster,
                kind: 'intracluster',
                why: `cluster ${sc.cluster} has nodes at ${sortedPair(here, there).join(' and ')}`,
              }
            : {
                subcluster: sc.name,
                cluster: sc.cluster,
                kind: 'intercluster',
                why: `cluster ${sc.cluster} (${sc.name} at ${here}) peers with cluster ${viaPeer} at ${there}`,
              },
        );
      }
    }
  }

  const overrides = new Map(topology.links.map((l, i) => [linkKey(l.between[0], l.between[1]), { l, i }]));
  for (const { l } of overrides.values()) crossingsOf(l.between[0], l.between[1]);

  const links: LinkRequirement[] = [];
  for (const [key, m] of crossingsByLink) {
    const sites = key.split('|') as [string, string];
    const crossings = [...m.values()].sort((x, y) => cmp(x.subcluster, y.subcluster));
    const subclusters = crossings.map((c) => c.subcluster);
    const o = overrides.get(key);
    const extra = o?.l.extra_mbps ?? 0;
    const per = thresholds.mbps_per_subcluster;
    const derived = round(per * subclusters.length + extra);
    let derivation = `${subclusters.length} × ${fmt(per)} Mbps${listNames(subclusters)}`;
    if (subclusters.length === 0) derivation = 'no subcluster traffic';
    if (extra > 0) derivation += ` + ${fmt(extra)} Mbps extra`;
    derivation += ` = ${fmt(derived)} Mbps`;
    let required = derived;
    if (o?.l.required_mbps !== undefined) {
      required = o.l.required_mbps;
      derivation = `${fmt(required)} Mbps set by links[${o.i}].required_mbps (derived: ${derivation})`;
    }
    links.push({
      sites,
      subclusters,
      crossings,
      mbps_per_subcluster: per,
      extra_mbps: extra,
      derived_mbps: derived,
      required_mbps: required,
      max_rtt_ms: o?.l.max_rtt_ms ?? thresholds.max_rtt_ms,
      max_loss_percent: o?.l.max_loss_percent ?? thresholds.max_loss_percent,
      derivation,
    });
  }
  return links.sort((x, y) => cmp(x.sites[0], y.sites[0]) || cmp(x.sites[1], y.sites[1]));
}

/** The shape `wanwatch plan --json` prints; other tools read it, so it carries exactly these keys. */
export function planJson(links: LinkRequirement[]): {
  links: { sites: [string, string]; subclusters: string[]; required_mbps: number; max_rtt_ms: number }[];
} {
  return {
    links: links.map((l) => ({
      sites: l.sites,
      subclusters: l.subclusters,
      required_mbps: l.required_mbps,
      max_rtt_ms: l.max_rtt_ms,
    })),
  };
}

const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
const round = (n: number) => Math.round(n * 1000) / 1000;
/** A number of Mbps as people write it: 5, 7.5, 0.256. */
export const fmt = (n: number) => String(round(n));

function listNames(names: string[]): string {
  if (names.length === 0) return '';
  const shown = names.length > 8 ? [...names.slice(0, 6), `… ${names.length - 6} more`] : names;
  return ` (${shown.join(', ')})`;
}
