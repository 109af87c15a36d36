// The emulated WAN lab: sites are network namespaces, joined by links whose one-way delay, jitter, loss
// and rate are set per direction and can be changed while the lab runs. Tests use it through
// `startLab`; people through `npm run lab -- up|set|check|down FILE` (lab/cli.ts). Product code never
// imports it.
//
// Each site i (0-based, in the file's order) of a lab holding address slot n gets:
//   - the namespace ww-<lab>-<site>, its site address 198.18.n.(i+1) on lo;
//   - one TUN device per link, named to-<peer>, held by the relay (lab/relay.c) which carries the
//     packets to the peer's TUN device with the link's delay, loss and rate;
//   - routes to every other site's address through the first link on a shortest path (sites forward,
//     so a site without a direct link to another is reached through a third site);
//   - a management veth, unimpaired: 198.19.n.(4i+1) in the root namespace ↔ 198.19.n.(4i+2) in the
//     site, named `mgmt` inside it. Processes in the site reach a server in the root namespace at
//     `collectorAddress(site)`; the root namespace reaches the site address over it. Site-to-site
//     traffic never takes it: the site has routes for the other sites' addresses via the TUN devices
//     and no default route.
// Each lab claims its own slot n, so labs running at the same time never share an address.
import { randomBytes } from 'node:crypto';
import { accessSync, constants } from 'node:fs';
import { join } from 'node:path';
import { execa, type Options, type Result, type ResultPromise } from 'execa';
import { buildRelay, type DirectionStats, relayStats, setDirection, startRelay } from './relay.ts';
import {
  applyChange,
  type LabFileInput,
  type LabLink,
  type LabSpec,
  type LinkChange,
  type LinkParams,
  linkChangeSchema,
  parseLabSpec,
} from './spec.ts';
import {
  claimName,
  claimSlot,
  isAlive,
  type LabState,
  labDir,
  processRef,
  readState,
  removeLab,
  removeStaleLabs,
  writeState,
} from './state.ts';

export type { LabSpec, LinkChange, LinkParams } from './spec.ts';

/** Why the lab cannot run on this machine, or undefined when it can. */
export function labUnavailable(): string | undefined {
  if (process.platform !== 'linux')
    return `the lab needs Linux network namespaces (this is ${process.platform})`;
  if (process.getuid?.() !== 0) return 'the lab needs root (network namespaces, TUN devices)';
  try {
    accessSync('/dev/net/tun', constants.R_OK | constants.W_OK);
  } catch {
    return 'the lab needs /dev/net/tun';
  }
  for (const tool of ['ip', 'cc', 'ping', 'iperf3']) {
    const found = (process.env.PATH ?? '').split(':').some((dir) => {
      try {
        accessSync(join(dir, tool), constants.X_OK);
        return true;
      } catch {
        return false;
      }
    });
    if (!found) return `the lab needs \`${tool}\` on the PATH (bash .ci/install installs it)`;
  }
  return undefined;
}

export class LabError extends Error {
  override name = 'LabError';
}

async function ip(...args: string[]): Promise<void> {
  const r = await execa('ip', args, { reject: false });
  if (r.exitCode !== 0) throw new LabError(`ip ${args.join(' ')} failed: ${r.stderr.trim()}`);
}

function namespaceOf(lab: string, site: string): string {
  return `ww-${lab}-${site}`;
}

/** First-hop link index from `from` to every other reachable site (breadth-first: fewest hops). */
function firstHops(spec: LabSpec, from: string): Map<string, number> {
  const hops = new Map<string, number>();
  const queue: string[] = [from];
  const seen = new Set([from]);
  while (queue.length > 0) {
    const here = queue.shift() as string;
    spec.links.forEach((link, li) => {
      const next = link.a === here ? link.b : link.b === here ? link.a : undefined;
      if (next === undefined || seen.has(next)) return;
      seen.add(next);
      hops.set(next, here === from ? li : (hops.get(here) as number));
      queue.push(next);
    });
  }
  return hops;
}

