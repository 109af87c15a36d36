// The topology in force: the file, and everything the collector derives from it (links, each agent's
// plan, agent tokens and operators' credentials, notifier names). It is re-read when the file changes and on SIGHUP; a broken edit
// is logged and the previous topology stays in force, so a typo never takes the collector down.
import { createHash } from 'node:crypto';
import { readFileSync, watch } from 'node:fs';
import { basename, dirname } from 'node:path';
import { ConfigError, loadTopology } from '../shared/config/load.ts';
import type { Logger } from '../shared/log.ts';
import type { Topology } from '../shared/topology/model.ts';
import { deriveLinks, type LinkRequirement } from '../shared/topology/requirements.ts';
import type { AgentPlan } from '../shared/wire.ts';
import { type Credentials, loadCredentials } from './api/auth.ts';
import { notifierNames } from './notifiers/index.ts';
import { buildPlans } from './plan/plan.ts';

export interface LoadedTopology {
  topology: Topology;
  links: LinkRequirement[];
  plans: Map<string, AgentPlan>;
  /** Agents' site tokens and the viewer and operator credentials, as digests. */
  credentials: Credentials;
  /**
   * The plans of the topology this one replaced, and when: for a short grace the collector still takes
   * results towards the peers they had, measured before the agents fetched the new plan.
   */
  replaced?: { plans: Map<string, AgentPlan>; atMs: number };
  /**
   * The names of the `notify:` entries: the outbox keys deliveries by them, so a notifier keeps its
   * pending deliveries across a reload that changes its settings.
   */
  notifiers: string[];
  /** Of the file's text: an unchanged file is not reloaded. */
  hash: string;
}

export interface TopologyOptions {
  configPath: string;
  planRefreshMs?: number;
  /** Where token_env variables are read. */
  env: NodeJS.ProcessEnv;
  log: Logger;
}

/** What a reload found: a broken file (the old topology kept), the same file, or a new topology. */
export type Reload =
  | { kind: 'broken' }
  | { kind: 'unchanged' }
  | { kind: 'changed'; before: LoadedTopology; after: LoadedTopology };

export class TopologyInForce {
  private loaded: LoadedTopology;

  /** Loads the file; throws (a ConfigError for a broken file) when there is no topology to run with. */
  constructor(private readonly opts: TopologyOptions) {
    this.loaded = this.load();
    this.warnTokenless();
  }

  get current(): LoadedTopology {
    return this.loaded;
  }

  /** Re-reads the file; a broken one is logged and changes nothing. */
  reload(): Reload {
    const { log } = this.opts;
    let next: LoadedTopology;
    try {
      next = this.load();
    } catch (err) {
      if (err instanceof ConfigError) {
        log.error(
          `the topology file changed but is not valid; keeping the previous topology.\n${err.message}`,
        );
      } else {
        log.error('the topology file could not be re-read; keeping the previous topology', { error: err });
      }
      return { kind: 'broken' };
    }
    const before = this.loaded;
    if (next.hash === before.hash) return { kind: 'unchanged' };
    const was = before.topology.collector;
    const is = next.topology.collector;
    if (
      was.listen !== is.listen ||
      was.data_dir !== is.data_dir ||
      JSON.stringify(was.tls) !== JSON.stringify(is.tls)
    ) {
      log.warn('collector.listen, data_dir and tls take effect at the next restart');
    }
    this.loaded = { ...next, replaced: { plans: before.plans, atMs: Date.now() } };
    this.warnTokenless();
    return { kind: 'changed', before, after: next };
  }

  private load(): LoadedTopology {
    const { configPath, planRefreshMs, env } = this.opts;
    const text = readFileSync(configPath, 'utf8');
    const topology = loadTopology(configPath);
    const plans = buildPlans(topology, planRefreshMs !== undefined ? { plan_refresh_ms: planRefreshMs } : {});
    return {
      topology,
      links: deriveLinks(topology),
      plans,
      credentials: loadCredentials(topology, env),
      notifiers: notifierNames(topology.notify),
      hash: createHash('sha256').update(text).digest('hex'),
    };
  }

  private warnTokenless(): void {
    for (const [site, why] of this.loaded.credentials.tokenless)
      this.opts.log.warn(`site ${site} has no agent token and cannot push`, { why });
    for (const [name, why] of this.loaded.credentials.unusable)
      this.opts.log.warn(`credential ${name} cannot be used`, { why });
    const roles = [...this.loaded.credentials.people.values()].map((p) => p.role);
    if (!roles.includes('operator'))
      this.opts.log.warn(
        'no usable operator credential (collector.credentials): qualifications cannot be started or stopped',
      );
    if (!this.loaded.topology.collector.public_read && roles.length === 0)
      this.opts.log.warn(
        'no usable viewer or operator credential and collector.public_read is false: nobody can read links, alerts or agents',
      );
    const { notify } = this.loaded.topology;
    const byUrl = this.loaded.notifiers.filter(
      (name, i) => notify[i]?.name === undefined && name.includes(':'),
    );
    if (byUrl.length > 0)
      this.opts.log.warn(
        'notifiers without a name, several of one type, are known by their URL: a changed URL drops their pending notifications; give each a name',
        { notifiers: byUrl },
      );
  }
}

/** Plan refreshes after a topology change during which results towards the old plan's peers are taken. */
export const PEER_GRACE_REFRESHES = 2;

/** The sites `site` may send results about at `now`: its peers, and for a grace its peers before a change. */
export function peersOf(loaded: LoadedTopology, site: string, now: number): Set<string> {
  const plan = loaded.plans.get(site);
  const peers = new Set(plan?.peers.map((p) => p.site) ?? []);
  const before = loaded.replaced;
  if (
    before !== undefined &&
    plan !== undefined &&
    now - before.atMs <= PEER_GRACE_REFRESHES * plan.plan_refresh_ms
  )
    for (const p of before.plans.get(site)?.peers ?? []) peers.add(p.site);
  return peers;
}

/**
 * Calls `reload` when the topology file changes (if `watchFile`) and on SIGHUP (if `onSighup`), until
 * `shutdown` is aborted.
 */
export function reloadOnChange(
  configPath: string,
  reload: () => void,
  opts: { watchFile: boolean; onSighup: boolean; log: Logger; shutdown: AbortSignal },
): void {
  const { log, shutdown } = opts;
  if (opts.watchFile) {
    // Watch the directory, not the file: editors replace a file by renaming a new one over it.
    const file = basename(configPath);
    let settle: NodeJS.Timeout | undefined;
    try {
      const watcher = watch(dirname(configPath), (_event, name) => {
        if (name !== null && name !== file) return;
        if (settle) clearTimeout(settle);
        settle = setTimeout(() => {
          if (!shutdown.aborted) reload();
        }, 150);
      });
      watcher.on('error', (err) =>
        log.warn('stopped watching the topology file; use SIGHUP to reload', { error: err }),
      );
      shutdown.addEventListener(
        'abort',
        () => {
          if (settle) clearTimeout(settle);
          watcher.close();
        },
        { once: true },
      );
    } catch (err) {
      log.warn('cannot watch the topology file; use SIGHUP to reload', { error: err });
    }
  }
  if (opts.onSighup) {
    const onHup = () => {
      log.info('SIGHUP: re-reading the topology file');
      reload();
    };
    process.on('SIGHUP', onHup);
    shutdown.addEventListener('abort', () => process.off('SIGHUP', onHup), { once: true });
  }
}
