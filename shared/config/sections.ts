// The top-level sections of the topology file, each validated against its own schema so that one
// broken section does not hide the problems of the others.
import type { z } from 'zod';
import type { Report } from './issues.ts';
import { allKeys, sectionSchemas } from './schema.ts';
import { didYouMean } from './suggest.ts';
import type { PathPart } from './yaml.ts';

export type SectionName = keyof typeof sectionSchemas;
export type Sections = { [K in SectionName]: z.output<(typeof sectionSchemas)[K]> };

const SECTION_NAMES = Object.keys(sectionSchemas) as SectionName[];
const KNOWN_KEYS = allKeys();

/** Reports top-level keys that are not sections, with the likely one meant. */
export function checkSectionNames(input: Record<string, unknown>, report: Report): void {
  const known: string[] = SECTION_NAMES;
  for (const key of Object.keys(input)) {
    if (!known.includes(key))
      report([key], `unknown section${didYouMean(key, known)}; known: ${known.join(', ')}`);
  }
}

/** Each section that passed its schema, defaults filled in; every other one is reported. */
export function validateSections(input: Record<string, unknown>, report: Report): Partial<Sections> {
  const parsed: Partial<Record<SectionName, unknown>> = {};
  for (const name of SECTION_NAMES) {
    const schema: z.ZodType = sectionSchemas[name];
    const result = schema.safeParse(input[name]);
    if (result.success) parsed[name] = result.data;
    else reportSchemaIssues(name, input[name] === undefined, result.error.issues, report);
  }
  // Each value came out of its own section's schema.
  return parsed as Partial<Sections>;
}

function reportSchemaIssues(
  section: SectionName,
  absent: boolean,
  issues: readonly z.core.$ZodIssue[],
  report: Report,
): void {
  for (const zi of issues) {
    const parts: PathPart[] = [section, ...(zi.path as PathPart[])];
    if (zi.code === 'unrecognized_keys') {
      for (const k of zi.keys) report([...parts, k], `unknown key${didYouMean(k, KNOWN_KEYS)}`);
    } else if (zi.code === 'invalid_type' && absent && zi.path.length === 0) {
      report(parts, `missing; ${zi.message}`);
    } else {
      report(parts, zi.message);
    }
  }
}
