// From the `clusters` section to the model's subclusters, checking what a schema cannot: that every
// node sits at a known site, at exactly one, and that subcluster names are unique across the file.
import type { Subcluster } from '../topology/model.ts';
import type { Report } from './issues.ts';
import type { Sections } from './sections.ts';
import { didYouMean } from './suggest.ts';
import { formatPath, type PathPart } from './yaml.ts';

export interface ClusterLayout {
  /** cluster name → its subclusters, in file order */
  clusters: Map<string, Subcluster[]>;
  subclusters: Subcluster[];
}

/** Where a node was first seen, for the message about its second placing. */
interface NodePlace {
  site: string;
  path: string;
}

/**
 * The subclusters of every cluster, with problems reported. `siteNames` is undefined when the sites
 * section is unusable; node sites are then not checked, since every one would look unknown.
 */
export function resolveClusters(
  configs: Sections['clusters'] | undefined,
  siteNames: readonly string[] | undefined,
  report: Report,
): ClusterLayout {
  const layout: ClusterLayout = { clusters: new Map(), subclusters: [] };
  if (!configs) return layout;
  const subclusterOwner = new Map<string, string>();
  const nodePlaces = new Map<string, NodePlace>();
  for (const [clusterName, cluster] of Object.entries(configs)) {
    const list: Subcluster[] = [];
    layout.clusters.set(clusterName, list);
    if (Object.keys(cluster.subclusters).length === 0) {
      report(['clusters', clusterName, 'subclusters'], 'a cluster needs at least one subcluster');
    }
    for (const [scName, sc] of Object.entries(cluster.subclusters)) {
      const scPath = ['clusters', clusterName, 'subclusters', scName];
      const owner = subclusterOwner.get(scName);
      if (owner !== undefined) {
        report(
          scPath,
          `duplicate subcluster name "${scName}": cluster "${owner}" already has one; subcluster names are unique across the deployment`,
        );
      } else {
        subclusterOwner.set(scName, clusterName);
      }
      const nodes = Object.entries(sc.nodes).map(([name, site]) => ({ name, site }));
      if (nodes.length === 0) report([...scPath, 'nodes'], 'a subcluster needs at least one node');
      for (const node of nodes) {
        checkNode(node, [...scPath, 'nodes', node.name], siteNames, nodePlaces, report);
      }
      const sub: Subcluster = {
        name: scName,
        cluster: clusterName,
        nodes,
        sites: [...new Set(nodes.map((n) => n.site))].sort(),
      };
      list.push(sub);
      layout.subclusters.push(sub);
    }
  }
  return layout;
}

/** A node's site must exist, and a node name may appear only once in the whole file. */
function checkNode(
  node: { name: string; site: string },
  nodePath: PathPart[],
  siteNames: readonly string[] | undefined,
  nodePlaces: Map<string, NodePlace>,
  report: Report,
): void {
  if (siteNames && !siteNames.includes(node.site)) {
    report(nodePath, `unknown site "${node.site}"${didYouMean(node.site, siteNames)}`);
  }
  const earlier = nodePlaces.get(node.name);
  if (earlier === undefined) {
    nodePlaces.set(node.name, { site: node.site, path: formatPath(nodePath) });
  } else if (earlier.site !== node.site) {
    report(
      nodePath,
      `node "${node.name}" is at two sites: "${node.site}" here and "${earlier.site}" at ${earlier.path}; a node is at exactly one site`,
    );
  } else {
    report(nodePath, `node "${node.name}" is listed twice (also at ${earlier.path})`);
  }
}
