// Checks the shape docs/architecture.md describes, and fails `npm test` otherwise: imports flow one way,
//   1. every top-level folder imports only from the folders listed below it in LAYERS;
//   2. inside each folder, its subfolders and files import each other without a circle, so that a
//      subfolder never reaches back up into the code that uses it;
//   3. no two files import each other, directly or around a longer circle.
//   4. no file of product code is longer than MAX_LINES unless its opening comment says why
//      (a line starting `// Long:`), so a file is split before it needs scrolling.
// `import type` counts too: a type-only circle still ties two modules into one.
// Run: npm run check:structure   (prints each violation with the import or file that causes it)
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, normalize, relative, sep } from 'node:path';

/** Each folder may import from the folders it names (and from itself); `shared` imports nothing else. */
export const LAYERS: Record<string, string[]> = {
  shared: [],
  probes: ['shared'],
  responder: ['probes', 'shared'],
  qualify: ['probes', 'responder', 'shared'],
  agent: ['qualify', 'probes', 'responder', 'shared'],
  collector: ['qualify', 'shared'],
  dashboards: ['collector', 'shared'],
  cli: ['agent', 'collector', 'qualify', 'responder', 'probes', 'shared'],
  lab: ['shared'],
  testbed: ['agent', 'collector', 'responder', 'probes', 'shared'],
  bench: ['lab', 'testbed', 'cli', 'agent', 'collector', 'qualify', 'responder', 'probes', 'shared'],
  scripts: ['testbed', 'shared'],
  console: ['qualify', 'shared'],
};

const SOURCE_EXT = /\.(ts|js|mjs)$/;
const IMPORT =
  /(?:^|\n)\s*(?:import|export)\b[^'"`;]*?from\s*['"](\.{1,2}\/[^'"]+)['"]|\bimport\(\s*['"](\.{1,2}\/[^'"]+)['"]\s*\)/g;

/** Product code: what users run. Tests, benchmarks, the lab and the testbed may be longer. */
const PRODUCT = [
  'shared',
  'probes',
  'responder',
  'qualify',
  'agent',
  'collector',
  'dashboards',
  'cli',
  'console',
];
export const MAX_LINES = 400;

export interface Violation {
  rule: 'layer' | 'folder-circle' | 'file-circle' | 'long-file';
  message: string;
}

function listFiles(root: string, dir: string, out: string[]): void {
  for (const name of readdirSync(join(root, dir))) {
    if (name === 'node_modules' || name.startsWith('.')) continue;
    const rel = dir ? join(dir, name) : name;
    if (statSync(join(root, rel)).isDirectory()) listFiles(root, rel, out);
    else if (SOURCE_EXT.test(name) && !name.endsWith('.d.ts')) out.push(rel);
  }
}

/** Every relative import of every source file under the folders in LAYERS: file -> imported files. */
export function readImports(root: string): Map<string, string[]> {
  const files: string[] = [];
  for (const top of Object.keys(LAYERS)) if (existsSync(join(root, top))) listFiles(root, top, files);
  const graph = new Map<string, string[]>();
  for (const file of files) {
    const text = readFileSync(join(root, file), 'utf8');
    const targets: string[] = [];
    for (const m of text.matchAll(IMPORT)) {
      const spec = m[1] ?? m[2];
      if (spec)
        targets.push(
          normalize(join(dirname(file), spec))
            .split(sep)
            .join('/'),
        );
    }
    graph.set(file.split(sep).join('/'), targets);
  }
  return graph;
}

const top = (path: string) => path.split('/')[0] ?? path;

function layerViolations(graph: Map<string, string[]>): Violation[] {
  const out: Violation[] = [];
  for (const [file, targets] of graph) {
    const from = top(file);
    if (from === 'test') continue;
    const allowed = LAYERS[from] ?? [];
    for (const t of targets) {
      const to = top(t);
      if (to !== from && !allowed.includes(to)) {
        out.push({
          rule: 'layer',
          message: `${file} imports ${t}: ${from}/ may import only ${allowed.join(', ') || 'nothing outside itself'}`,
        });
      }
    }
  }
  return out;
}

/** Strongly connected components of a graph (Tarjan), only those with more than one node. */
export function circles(nodes: Iterable<string>, edges: (n: string) => Iterable<string>): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  let next = 0;
  const visit = (v: string): void => {
    index.set(v, next);
    low.set(v, next++);
    stack.push(v);
    onStack.add(v);
    for (const w of edges(v)) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const scc: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        scc.push(w);
      } while (w !== v);
      if (scc.length > 1) found.push(scc.sort());
    }
  };
  for (const n of nodes) if (!index.has(n)) visit(n);
  return found;
}

