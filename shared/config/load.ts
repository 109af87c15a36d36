// Loads and validates a topology file. Every problem is collected and reported at once, each one
// naming its path in the file (`clusters.east.subclusters.sc1.nodes.cup1b`) and, where known, its line.
import { readFileSync } from 'node:fs';
import { isMap, isScalar, LineCounter, parseDocument, type Node as YamlNode } from 'yaml';
import type { z } from 'zod';
import type { Site, Subcluster, Topology } from '../topology/model.ts';
import { linkKey } from '../topology/model.ts';
import { allKeys, outputName, sectionSchemas } from './schema.ts';
import { didYouMean } from './suggest.ts';

export interface ConfigIssue {
  /** Dotted path in the file, e.g. `clusters.east.subclusters.sc1.nodes.cup1b`; empty for the whole file. */
  path: string;
  message: string;
  line?: number;
}

export class ConfigError extends Error {
  readonly source: string;
  readonly issues: ConfigIssue[];
  constructor(source: string, issues: ConfigIssue[]) {
    const n = issues.length;
    const lines = issues.map((i) => `  ${formatIssue(source, i)}`);
    super(`${source}: ${n} problem${n === 1 ? '' : 's'} in the topology file:\n${lines.join('\n')}`);
    this.name = 'ConfigError';
    this.source = source;
    this.issues = issues;
  }
}

export function formatIssue(source: string, i: ConfigIssue): string {
  const where = i.line === undefined ? '' : `${source}:${i.line}: `;
  return `${where}${i.path === '' ? '' : `${i.path}: `}${i.message}`;
}

type PathPart = string | number;

const KNOWN_KEYS = allKeys();

export function formatPath(parts: readonly PathPart[]): string {
  let out = '';
  for (const p of parts) {
    if (typeof p === 'number') out += `[${p}]`;
    else out += out === '' ? p : `.${p}`;
  }
  return out;
}

/** Reads and validates a topology file; throws ConfigError naming every problem. */
export function loadTopology(file: string): Topology {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why =
      code === 'ENOENT'
        ? 'no such file'
        : code === 'EACCES'
          ? 'permission denied'
          : code === 'EISDIR'
            ? 'it is a directory'
            : String(err);
    throw new ConfigError(file, [{ path: '', message: `cannot read the topology file: ${why}` }]);
  }
  return parseTopology(text, file);
}

