// Who may use which endpoint, checked before any route does its work:
//   open    /healthz
//   read    links, alerts, agents, outputs, a qualification's progress: a viewer or operator credential,
//           or nothing at all when the file says `collector.public_read: true`; rate-limited per address
//   operate starting and stopping qualifications (traffic between sites): an operator credential, always
//   agent   plan, results, heartbeat, tasks: the site's token (and with `collector.tls.client_ca`, a
//           client certificate that CA signed, naming that site), from an agent of a version the
//           collector takes (versions.ts)
// A token that matches nothing counts as a failed authentication of its remote address (each different
// token once); past the bound (limits.ts) that address's requests carrying a token get 429 for a while,
// before any token is looked at, so guessing is slow. A refusal says what is wrong with this request, never anything about others.
import type { IncomingMessage } from 'node:http';
import type { TLSSocket } from 'node:tls';
import { formatDuration } from '../../shared/config/duration.ts';
import type { Logger } from '../../shared/log.ts';
import { authenticate, type Credentials, type Principal, sha256 } from './auth.ts';
import { HttpError } from './http.ts';
import { type ApiLimits, FailureThrottle, TokenBuckets } from './limits.ts';
import { AgentVersions } from './versions.ts';

export interface GateDeps {
  credentials(): Credentials;
  /** collector.public_read of the topology in force. */
  publicRead(): boolean;
  knownSites(): string[];
  /** Agents must present a client certificate naming their site (collector.tls.client_ca). */
  clientCertificates: boolean;
  /** Which agent versions are taken (versions.ts); every version when absent. */
  versions?: AgentVersions;
  limits: ApiLimits;
  log: Logger;
}

/** The person or tool behind an operator's request, as the log names it. */
export interface Requester {
  name: string;
  from: string;
}

const tooMany = (ms: number, message: string) =>
  new HttpError(429, message, undefined, { 'retry-after': String(Math.max(1, Math.ceil(ms / 1000))) });

export class Gate {
  private readonly reads: TokenBuckets;
  private readonly failures: FailureThrottle;

  constructor(private readonly deps: GateDeps) {
    this.reads = new TokenBuckets(deps.limits.readsPerSecond, deps.limits.readBurst);
    this.failures = new FailureThrottle(deps.limits);
  }

  /** Any request that carries a token waits while its address is slowed down for failed ones. */
  checkAddress(req: IncomingMessage, from: string): void {
    if (req.headers.authorization === undefined) return;
    const wait = this.failures.waitMs(from, Date.now());
    if (wait > 0)
      throw tooMany(
        wait,
        `too many failed authentications from ${from}: requests with a token are refused for ${formatDuration(Math.ceil(wait / 1000) * 1000)} more`,
      );
  }

  /** A read: rate-limited per address; a viewer or operator credential unless reads are public. */
  reader(req: IncomingMessage, from: string): void {
    const wait = this.reads.take(from, Date.now());
    if (wait > 0)
      throw tooMany(
        wait,
        `too many reads from ${from}: at most ${this.deps.limits.readsPerSecond} a second (bursts of ${this.deps.limits.readBurst}); wait and read less often`,
      );
    if (this.deps.publicRead() && req.headers.authorization === undefined) return;
    const who = this.who(req, from, 'reading needs a viewer or operator credential');
    if (who.kind === 'site' && !this.deps.publicRead())
      throw new HttpError(
        403,
        "a site's agent token cannot read: reading needs a viewer or operator credential (collector.credentials)",
      );
  }

  /** Whatever sends traffic or changes state: an operator credential, always. */
  operator(req: IncomingMessage, from: string, action: string): Requester {
    const need = `${action} needs an operator credential`;
    const who = this.who(req, from, need);
    if (who.kind === 'site') throw new HttpError(403, `${need}; a site's agent token is not one`);
    if (who.role !== 'operator')
      throw new HttpError(403, `${need}; credential "${who.name}" has the role ${who.role}`);
    return { name: who.name, from };
  }

