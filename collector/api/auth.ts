// Agent authentication: each site has its own bearer token, configured as `sites.<name>.token_env`
// (the name of an environment variable that holds it) or `sites.<name>.token_sha256` (its SHA-256,
// for files that must not hold secrets). The collector keeps only digests and compares the SHA-256 of
// the presented token with each site's digest in constant time, looking at every site every time.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { Topology } from '../../shared/topology/model.ts';

export interface SiteTokens {
  /** site → SHA-256 of its token */
  digests: Map<string, Buffer>;
  /** Sites with no usable token: they cannot push. */
  tokenless: Map<string, string>;
}

export const sha256 = (text: string): Buffer => createHash('sha256').update(text, 'utf8').digest();

export function siteTokens(topology: Topology, env: NodeJS.ProcessEnv = process.env): SiteTokens {
  const digests = new Map<string, Buffer>();
  const tokenless = new Map<string, string>();
  for (const [name, site] of topology.sites) {
    if (site.token_env !== undefined) {
      const value = env[site.token_env];
      if (value === undefined || value === '') {
        tokenless.set(
          name,
          `sites.${name}.token_env names ${site.token_env}, which is not set in the collector's environment`,
        );
      } else {
        digests.set(name, sha256(value));
      }
    } else if (site.token_sha256 !== undefined) {
      digests.set(name, Buffer.from(site.token_sha256.toLowerCase(), 'hex'));
    } else {
      tokenless.set(
        name,
        `site "${name}" has neither sites.${name}.token_env nor sites.${name}.token_sha256`,
      );
    }
  }
  return { digests, tokenless };
}

export type AuthOutcome = { ok: true; site: string } | { ok: false; message: string };

/** Finds the site whose token the Authorization header carries. */
export function authenticate(header: string | undefined, tokens: SiteTokens): AuthOutcome {
  if (header === undefined || header === '') {
    return { ok: false, message: 'missing Authorization header; send "Authorization: Bearer <site token>"' };
  }
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
  if (!m) {
    return { ok: false, message: 'malformed Authorization header; expected "Bearer <site token>"' };
  }
  const presented = sha256(m[1] as string);
  let found: string | undefined;
  for (const [site, digest] of tokens.digests) {
    // No early exit: the time taken does not depend on which site (if any) matched.
    if (timingSafeEqual(presented, digest) && found === undefined) found = site;
  }
  if (found !== undefined) return { ok: true, site: found };
  const hint =
    tokens.tokenless.size > 0
      ? ` Sites without a token cannot push: ${[...tokens.tokenless.values()].join('; ')}.`
      : '';
  return { ok: false, message: `the bearer token matches no site's token.${hint}` };
}