export interface StartOptions {
  /** Lab name (prefixes namespace names); default: the spec's name, else a random one. */
  name?: string;
  /** Keep the relay running after this process exits (the `lab up` command). Default false. */
  detached?: boolean;
}

/**
 * A running lab. Site names are those of the lab file; `a`/`b` in link parameters follow the order of
 * the sites in the change's `between`.
 */
export class Lab {
  readonly name: string;
  private state: LabState;

  constructor(state: LabState) {
    this.name = state.name;
    this.state = state;
  }

  /** The lab's current description, parameters included. */
  get spec(): LabSpec {
    return this.state.spec;
  }

  get sites(): readonly string[] {
    return this.state.spec.sites;
  }

  private index(site: string): number {
    const i = this.state.spec.sites.indexOf(site);
    if (i < 0)
      throw new LabError(`lab ${this.name} has no site "${site}"; its sites are ${this.sites.join(', ')}`);
    return i;
  }

  /** The site's network namespace, for `ip netns exec`. */
  namespace(site: string): string {
    this.index(site);
    return namespaceOf(this.name, site);
  }

  /** The site's own address: reached from other sites over the emulated links, from the root namespace directly. */
  siteAddress(site: string): string {
    return `198.18.${this.state.slot}.${this.index(site) + 1}`;
  }

  /**
   * The root-namespace address that a process in `site` uses to reach a server in the root namespace
   * (the collector), over the unimpaired management link. A server for all sites listens on 0.0.0.0.
   */
  collectorAddress(site: string): string {
    return `198.19.${this.state.slot}.${this.index(site) * 4 + 1}`;
  }

  /** Runs `cmd args` inside the site's namespace and waits for it (execa; rejects on failure unless `reject: false`). */
  exec<O extends Options = Options>(
    site: string,
    cmd: string,
    args: readonly string[] = [],
    options?: O,
  ): Promise<Result<O>> {
    return this.spawn(site, cmd, args, options);
  }

  /** Starts `cmd args` inside the site's namespace; the execa subprocess (a promise too). */
  spawn<O extends Options = Options>(
    site: string,
    cmd: string,
    args: readonly string[] = [],
    options?: O,
  ): ResultPromise<O> {
    const subprocess = execa(
      'ip',
      ['netns', 'exec', this.namespace(site), cmd, ...args],
      options ?? ({} as O),
    );
    // execa types the options as `{} & O`, which is O.
    return subprocess as unknown as ResultPromise<O>;
  }

  /** Current parameters of the link between `a` and `b`, as seen from `a`. */
  params(a: string, b: string): { a_to_b: LinkParams; b_to_a: LinkParams } {
    const { link } = this.findLink(a, b);
    return link.a === a
      ? { a_to_b: link.a_to_b, b_to_a: link.b_to_a }
      : { a_to_b: link.b_to_a, b_to_a: link.a_to_b };
  }

  private findLink(a: string, b: string): { link: LabLink; index: number } {
    const index = this.state.spec.links.findIndex(
      (l) => (l.a === a && l.b === b) || (l.a === b && l.b === a),
    );
    const link = this.state.spec.links[index];
    if (!link) throw new LabError(`lab ${this.name} has no link between "${a}" and "${b}"`);
    return { link, index };
  }