/** Validates topology YAML text; `source` names it in messages. */
export function parseTopology(text: string, source = '<topology>'): Topology {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, uniqueKeys: false, prettyErrors: true });
  const issues: ConfigIssue[] = [];

  if (doc.errors.length > 0) {
    for (const e of doc.errors) {
      const pos = e.linePos?.[0];
      const firstLine = (e.message.split('\n')[0] ?? e.message).replace(/ at line \d+, column \d+:?$/, '');
      issues.push({
        path: '',
        message: `YAML syntax error${pos ? ` at line ${pos.line}, column ${pos.col}` : ''}: ${firstLine}`,
        ...(pos ? { line: pos.line } : {}),
      });
    }
    throw new ConfigError(source, issues);
  }

  const lineOf = (parts: readonly PathPart[]): number | undefined => {
    // Walk down to the deepest node that exists, so a missing key points at its parent.
    for (let n = parts.length; n >= 0; n--) {
      const node = doc.getIn(parts.slice(0, n), true) as YamlNode | undefined;
      const range = node && typeof node === 'object' && 'range' in node ? node.range : undefined;
      if (range) return lineCounter.linePos(range[0]).line;
    }
    return undefined;
  };
  const add = (parts: readonly PathPart[], message: string) => {
    const line = lineOf(parts);
    issues.push({ path: formatPath(parts), message, ...(line === undefined ? {} : { line }) });
  };

  findDuplicateKeys(doc.contents, [], (parts, key, offsets) => {
    const lines = offsets.map((o) => lineCounter.linePos(o).line);
    const isNode = parts.length === 5 && parts[0] === 'clusters' && parts[4] === 'nodes';
    issues.push({
      path: formatPath([...parts, key]),
      message: isNode
        ? `node "${key}" is placed twice (lines ${lines.join(' and ')}); a node is at exactly one site`
        : `"${key}" is given more than once in this map (lines ${lines.join(', ')})`,
      line: lines[1] as number,
    });
  });

  const raw: unknown = doc.toJS();
  if (raw === null || raw === undefined) {
    throw new ConfigError(source, [
      { path: '', message: 'the topology file is empty; it needs at least `sites`' },
    ]);
  }
  if (typeof raw !== 'object' || Array.isArray(raw)) {
    throw new ConfigError(source, [
      { path: '', message: 'the topology file must be a map with keys such as `sites` and `clusters`' },
    ]);
  }
  const input = raw as Record<string, unknown>;

  const known = Object.keys(sectionSchemas);
  for (const key of Object.keys(input)) {
    if (!known.includes(key))
      add([key], `unknown section${didYouMean(key, known)}; known: ${known.join(', ')}`);
  }

  const parsed: Partial<{ [K in keyof typeof sectionSchemas]: z.output<(typeof sectionSchemas)[K]> }> = {};
  for (const [name, schema] of Object.entries(sectionSchemas) as [keyof typeof sectionSchemas, z.ZodType][]) {
    const result = schema.safeParse(input[name]);
    if (result.success) {
      (parsed as Record<string, unknown>)[name] = result.data;
      continue;
    }
    for (const zi of result.error.issues) {
      const parts: PathPart[] = [name, ...(zi.path as PathPart[])];
      if (zi.code === 'unrecognized_keys') {
        for (const k of zi.keys) add([...parts, k], `unknown key${didYouMean(k, KNOWN_KEYS)}`);
      } else if (zi.code === 'invalid_type' && input[name] === undefined && zi.path.length === 0) {
        add(parts, `missing; ${zi.message}`);
      } else {
        add(parts, zi.message);
      }
    }
  }

  const { clusters: clusterConfigs, intercluster, links, outputs } = parsed;

  // Cross-references between sections, checked on whatever sections parsed.
  // Site names are taken from the raw map, so a mistake inside one site does not hide unknown-site errors.
  const rawSites = input.sites;
  const siteNames =
    rawSites && typeof rawSites === 'object' && !Array.isArray(rawSites) ? Object.keys(rawSites) : undefined;
  const subclusters: Subcluster[] = [];
  const clusters = new Map<string, Subcluster[]>();
  if (clusterConfigs) {
    const subclusterOwner = new Map<string, string>();
    const nodePlace = new Map<string, { site: string; path: string }>();
    for (const [clusterName, cluster] of Object.entries(clusterConfigs)) {
      const list: Subcluster[] = [];
      clusters.set(clusterName, list);
      if (Object.keys(cluster.subclusters).length === 0) {
        add(['clusters', clusterName, 'subclusters'], 'a cluster needs at least one subcluster');
      }
      for (const [scName, sc] of Object.entries(cluster.subclusters)) {
        const scPath = ['clusters', clusterName, 'subclusters', scName];
        const owner = subclusterOwner.get(scName);
        if (owner !== undefined) {
          add(
            scPath,
            `duplicate subcluster name "${scName}": cluster "${owner}" already has one; subcluster names are unique across the deployment`,
          );
        } else {
          subclusterOwner.set(scName, clusterName);
        }
        const nodes = Object.entries(sc.nodes).map(([name, site]) => ({ name, site }));
        if (nodes.length === 0) add([...scPath, 'nodes'], 'a subcluster needs at least one node');
        for (const node of nodes) {
          const nodePath = [...scPath, 'nodes', node.name];
          if (siteNames && !siteNames.includes(node.site)) {
            add(nodePath, `unknown site "${node.site}"${didYouMean(node.site, siteNames)}`);
          }
          const earlier = nodePlace.get(node.name);
          if (earlier === undefined) {
            nodePlace.set(node.name, { site: node.site, path: formatPath(nodePath) });
          } else if (earlier.site !== node.site) {
            add(
              nodePath,
              `node "${node.name}" is at two sites: "${node.site}" here and "${earlier.site}" at ${earlier.path}; a node is at exactly one site`,
            );
          } else {
            add(nodePath, `node "${node.name}" is listed twice (also at ${earlier.path})`);
          }
        }
        const sub: Subcluster = {
          name: scName,
          cluster: clusterName,
          nodes,
          sites: [...new Set(nodes.map((n) => n.site))].sort(),
        };
        list.push(sub);
        subclusters.push(sub);
      }
    }
  }

  if (intercluster && clusterConfigs) {
    const clusterNames = Object.keys(clusterConfigs);
    const seen = new Map<string, number>();
    intercluster.forEach(([a, b], i) => {
      for (const [j, c] of [a, b].entries()) {
        if (!clusterNames.includes(c)) {
          add(['intercluster', i, j], `unknown cluster "${c}"${didYouMean(c, clusterNames)}`);
        }
      }
      if (a === b) add(['intercluster', i], `a cluster cannot peer with itself ("${a}")`);
      const key = linkKey(a, b);
      const first = seen.get(key);
      if (first !== undefined)
        add(['intercluster', i], `peering ${a}–${b} is already listed at intercluster[${first}]`);
      else seen.set(key, i);
    });
  }

  if (links && siteNames) {
    const seen = new Map<string, number>();
    links.forEach((link, i) => {
      const [a, b] = link.between;
      for (const [j, s] of [a, b].entries()) {
        if (!siteNames.includes(s))
          add(['links', i, 'between', j], `unknown site "${s}"${didYouMean(s, siteNames)}`);
      }
      if (a === b) add(['links', i, 'between'], `a link joins two different sites, not "${a}" to itself`);
      if (link.extra_mbps !== undefined && link.required_mbps !== undefined) {
        add(
          ['links', i],
          'give either extra_mbps (added to the derived requirement) or required_mbps (replaces it), not both',
        );
      }
      const key = linkKey(a, b);
      const first = seen.get(key);
      if (first !== undefined) add(['links', i], `link ${a}–${b} is already configured at links[${first}]`);
      else seen.set(key, i);
    });
  }

  if (outputs) {
    // The name keys the output's cursors in the store: two outputs with one name would share them.
    const seen = new Map<string, number>();
    outputs.forEach((o, i) => {
      const name = outputName(o);
      const first = seen.get(name);
      if (first === undefined) seen.set(name, i);
      else if (o.name !== undefined)
        add(
          ['outputs', i, 'name'],
          `"${name}" is already the name of outputs[${first}]; give each output its own name`,
        );
      else
        add(
          ['outputs', i],
          `writes to the same place as outputs[${first}] (${name}); remove one, or give each a distinct name`,
        );
    });
  }

  if (issues.length > 0) {
    issues.sort((a, b) => (a.line ?? 0) - (b.line ?? 0));
    throw new ConfigError(source, issues);
  }

  // Every section parsed (otherwise issues would be non-empty).
  const p = parsed as Required<typeof parsed>;
  const sites = new Map<string, Site>(Object.entries(p.sites).map(([name, s]) => [name, { name, ...s }]));
  return {
    source,
    thresholds: p.thresholds,
    sites,
    clusters,
    subclusters,
    intercluster: p.intercluster,
    links: p.links,
    probes: p.probes,
    alerts: p.alerts,
    notify: p.notify,
    collector: p.collector,
    outputs: p.outputs,
  };
}

function findDuplicateKeys(
  node: unknown,
  parts: PathPart[],
  report: (parts: PathPart[], key: string, offsets: number[]) => void,
): void {
  if (!isMap(node)) {
    if (node && typeof node === 'object' && 'items' in node && Array.isArray(node.items)) {
      node.items.forEach((item: unknown, i: number) => {
        findDuplicateKeys(item, [...parts, i], report);
      });
    }
    return;
  }
  const seen = new Map<string, number[]>();
  for (const pair of node.items) {
    const key = isScalar(pair.key) ? String(pair.key.value) : String(pair.key);
    const offset = isScalar(pair.key) && pair.key.range ? pair.key.range[0] : 0;
    const list = seen.get(key) ?? [];
    list.push(offset);
    seen.set(key, list);
    findDuplicateKeys(pair.value, [...parts, key], report);
  }
  for (const [key, offsets] of seen) {
    if (offsets.length > 1) report(parts, key, offsets);
  }
}
