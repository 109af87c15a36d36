// The lab file: which sites exist and how the emulated links between them behave. Validated with zod;
// every problem names its path in the file (`links[1].a_to_b.loss_percent`) and, for files, its line.
//
//   name: three-sites          # optional; defaults to the file's base name
//   seed: 1                    # optional; seeds loss and jitter so a run can be repeated
//   sites: [A, B, C]
//   links:
//     - between: [A, B]        # "a" is the first site, "b" the second
//       delay_ms: 10           # one way, each direction
//       rate_mbps: 20
//       b_to_a: {loss_percent: 1}   # per-direction override
//
// Link keys (each direction): delay_ms (0), jitter_ms (0), loss_percent (0), rate_mbps (unlimited),
// queue_ms (100: how long a packet may wait for the rate limiter before the link drops it).
import { readFileSync } from 'node:fs';
import { basename, extname } from 'node:path';
import { z } from 'zod';
import { formatIssue } from '../shared/config/issues.ts';
import { formatPath, type PathPart, parseYamlWithLines } from '../shared/config/yaml.ts';

export interface LinkParams {
  delay_ms: number;
  jitter_ms: number;
  loss_percent: number;
  /** null: no rate limit. */
  rate_mbps: number | null;
  queue_ms: number;
}

export interface LabLink {
  a: string;
  b: string;
  a_to_b: LinkParams;
  b_to_a: LinkParams;
}

export interface LabSpec {
  name: string;
  seed: number;
  sites: string[];
  links: LabLink[];
}

export const DEFAULT_PARAMS: LinkParams = {
  delay_ms: 0,
  jitter_ms: 0,
  loss_percent: 0,
  rate_mbps: null,
  queue_ms: 100,
};

const nonNegative = (unit: string) =>
  z.number({ error: `expected a number (${unit})` }).min(0, { error: `must be 0 or more (${unit})` });

const paramsShape = {
  delay_ms: nonNegative('milliseconds, one way').optional(),
  jitter_ms: nonNegative('milliseconds').optional(),
  loss_percent: nonNegative('percent').max(100, { error: 'must be at most 100 (percent)' }).optional(),
  rate_mbps: z
    .number({ error: 'expected a number of Mbps, or null for no limit' })
    .positive({ error: 'must be greater than 0 (Mbps); leave it out or write null for no limit' })
    .nullable()
    .optional(),
  queue_ms: z
    .number({ error: 'expected a number (milliseconds)' })
    .positive({ error: 'must be greater than 0 (milliseconds)' })
    .optional(),
};
const paramsSchema = z.strictObject(paramsShape);
export type LinkParamsInput = z.infer<typeof paramsSchema>;

const siteName = z.string({ error: 'expected a site name' }).regex(/^[A-Za-z0-9][A-Za-z0-9_-]{0,11}$/, {
  error: 'site names are 1–12 letters, digits, "_" or "-" (they become interface names such as to-B)',
});

/** One link entry: in a file, missing keys take the defaults; in `lab.set`, they keep their current value. */
export const linkChangeSchema = z.strictObject({
  between: z.tuple([siteName, siteName], { error: 'expected two site names: [A, B]' }),
  ...paramsShape,
  a_to_b: paramsSchema.optional(),
  b_to_a: paramsSchema.optional(),
});
export type LinkChange = z.infer<typeof linkChangeSchema>;

export const labFileSchema = z.strictObject({
  name: z
    .string()
    .regex(/^[a-z0-9][a-z0-9-]{0,23}$/, {
      error: 'lab names are 1–24 lower-case letters, digits or "-" (they prefix network namespace names)',
    })
    .optional(),
  seed: z.number().int().min(0).optional(),
  sites: z.array(siteName, { error: 'expected a list of site names: [A, B, C]' }).min(2, {
    error: 'a lab needs at least two sites',
  }),
  links: z.array(linkChangeSchema, { error: 'expected a list of links' }).min(1, {
    error: 'a lab needs at least one link',
  }),
});
export type LabFileInput = z.input<typeof labFileSchema>;

export interface SpecIssue {
  path: string;
  message: string;
  line?: number;
}

export class LabSpecError extends Error {
  readonly issues: SpecIssue[];
  constructor(source: string, issues: SpecIssue[]) {
    const lines = issues.map((i) => `  ${formatIssue(source, i)}`);
    const n = issues.length;
    super(`${source}: ${n} problem${n === 1 ? '' : 's'} in the lab file:\n${lines.join('\n')}`);
    this.name = 'LabSpecError';
    this.issues = issues;
  }
}

