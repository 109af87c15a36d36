// The normalised topology every part of wanwatch works from, built from the topology file by
// shared/config/load.ts. The model knows nothing of the file format: shared/config/ imports from here,
// never the other way round.
import type {
  AlertsConfig,
  CollectorConfig,
  LinkOverride,
  NotifierConfig,
  OutputConfig,
  ProbesConfig,
  SiteConfig,
  Thresholds,
} from './settings.ts';

export interface Node {
  name: string;
  site: string;
}

export interface Subcluster {
  name: string;
  cluster: string;
  nodes: Node[];
  /** Sites that hold at least one of this subcluster's nodes, sorted. */
  sites: string[];
}

export interface Site extends SiteConfig {
  name: string;
}

export interface Topology {
  /** Where the topology came from (a file path), for messages. */
  source: string;
  thresholds: Thresholds;
  sites: Map<string, Site>;
  /** cluster name → its subclusters, in file order */
  clusters: Map<string, Subcluster[]>;
  subclusters: Subcluster[];
  /** Intercluster peerings, each pair as written. */
  intercluster: [string, string][];
  links: LinkOverride[];
  probes: ProbesConfig;
  alerts: AlertsConfig;
  notify: NotifierConfig[];
  collector: CollectorConfig;
  outputs: OutputConfig[];
}

/** The canonical key of an unordered site pair: the two names sorted, joined by "|". */
export function linkKey(a: string, b: string): string {
  return a < b ? `${a}|${b}` : `${b}|${a}`;
}

/** The two site names of a link, sorted. */
export function sortedPair(a: string, b: string): [string, string] {
  return a < b ? [a, b] : [b, a];
}
