// Loads and validates a topology file. Every problem is collected and reported at once, each one
// naming its path in the file (`clusters.east.subclusters.sc1.nodes.cup1b`) and, where known, its line.
// The steps, in order: read the YAML with its lines, look for keys given twice, validate each section
// against its schema, then check what refers across sections, and only then build the model.
import { readFileSync } from 'node:fs';
import type { Topology } from '../topology/model.ts';
import { type ClusterLayout, resolveClusters } from './clusters.ts';
import { ConfigError, type ConfigIssue, Issues } from './issues.ts';
import { checkIntercluster, checkLinks, checkOutputs, checkSiteEndpoints } from './references.ts';
import { checkSectionNames, type Sections, validateSections } from './sections.ts';
import {
  type DuplicateKey,
  duplicateKeys,
  formatPath,
  parseYamlWithLines,
  type YamlWithLines,
} from './yaml.ts';

export { ConfigError, type ConfigIssue, formatIssue } from './issues.ts';
export { formatPath } from './yaml.ts';

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
  const yaml = readYaml(text, source);
  const issues = new Issues(yaml.lineOf);
  for (const d of duplicateKeys(yaml)) issues.push(duplicateKeyIssue(d));

  const input = topLevelMap(yaml.doc.toJS(), source);
  checkSectionNames(input, issues.report);
  const sections = validateSections(input, issues.report);

  // Site names come from the raw map, so that a mistake inside one site does not hide unknown-site errors.
  const siteNames = isMap(input.sites) ? Object.keys(input.sites) : undefined;
  const layout = resolveClusters(sections.clusters, siteNames, issues.report);
  if (sections.intercluster && sections.clusters)
    checkIntercluster(sections.intercluster, Object.keys(sections.clusters), issues.report);
  if (sections.links && siteNames) checkLinks(sections.links, siteNames, issues.report);
  if (sections.sites) checkSiteEndpoints(sections.sites, issues.report);
  if (sections.outputs) checkOutputs(sections.outputs, issues.report);

  issues.throwIfAny(source);
  // No problems means every section passed its schema.
  return buildTopology(source, sections as Sections, layout);
}

/** The parsed document; a syntax error stops here, since nothing after it could be trusted. */
function readYaml(text: string, source: string): YamlWithLines {
  // Duplicate keys are allowed through so they can be reported with both lines and the path.
  const yaml = parseYamlWithLines(text, { uniqueKeys: false, prettyErrors: true });
  if (yaml.doc.errors.length === 0) return yaml;
  throw new ConfigError(
    source,
    yaml.doc.errors.map((e) => {
      const pos = e.linePos?.[0];
      const firstLine = (e.message.split('\n')[0] ?? e.message).replace(/ at line \d+, column \d+:?$/, '');
      return {
        path: '',
        message: `YAML syntax error${pos ? ` at line ${pos.line}, column ${pos.col}` : ''}: ${firstLine}`,
        ...(pos ? { line: pos.line } : {}),
      };
    }),
  );
}

function duplicateKeyIssue({ map, key, lines }: DuplicateKey): ConfigIssue {
  const isNode = map.length === 5 && map[0] === 'clusters' && map[4] === 'nodes';
  return {
    path: formatPath([...map, key]),
    message: isNode
      ? `node "${key}" is placed twice (lines ${lines.join(' and ')}); a node is at exactly one site`
      : `"${key}" is given more than once in this map (lines ${lines.join(', ')})`,
    line: lines[1] as number,
  };
}

/** The whole file as a map of sections; an empty file or one of another shape stops here. */
function topLevelMap(raw: unknown, source: string): Record<string, unknown> {
  if (raw === null || raw === undefined) {
    throw new ConfigError(source, [
      { path: '', message: 'the topology file is empty; it needs at least `sites`' },
    ]);
  }
  if (!isMap(raw)) {
    throw new ConfigError(source, [
      { path: '', message: 'the topology file must be a map with keys such as `sites` and `clusters`' },
    ]);
  }
  return raw;
}

function isMap(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function buildTopology(source: string, s: Sections, layout: ClusterLayout): Topology {
  return {
    source,
    thresholds: s.thresholds,
    sites: new Map(Object.entries(s.sites).map(([name, site]) => [name, { name, ...site }])),
    clusters: layout.clusters,
    subclusters: layout.subclusters,
    intercluster: s.intercluster,
    links: s.links,
    probes: s.probes,
    alerts: s.alerts,
    notify: s.notify,
    collector: s.collector,
    outputs: s.outputs,
  };
}
