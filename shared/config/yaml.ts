// YAML read with its line positions, so that a problem found in the parsed data can name the line it
// comes from. The topology file and the lab file both report their problems this way.
import {
  type Document,
  type DocumentOptions,
  isMap,
  isScalar,
  LineCounter,
  type ParseOptions,
  parseDocument,
  type SchemaOptions,
  type Node as YamlNode,
} from 'yaml';

/** One step of a path into the parsed data: a map key or a list index. */
export type PathPart = string | number;

/** The path as messages write it: `clusters.east.subclusters`, `links[1].between[0]`. */
export function formatPath(parts: readonly PathPart[]): string {
  let out = '';
  for (const p of parts) {
    if (typeof p === 'number') out += `[${p}]`;
    else out += out === '' ? p : `.${p}`;
  }
  return out;
}

export interface YamlWithLines {
  doc: Document.Parsed;
  /**
   * The line of the node at `parts`. A path the file lacks (a missing key) gets the line of its
   * deepest ancestor the file has, since that is where the key should have been written.
   */
  lineOf(parts: readonly PathPart[]): number | undefined;
  /** The line of a character offset in the text. */
  lineAt(offset: number): number;
}

export type YamlOptions = Omit<ParseOptions & DocumentOptions & SchemaOptions, 'lineCounter'>;

/** Parses one YAML document; syntax errors are left in `doc.errors` for the caller to word. */
export function parseYamlWithLines(text: string, options: YamlOptions = {}): YamlWithLines {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { ...options, lineCounter });
  const lineAt = (offset: number) => lineCounter.linePos(offset).line;
  const lineOf = (parts: readonly PathPart[]): number | undefined => {
    for (let n = parts.length; n >= 0; n--) {
      const node = doc.getIn(parts.slice(0, n), true) as YamlNode | undefined;
      const range = node && typeof node === 'object' && 'range' in node ? node.range : undefined;
      if (range) return lineAt(range[0]);
    }
    return undefined;
  };
  return { doc, lineOf, lineAt };
}

export interface DuplicateKey {
  /** Path of the map that holds the key more than once. */
  map: PathPart[];
  key: string;
  /** The line of each time the key is given, in file order. */
  lines: number[];
}

/**
 * Keys given more than once in one map, anywhere in the document. Only meaningful for a document
 * parsed with `uniqueKeys: false`; otherwise the parser has already refused them.
 */
export function duplicateKeys(yaml: YamlWithLines): DuplicateKey[] {
  const found: DuplicateKey[] = [];
  const walk = (node: unknown, parts: PathPart[]): void => {
    if (!isMap(node)) {
      if (node && typeof node === 'object' && 'items' in node && Array.isArray(node.items)) {
        node.items.forEach((item: unknown, i: number) => {
          walk(item, [...parts, i]);
        });
      }
      return;
    }
    const offsets = new Map<string, number[]>();
    for (const pair of node.items) {
      const key = isScalar(pair.key) ? String(pair.key.value) : String(pair.key);
      const offset = isScalar(pair.key) && pair.key.range ? pair.key.range[0] : 0;
      offsets.set(key, [...(offsets.get(key) ?? []), offset]);
      walk(pair.value, [...parts, key]);
    }
    for (const [key, list] of offsets) {
      if (list.length > 1) found.push({ map: parts, key, lines: list.map(yaml.lineAt) });
    }
  };
  walk(yaml.doc.contents, []);
  return found;
}