/** Inside folder `dir`, the entry a path belongs to: its subfolder, or the file itself when it sits in `dir`. */
function entryOf(dir: string, path: string): string | undefined {
  if (!path.startsWith(`${dir}/`)) return undefined;
  const rest = path.slice(dir.length + 1).split('/');
  return rest.length > 1 ? `${rest[0]}/` : rest[0];
}

function folderCircles(graph: Map<string, string[]>): Violation[] {
  const dirs = new Set<string>();
  for (const file of graph.keys()) {
    const parts = file.split('/');
    for (let i = 1; i < parts.length - 1; i++) dirs.add(parts.slice(0, i).join('/'));
  }
  const out: Violation[] = [];
  for (const dir of dirs) {
    if (top(dir) === 'test') continue;
    const edges = new Map<string, Map<string, string>>(); // entry -> entry -> an example import
    for (const [file, targets] of graph) {
      const a = entryOf(dir, file);
      if (!a) continue;
      for (const t of targets) {
        const b = entryOf(dir, t);
        if (!b || b === a) continue;
        if (!edges.has(a)) edges.set(a, new Map());
        if (!edges.get(a)!.has(b)) edges.get(a)!.set(b, `${file} -> ${t}`);
      }
    }
    for (const scc of circles(edges.keys(), (n) => edges.get(n)?.keys() ?? [])) {
      const why = scc.flatMap((a) =>
        [...(edges.get(a) ?? [])].filter(([b]) => scc.includes(b)).map(([, ex]) => ex),
      );
      out.push({
        rule: 'folder-circle',
        message: `${dir}/: ${scc.join(', ')} import each other (${why.join('; ')})`,
      });
    }
  }
  return out;
}

function longFiles(root: string, files: Iterable<string>): Violation[] {
  const out: Violation[] = [];
  for (const file of files) {
    if (!PRODUCT.includes(top(file))) continue;
    const text = readFileSync(join(root, file), 'utf8');
    const lines = text.split('\n').length;
    const head = text.split('\n').slice(0, 15);
    if (lines > MAX_LINES && !head.some((l) => l.startsWith('// Long:'))) {
      out.push({
        rule: 'long-file',
        message: `${file} has ${lines} lines (> ${MAX_LINES}): split it, or say why at its top (// Long: …)`,
      });
    }
  }
  return out;
}

export function checkStructure(root: string): Violation[] {
  const graph = readImports(root);
  const fileCircles = circles(graph.keys(), (n) => (graph.get(n) ?? []).filter((t) => graph.has(t)));
  return [
    ...layerViolations(graph),
    ...folderCircles(graph),
    ...fileCircles.map(
      (c): Violation => ({ rule: 'file-circle', message: `files import each other: ${c.join(', ')}` }),
    ),
    ...longFiles(root, graph.keys()),
  ];
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const root = relative(process.cwd(), join(dirname(new URL(import.meta.url).pathname), '..')) || '.';
  const found = checkStructure(root);
  for (const v of found) console.log(`${v.rule}: ${v.message}`);
  console.log(
    found.length === 0
      ? 'structure: imports flow one way, no circles, no overlong file'
      : `structure: ${found.length} violation(s)`,
  );
  process.exit(found.length === 0 ? 0 : 1);
}
