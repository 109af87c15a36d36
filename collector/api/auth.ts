// Who a request comes from. Agents authenticate with their site's bearer token (`sites.<name>.token_env`
// or `token_sha256`); people and tools with a credential of `collector.credentials`, whose role is
// viewer (the read API) or operator (reads, and whatever sends traffic or changes state). Both are
// configured alike: the name of an environment variable of the collector that holds the token, or its
// SHA-256, so the file need hold no secret. The collector keeps only digests and compares the SHA-256 of
// the presented token with every digest in constant time, every one every time, so how long a check
// takes says nothing about which token (if any) nearly matched.
//
// What a refusal says is about the request alone: never which sites or credentials exist or lack a
// token. Why a site or credential cannot be used is for the collector's log (TopologyInForce warns).
import { createHash, timingSafeEqual } from 'node:crypto';
import type { Topology } from '../../shared/topology/model.ts';
import type { Role } from '../../shared/topology/settings.ts';

export interface Credentials {
  /** site → SHA-256 of its agent token */
  sites: Map<string, Buffer>;
  /** Sites with no usable token, and why: they cannot push. For the log only. */
  tokenless: Map<string, string>;
  /** credential name → its role and the SHA-256 of its token */
  people: Map<string, { role: Role; digest: Buffer }>;
  /** Credentials that cannot be used, and why. For the log only. */
  unusable: Map<string, string>;
}

export type Principal = { kind: 'site'; site: string } | { kind: 'credential'; name: string; role: Role };

export const sha256 = (text: string): Buffer => createHash('sha256').update(text, 'utf8').digest();

/** A token from `token_env` (read from `env`) or `token_sha256`; a string saying why not otherwise. */
function digestOf(
  entry: { token_env?: string | undefined; token_sha256?: string | undefined },
  where: string,
  env: NodeJS.ProcessEnv,
): Buffer | string {
  if (entry.token_env !== undefined) {
    const value = env[entry.token_env];
    if (value === undefined || value === '')
      return `${where}.token_env names ${entry.token_env}, which is not set in the collector's environment`;
    return sha256(value);
  }
  if (entry.token_sha256 !== undefined) return Buffer.from(entry.token_sha256.toLowerCase(), 'hex');
  return `${where} has neither token_env nor token_sha256`;
}

export function loadCredentials(topology: Topology, env: NodeJS.ProcessEnv = process.env): Credentials {
  const sites = new Map<string, Buffer>();
  const tokenless = new Map<string, string>();
  for (const [name, site] of topology.sites) {
    const d = digestOf(site, `sites.${name}`, env);
    if (typeof d === 'string') tokenless.set(name, d);
    else sites.set(name, d);
  }
  const people = new Map<string, { role: Role; digest: Buffer }>();
  const unusable = new Map<string, string>();
  const taken = (d: Buffer) =>
    [...sites].find(([, s]) => s.equals(d))?.[0] ?? [...people].find(([, p]) => p.digest.equals(d))?.[0];
  for (const [i, c] of topology.collector.credentials.entries()) {
    const d = digestOf(c, `collector.credentials[${i}] (${c.name})`, env);
    // One token, two holders: the collector could not tell who used it, and an agent's host holding a
    // credential's token would have its role.
    const other = typeof d === 'string' ? undefined : taken(d);
    if (typeof d === 'string') unusable.set(c.name, d);
    else if (other !== undefined)
      unusable.set(
        c.name,
        `credential "${c.name}" has the same token as ${sites.has(other) ? `site "${other}"` : `credential "${other}"`}; give each its own token`,
      );
    else people.set(c.name, { role: c.role, digest: d });
  }
  return { sites, tokenless, people, unusable };
}

export type AuthOutcome =
  | { ok: true; who: Principal }
  /** `unknown`: a token was sent and matched nothing (a guess, or a wrong token). */
  | { ok: false; reason: 'missing' | 'malformed' | 'unknown'; message: string };

/** Finds whose token the Authorization header carries. */
export function authenticate(header: string | undefined, creds: Credentials): AuthOutcome {
  if (header === undefined || header === '')
    return { ok: false, reason: 'missing', message: 'missing Authorization header' };
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
  if (!m)
    return {
      ok: false,
      reason: 'malformed',
      message: 'malformed Authorization header; expected "Bearer <token>"',
    };
  const presented = sha256(m[1] as string);
  let found: Principal | undefined;
  // No early exit: every digest is compared, whichever matched.
  for (const [site, digest] of creds.sites) {
    if (timingSafeEqual(presented, digest) && found === undefined) found = { kind: 'site', site };
  }
  for (const [name, { role, digest }] of creds.people) {
    if (timingSafeEqual(presented, digest) && found === undefined) found = { kind: 'credential', name, role };
  }
  if (found !== undefined) return { ok: true, who: found };
  return {
    ok: false,
    reason: 'unknown',
    message: 'the bearer token matches no token this collector accepts',
  };
}