  /**
   * The site an agent's request comes from (401 otherwise); with `claimed`, it must be the token's site
   * (403). With client certificates required, the certificate must name the token's site (403).
   */
  agent(req: IncomingMessage, from: string, claimed?: string): string {
    const auth = authenticate(req.headers.authorization, this.deps.credentials());
    if (!auth.ok) {
      req.resume();
      this.failed(auth.reason, req, from);
      throw new HttpError(
        401,
        auth.reason === 'unknown'
          ? "the bearer token matches no site's token; check the agent's token against its site's token_env or token_sha256 in the collector's topology file"
          : `${auth.message}; send "Authorization: Bearer <site token>"`,
      );
    }
    if (auth.who.kind !== 'site')
      throw new HttpError(
        403,
        `this endpoint is for agents and takes a site's token; credential "${auth.who.name}" is a ${auth.who.role} credential`,
      );
    const site = auth.who.site;
    if (claimed !== undefined) checkSite(this.deps.knownSites(), site, claimed, 'request');
    if (this.deps.clientCertificates) checkCertificate(req, site);
    this.deps.versions?.check(site, AgentVersions.header(req), Date.now());
    return site;
  }

  /** Whoever the token belongs to; 401 for none or one that matches nothing. */
  private who(req: IncomingMessage, from: string, need: string): Principal {
    const auth = authenticate(req.headers.authorization, this.deps.credentials());
    if (auth.ok) return auth.who;
    req.resume();
    this.failed(auth.reason, req, from);
    throw new HttpError(401, `${need}: ${auth.message}; send "Authorization: Bearer <credential>"`);
  }

  private failed(reason: 'missing' | 'malformed' | 'unknown', req: IncomingMessage, from: string): void {
    // A request without a token guessed nothing; only tokens that match nothing count, each once.
    if (reason === 'missing') return;
    const token = sha256(req.headers.authorization ?? '').toString('hex');
    if (!this.failures.failed(from, token, Date.now())) return;
    const { authFailures, authFailureWindowMs, authBlockMs } = this.deps.limits;
    this.deps.log.warn(
      `${authFailures} different wrong tokens from ${from} within ${formatDuration(authFailureWindowMs)}: its requests with a token are refused (429) for ${formatDuration(authBlockMs)}`,
      { remote_address: from },
    );
  }
}

/** The request names `claimed` as its site; the token's is `tokenSite`. */
export function checkSite(known: string[], tokenSite: string, claimed: string, what: string): void {
  if (claimed === tokenSite) return;
  throw new HttpError(
    403,
    `this ${what} is for site "${claimed}"${known.includes(claimed) ? '' : ' (not a site in the topology)'}, but the token belongs to site "${tokenSite}"`,
  );
}

/** The client certificate, verified by the client CA, names `site` in its CN or a DNS subjectAltName. */
function checkCertificate(req: IncomingMessage, site: string): void {
  const socket = req.socket as Partial<TLSSocket>;
  const cert = socket.getPeerCertificate?.();
  const fix = `present site ${site}'s certificate with --tls-cert and --tls-key`;
  if (cert === undefined || Object.keys(cert).length === 0)
    throw new HttpError(
      403,
      `this collector requires agents' client certificates and none was presented; ${fix}`,
    );
  if (socket.authorized !== true)
    throw new HttpError(
      403,
      `the client certificate is not signed by the collector's client CA (${String(socket.authorizationError)}); ${fix}`,
    );
  const cn = ([] as string[]).concat(cert.subject?.CN ?? []);
  const dns = (cert.subjectaltname ?? '')
    .split(', ')
    .filter((s) => s.startsWith('DNS:'))
    .map((s) => s.slice(4));
  if (cn.includes(site) || dns.includes(site)) return;
  const names = [...cn.map((n) => `CN ${n}`), ...dns.map((n) => `DNS ${n}`)].join(', ') || 'no name';
  throw new HttpError(
    403,
    `the client certificate names ${names}, but the token belongs to site "${site}"; ${fix}`,
  );
}
