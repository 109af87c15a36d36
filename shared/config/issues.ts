// The problems found in a topology file, and the error that names them all at once.
import { formatPath, type PathPart } from './yaml.ts';

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

/** One problem as a line of a message: `file:line: path: message`, leaving out what is unknown. */
export function formatIssue(source: string, i: ConfigIssue): string {
  const where = i.line === undefined ? '' : `${source}:${i.line}: `;
  return `${where}${i.path === '' ? '' : `${i.path}: `}${i.message}`;
}

/** Reports a problem at a path in the file; the checks take one so they need not know about lines. */
export type Report = (parts: readonly PathPart[], message: string) => void;

/**
 * Collects problems while the file is checked, so that one mistake does not hide the next; they are
 * thrown together, in the file's order, at the end.
 */
export class Issues {
  private readonly list: ConfigIssue[] = [];
  private readonly lineOf: (parts: readonly PathPart[]) => number | undefined;

  constructor(lineOf: (parts: readonly PathPart[]) => number | undefined) {
    this.lineOf = lineOf;
  }

  readonly report: Report = (parts, message) => {
    const line = this.lineOf(parts);
    this.list.push({ path: formatPath(parts), message, ...(line === undefined ? {} : { line }) });
  };

  /** A problem whose line is already known. */
  push(issue: ConfigIssue): void {
    this.list.push(issue);
  }

  throwIfAny(source: string): void {
    if (this.list.length === 0) return;
    // A stable sort: problems on one line keep the order they were found in.
    this.list.sort((a, b) => (a.line ?? 0) - (b.line ?? 0));
    throw new ConfigError(source, this.list);
  }
}