/** Applies a partial set of parameters over `base`. */
export function mergeParams(base: LinkParams, change: LinkParamsInput | undefined): LinkParams {
  if (!change) return base;
  return {
    delay_ms: change.delay_ms ?? base.delay_ms,
    jitter_ms: change.jitter_ms ?? base.jitter_ms,
    loss_percent: change.loss_percent ?? base.loss_percent,
    rate_mbps: change.rate_mbps === undefined ? base.rate_mbps : change.rate_mbps,
    queue_ms: change.queue_ms ?? base.queue_ms,
  };
}

/** The parameters of both directions of `link` after `change` (given in the link's own a/b order). */
export function applyChange(
  current: { a_to_b: LinkParams; b_to_a: LinkParams },
  change: LinkChange,
): { a_to_b: LinkParams; b_to_a: LinkParams } {
  const { between: _between, a_to_b, b_to_a, ...both } = change;
  return {
    a_to_b: mergeParams(mergeParams(current.a_to_b, both), a_to_b),
    b_to_a: mergeParams(mergeParams(current.b_to_a, both), b_to_a),
  };
}

/**
 * Validates a lab description (a parsed file or an object written in a test) and fills in defaults.
 * `lineOf` maps a path to a line of the source file, when there is one.
 */
export function parseLabSpec(
  input: unknown,
  opts: {
    source?: string;
    defaultName?: string;
    lineOf?: (parts: readonly PathPart[]) => number | undefined;
  } = {},
): LabSpec {
  const source = opts.source ?? '<lab>';
  const issues: SpecIssue[] = [];
  const add = (parts: readonly PathPart[], message: string) => {
    const line = opts.lineOf?.(parts);
    issues.push({ path: formatPath(parts), message, ...(line === undefined ? {} : { line }) });
  };
  const parsed = labFileSchema.safeParse(input);
  if (!parsed.success) {
    for (const zi of parsed.error.issues) {
      const parts = zi.path as PathPart[];
      if (zi.code === 'unrecognized_keys') for (const k of zi.keys) add([...parts, k], 'unknown key');
      else add(parts, zi.message);
    }
    issues.sort((x, y) => (x.line ?? 0) - (y.line ?? 0));
    throw new LabSpecError(source, issues);
  }
  const file = parsed.data;
  const name = file.name ?? opts.defaultName ?? '';
  if (!/^[a-z0-9][a-z0-9-]{0,23}$/.test(name)) {
    add(['name'], `missing or unusable lab name "${name}": give \`name:\` (lower-case letters, digits, "-")`);
  }
  const seen = new Set<string>();
  file.sites.forEach((s, i) => {
    if (seen.has(s)) add(['sites', i], `site "${s}" is listed twice`);
    seen.add(s);
  });
  if (file.sites.length > 63) add(['sites'], 'a lab has at most 63 sites');
  const pairs = new Map<string, number>();
  const links: LabLink[] = [];
  file.links.forEach((link, i) => {
    const [a, b] = link.between;
    for (const [j, s] of [a, b].entries()) {
      if (!seen.has(s))
        add(['links', i, 'between', j], `unknown site "${s}"; sites are ${file.sites.join(', ')}`);
    }
    if (a === b) add(['links', i, 'between'], `a link joins two different sites, not "${a}" to itself`);
    const key = [a, b].sort().join('\u0000');
    const first = pairs.get(key);
    if (first !== undefined) add(['links', i], `link ${a}–${b} is already described at links[${first}]`);
    else pairs.set(key, i);
    links.push({ a, b, ...applyChange({ a_to_b: DEFAULT_PARAMS, b_to_a: DEFAULT_PARAMS }, link) });
  });
  if (issues.length > 0) throw new LabSpecError(source, issues);
  return { name, seed: file.seed ?? 1, sites: file.sites, links };
}

/** Reads and validates a lab file (YAML). */
export function loadLabFile(file: string): LabSpec {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new LabSpecError(file, [
      {
        path: '',
        message: `cannot read the lab file: ${(err as NodeJS.ErrnoException).code ?? String(err)}`,
      },
    ]);
  }
  const { doc, lineOf } = parseYamlWithLines(text);
  if (doc.errors.length > 0) {
    throw new LabSpecError(
      file,
      doc.errors.map((e) => ({
        path: '',
        message: `YAML syntax error: ${e.message.split('\n')[0]}`,
        ...(e.linePos ? { line: e.linePos[0].line } : {}),
      })),
    );
  }
  const defaultName = basename(file, extname(file))
    .toLowerCase()
    .replace(/[^a-z0-9-]/g, '-');
  return parseLabSpec(doc.toJS(), { source: file, defaultName, lineOf });
}