  /**
   * Changes links while the lab runs; keys left out keep their value. Takes effect for the next packet.
   * Example: `await lab.set({ between: ['A', 'B'], delay_ms: 30, b_to_a: { loss_percent: 2 } })`.
   */
  async set(changes: LinkChange | LinkChange[]): Promise<void> {
    for (const raw of Array.isArray(changes) ? changes : [changes]) {
      const parsed = linkChangeSchema.safeParse(raw);
      if (!parsed.success) {
        throw new LabError(
          `lab.set: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(change)'}: ${i.message}`).join('; ')}`,
        );
      }
      const change = parsed.data;
      const [a, b] = change.between;
      const { link, index } = this.findLink(a, b);
      // Turn the change around when it names the link's sites in the other order.
      const own: LinkChange =
        link.a === a ? change : { ...change, between: [b, a], a_to_b: change.b_to_a, b_to_a: change.a_to_b };
      const next = applyChange(link, own);
      await setDirection(this.state.controlSocket, 2 * index, next.a_to_b);
      await setDirection(this.state.controlSocket, 2 * index + 1, next.b_to_a);
      link.a_to_b = next.a_to_b;
      link.b_to_a = next.b_to_a;
    }
    writeState(this.state);
  }

  /** Packet counters of each direction ("A→B"), as the relay counted them. */
  async stats(): Promise<Array<DirectionStats & { from: string; to: string }>> {
    const raw = await relayStats(this.state.controlSocket);
    return raw.map((s) => {
      const link = this.state.spec.links[Math.floor(s.direction / 2)] as LabLink;
      const forward = s.direction % 2 === 0;
      return { ...s, from: forward ? link.a : link.b, to: forward ? link.b : link.a };
    });
  }

  /** Removes the whole lab: relay, processes inside the sites, namespaces, links, routes. */
  async stop(): Promise<void> {
    await removeLab(this.name, this.state);
  }
}

function isSpec(spec: LabSpec | LabFileInput): spec is LabSpec {
  return typeof spec.seed === 'number' && spec.links.every((l) => 'a' in l);
}

/**
 * Brings up a lab. First removes what crashed runs left (labs whose relay is gone); refuses to start
 * when a live lab already has the name. On any failure, removes what it made before throwing.
 */
export async function startLab(input: LabSpec | LabFileInput, options: StartOptions = {}): Promise<Lab> {
  const why = labUnavailable();
  if (why) throw new LabError(`cannot start the lab: ${why}`);
  const parsed = isSpec(input)
    ? input
    : parseLabSpec(input, { defaultName: options.name ?? `t${randomBytes(4).toString('hex')}` });
  const spec: LabSpec = structuredClone({ ...parsed, name: options.name ?? parsed.name });

  await removeStaleLabs();
  if (!claimName(spec.name)) {
    const other = readState(spec.name);
    if (other && isAlive(other.owner)) {
      throw new LabError(
        `lab "${spec.name}" is already up (relay pid ${other.relay?.pid ?? other.owner.pid}); take it down first: npm run lab -- down FILE`,
      );
    }
    await removeLab(spec.name, other);
    if (!claimName(spec.name)) throw new LabError(`lab "${spec.name}" is being started by another process`);
  }
  const self = processRef(process.pid) as { pid: number; start: string };
  const state: LabState = {
    name: spec.name,
    slot: -1,
    owner: self,
    controlSocket: join(labDir(spec.name), 'control.sock'),
    spec,
    namespaces: spec.sites.map((s) => namespaceOf(spec.name, s)),
    rootLinks: [],
  };
  try {
    state.slot = claimSlot(spec.name);
    state.rootLinks = spec.sites.map((_s, i) => `ww${state.slot}m${i}`);
    writeState(state);
    await build(state, options.detached ?? false);
    return new Lab(state);
  } catch (err) {
    await removeLab(spec.name, state);
    throw err;
  }
}

async function build(state: LabState, detached: boolean): Promise<void> {
  const { spec, slot } = state;
  const binary = await buildRelay();
  const relay = await startRelay({
    binary,
    controlSocket: state.controlSocket,
    links: spec.links.length,
    seed: spec.seed,
    detached,
    logFile: join(labDir(spec.name), 'relay.log'),
  });
  const relayRef = processRef(relay.pid);
  if (!relayRef) throw new LabError('the lab relay exited right after it started; see its relay.log');
  state.relay = relayRef;
  // From here on the relay owns the lab: it lives exactly as long as the lab's links do.
  state.owner = relayRef;
  writeState(state);

  const siteAddr = (i: number) => `198.18.${slot}.${i + 1}`;
  for (const [i, site] of spec.sites.entries()) {
    const ns = namespaceOf(spec.name, site);
    await ip('netns', 'add', ns);
    await ip('-n', ns, 'link', 'set', 'lo', 'up');
    // No IPv6 (no stray neighbour discovery on the links), forwarding for multi-hop paths, and no
    // reverse-path filter (a forwarded packet may come back on another link).
    const sysctl = await execa(
      'ip',
      [
        ...['netns', 'exec', ns, 'sysctl', '-q', '-w'],
        'net.ipv6.conf.all.disable_ipv6=1',
        'net.ipv6.conf.default.disable_ipv6=1',
        'net.ipv4.ip_forward=1',
        'net.ipv4.conf.all.rp_filter=0',
        'net.ipv4.conf.default.rp_filter=0',
      ],
      { reject: false },
    );
    if (sysctl.exitCode !== 0) throw new LabError(`sysctl in ${ns} failed: ${sysctl.stderr.trim()}`);
    await ip('-n', ns, 'addr', 'add', `${siteAddr(i)}/32`, 'dev', 'lo');
    const rootIf = state.rootLinks[i] as string;
    await ip('link', 'add', rootIf, 'type', 'veth', 'peer', 'name', 'mgmt', 'netns', ns);
    await ip('addr', 'add', `198.19.${slot}.${i * 4 + 1}/30`, 'dev', rootIf);
    await ip('link', 'set', rootIf, 'up');
    await ip('-n', ns, 'addr', 'add', `198.19.${slot}.${i * 4 + 2}/30`, 'dev', 'mgmt');
    await ip('-n', ns, 'link', 'set', 'mgmt', 'up');
    await ip('route', 'add', `${siteAddr(i)}/32`, 'via', `198.19.${slot}.${i * 4 + 2}`, 'dev', rootIf);
  }
  for (const [li, link] of spec.links.entries()) {
    const [tunA, tunB] = relay.tuns[li] as [string, string];
    for (const [tun, here, peer] of [
      [tunA, link.a, link.b],
      [tunB, link.b, link.a],
    ] as const) {
      const ns = namespaceOf(spec.name, here);
      await ip('link', 'set', tun, 'netns', ns);
      await ip('-n', ns, 'link', 'set', tun, 'name', `to-${peer}`);
      await ip('-n', ns, 'link', 'set', `to-${peer}`, 'up');
    }
    await setDirection(state.controlSocket, 2 * li, link.a_to_b);
    await setDirection(state.controlSocket, 2 * li + 1, link.b_to_a);
  }
  for (const [i, site] of spec.sites.entries()) {
    const ns = namespaceOf(spec.name, site);
    for (const [dest, li] of firstHops(spec, site)) {
      const link = spec.links[li] as LabLink;
      const peer = link.a === site ? link.b : link.a;
      const j = spec.sites.indexOf(dest);
      await ip('-n', ns, 'route', 'add', `${siteAddr(j)}/32`, 'dev', `to-${peer}`, 'src', siteAddr(i));
    }
  }
}

/** The running lab of that name (started by another process, e.g. `lab up`). */
export function attachLab(name: string): Lab {
  const state = readState(name);
  if (!state || !isAlive(state.owner)) {
    throw new LabError(`lab "${name}" is not up; start it with: npm run lab -- up FILE`);
  }
  return new Lab(state);
}

/** Takes down the lab of that name, running or left over from a crash; false if there was none. */
export async function stopLab(name: string): Promise<boolean> {
  const state = readState(name);
  const before = (await execa('ip', ['netns', 'list'], { reject: false })).stdout;
  const leftovers = before.split('\n').some((l) => l.startsWith(`ww-${name}-`));
  if (!state && !leftovers) return false;
  await removeLab(name, state);
  return true;
}
