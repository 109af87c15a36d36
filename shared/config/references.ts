// Checks between sections and across the entries of one list, run on whichever sections passed their
// schemas: names that must refer to something defined elsewhere, and entries that must not repeat.
import { linkKey } from '../topology/model.ts';
import type { Report } from './issues.ts';
import { outputName } from './schema.ts';
import type { Sections } from './sections.ts';
import { didYouMean } from './suggest.ts';

/** Each peering names two known, different clusters, and is listed once in either order. */
export function checkIntercluster(
  intercluster: Sections['intercluster'],
  clusterNames: readonly string[],
  report: Report,
): void {
  const seen = new Map<string, number>();
  intercluster.forEach(([a, b], i) => {
    for (const [j, c] of [a, b].entries()) {
      if (!clusterNames.includes(c)) {
        report(['intercluster', i, j], `unknown cluster "${c}"${didYouMean(c, clusterNames)}`);
      }
    }
    if (a === b) report(['intercluster', i], `a cluster cannot peer with itself ("${a}")`);
    const key = linkKey(a, b);
    const first = seen.get(key);
    if (first !== undefined)
      report(['intercluster', i], `peering ${a}–${b} is already listed at intercluster[${first}]`);
    else seen.set(key, i);
  });
}

/** Each link override joins two known, different sites, once, and says how its requirement is set. */
export function checkLinks(links: Sections['links'], siteNames: readonly string[], report: Report): void {
  const seen = new Map<string, number>();
  links.forEach((link, i) => {
    const [a, b] = link.between;
    for (const [j, s] of [a, b].entries()) {
      if (!siteNames.includes(s))
        report(['links', i, 'between', j], `unknown site "${s}"${didYouMean(s, siteNames)}`);
    }
    if (a === b) report(['links', i, 'between'], `a link joins two different sites, not "${a}" to itself`);
    if (link.extra_mbps !== undefined && link.required_mbps !== undefined) {
      report(
        ['links', i],
        'give either extra_mbps (added to the derived requirement) or required_mbps (replaces it), not both',
      );
    }
    const key = linkKey(a, b);
    const first = seen.get(key);
    if (first !== undefined) report(['links', i], `link ${a}–${b} is already configured at links[${first}]`);
    else seen.set(key, i);
  });
}

/** No two outputs share a name: the name keys the output's cursors in the store, so they would share them. */
export function checkOutputs(outputs: Sections['outputs'], report: Report): void {
  const seen = new Map<string, number>();
  outputs.forEach((o, i) => {
    const name = outputName(o);
    const first = seen.get(name);
    if (first === undefined) seen.set(name, i);
    else if (o.name !== undefined)
      report(
        ['outputs', i, 'name'],
        `"${name}" is already the name of outputs[${first}]; give each output its own name`,
      );
    else
      report(
        ['outputs', i],
        `writes to the same place as outputs[${first}] (${name}); remove one, or give each a distinct name`,
      );
  });
}

/**
 * No two responders listen on one address and port: each site's agent binds its reflector (UDP and TCP)
 * on reflector_port and iperf3 (TCP) on iperf3_port at its address, so a second site there could not
 * start its responder, and its peers would measure the first site's instead.
 */
export function checkSiteEndpoints(sites: Sections['sites'], report: Report): void {
  const taken = new Map<string, { site: string; key: 'reflector_port' | 'iperf3_port' }>();
  for (const [name, site] of Object.entries(sites)) {
    for (const key of ['reflector_port', 'iperf3_port'] as const) {
      const port = site[key];
      const where = `${site.address.toLowerCase()} port ${port}`;
      const first = taken.get(where);
      if (first === undefined) taken.set(where, { site: name, key });
      else if (first.site === name)
        report(
          ['sites', name, key],
          `site "${name}" has ${first.key} and ${key} both ${port}; the reflector also listens on TCP there, so give iperf3 another port`,
        );
      else
        report(
          ['sites', name, key],
          `site "${name}" and site "${first.site}" both use ${site.address} port ${port} (${first.site}'s ${first.key}); their responders cannot both listen there: give one of them another port or address`,
        );
    }
  }
}
