// Which agents a collector takes, by version. Agents send theirs in a `wanwatch-version` header on every
// request (and in every heartbeat's body). Versions are semver; a *release line* is what may change the
// wire: the minor version while the major is 0 (0.3.x is one line, 0.4.x the next), the major after
// that (1.x, 2.x). A collector takes agents of its own line and of the line before, so agents can be
// upgraded one site at a time after it: a 0.4.x collector takes 0.3.x and 0.4.x agents. Older agents
// are told to upgrade; newer ones that the collector should be upgraded first, since it cannot know what
// a later line sends. Within one line any mix of versions works, in any order. A version that is not
// MAJOR.MINOR.PATCH (a development build) has no line to judge by and is taken.
import { readFileSync } from 'node:fs';

/** The request header an agent sends its version in. */
export const VERSION_HEADER = 'wanwatch-version';

/** Every version refusal's message starts with this, so an agent can tell it from a token problem. */
export const VERSION_REFUSAL = 'version mismatch: ';

/** This wanwatch's version (package.json's). */
export const WANWATCH_VERSION: string = readPackageVersion();

function readPackageVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
      version?: unknown;
    };
    return typeof pkg.version === 'string' ? pkg.version : '0.0.0';
  } catch {
    return '0.0.0';
  }
}

interface Parsed {
  major: number;
  minor: number;
}

/** MAJOR.MINOR of a semver version (pre-release and build suffixes allowed), or undefined. */
export function parseVersion(v: string): Parsed | undefined {
  const m = /^v?(\d{1,9})\.(\d{1,9})\.(\d{1,9})(?:[-+][0-9A-Za-z.+-]*)?$/.exec(v.trim());
  if (m === null) return undefined;
  return { major: Number(m[1]), minor: Number(m[2]) };
}

/** The release line, as people write it: `0.4.x` (major 0), `2.x` (after). */
export function releaseLine(v: Parsed): string {
  return v.major === 0 ? `0.${v.minor}.x` : `${v.major}.x`;
}

/** Lines from the agent's to the collector's: 0 the same, 1 the agent one older, -1 one newer. */
function linesBehind(agent: Parsed, collector: Parsed): number {
  if (agent.major === 0 && collector.major === 0) return collector.minor - agent.minor;
  if (agent.major === 0) return Number.POSITIVE_INFINITY;
  if (collector.major === 0) return Number.NEGATIVE_INFINITY;
  return collector.major - agent.major;
}

/** The line before `v`'s, when there is one a collector could name (none before 0.0.x or 1.x). */
function previousLine(v: Parsed): string | undefined {
  if (v.major === 0) return v.minor > 0 ? releaseLine({ major: 0, minor: v.minor - 1 }) : undefined;
  return v.major > 1 ? releaseLine({ major: v.major - 1, minor: 0 }) : undefined;
}

export type VersionVerdict = { ok: true } | { ok: false; verdict: 'too_old' | 'too_new'; message: string };

/** Whether a collector of version `collector` takes the agent of `site` that says it is `agent`. */
export function checkAgentVersion(agent: string, collector: string, site: string): VersionVerdict {
  const c = parseVersion(collector);
  // A collector that does not know its own version (a bare checkout) refuses nobody.
  if (c === undefined) return { ok: true };
  const line = releaseLine(c);
  const before = previousLine(c);
  const takes = before === undefined ? `${line} agents` : `${before} and ${line} agents`;
  const a = parseVersion(agent);
  // Not MAJOR.MINOR.PATCH (a development build, an embedding): no line to judge by, so it is taken.
  if (a === undefined) return { ok: true };
  const behind = linesBehind(a, c);
  if (behind === 0 || behind === 1) return { ok: true };
  if (behind > 1)
    return {
      ok: false,
      verdict: 'too_old',
      message:
        `${VERSION_REFUSAL}the agent of site "${site}" is wanwatch ${agent}, too old for this collector ` +
        `(${collector}), which takes ${takes}. Upgrade wanwatch at site ${site} to ${line}; its results ` +
        'wait in its spool until then.',
    };
  return {
    ok: false,
    verdict: 'too_new',
    message:
      `${VERSION_REFUSAL}the agent of site "${site}" is wanwatch ${agent}, newer than this collector ` +
      `(${collector}), which takes ${takes}. Upgrade the collector to ${releaseLine(a)} first (collector ` +
      'first, then the agents); the agent’s results wait in its spool until then.',
  };
}

export const isVersionRefusal = (message: string): boolean => message.startsWith(VERSION_REFUSAL);
