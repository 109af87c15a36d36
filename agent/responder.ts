// The site's responder (what its peers measure against: the UDP reflector and the iperf3 server) as the
// agent keeps it: started on the address and ports of the plan, restarted when a new plan moves them,
// and tried again at each plan refresh while it cannot start. A port that is taken costs the peers their
// measurements of this site, never the agent its own. Its health (each part up or down, and why) goes
// into every heartbeat; the iperf3 server supervises itself (responder/iperf3-server.ts).
import { errorMessage } from '../probes/round.ts';
import type { Logger } from '../shared/log.ts';
import type { ResponderHealth } from '../shared/wire.ts';

export interface ResponderConfig {
  address: string;
  reflector_port: number;
  iperf3_port: number;
}
export interface Responder {
  close(): Promise<void> | void;
  /** Each part up or down, and why (responder/index.ts); a responder without it reports nothing. */
  health?(): ResponderHealth;
}
export type StartResponder = (config: ResponderConfig) => Promise<Responder> | Responder;

export interface SiteResponderDeps {
  start: StartResponder;
  log: Logger;
  /** Aborted at shutdown: a responder that finishes starting after it is closed at once. */
  signal: AbortSignal;
  countError: () => void;
}

export class SiteResponder {
  private readonly deps: SiteResponderDeps;
  private current: { config: ResponderConfig; handle: Responder } | undefined;
  /** Why the last start failed, while no responder runs. */
  private startError: string | undefined;
  /** A start in progress: close() waits for it, so nothing is left listening after shutdown. */
  private starting: Promise<void> | undefined;

  constructor(deps: SiteResponderDeps) {
    this.deps = deps;
  }

  get up(): boolean {
    return this.current !== undefined;
  }

  /** Both parts as peers meet them; undefined before the first start, or for a responder that cannot say. */
  health(): ResponderHealth | undefined {
    if (this.current !== undefined) return this.current.handle.health?.();
    if (this.startError === undefined) return undefined;
    const last_error = this.startError.slice(0, 2000);
    return {
      reflector: { up: false, last_error },
      iperf3: { up: false, last_error, restarts: 0 },
    };
  }

  /** Makes the responder listen as `config` says: nothing to do when it already does. */
  async ensure(config: ResponderConfig): Promise<void> {
    await this.starting;
    const run = this.ensureNow(config);
    this.starting = run;
    try {
      await run;
    } finally {
      if (this.starting === run) this.starting = undefined;
    }
  }

  private async ensureNow(config: ResponderConfig): Promise<void> {
    const { log } = this.deps;
    const same =
      this.current !== undefined &&
      this.current.config.address === config.address &&
      this.current.config.reflector_port === config.reflector_port &&
      this.current.config.iperf3_port === config.iperf3_port;
    if (same || this.deps.signal.aborted) return;
    if (this.current !== undefined) {
      await this.closeNow();
    }
    try {
      const handle = await this.deps.start(config);
      if (this.deps.signal.aborted) {
        await handle.close();
        return;
      }
      this.current = { config, handle };
      this.startError = undefined;
      log.info('responder listening', { ...config });
    } catch (err) {
      this.deps.countError();
      this.startError = `could not start the responder on ${config.address} (UDP ${config.reflector_port}, iperf3 ${config.iperf3_port}): ${errorMessage(err)}`;
      log.error(
        `${this.startError}. Peers measuring this site will see errors; free the ports or fix the topology ` +
          'file (sites.<name>.address, reflector_port, iperf3_port); retrying at the next plan refresh.',
      );
    }
  }

  /** Closes the responder, after a start in progress (which then closes what it started). */
  async close(): Promise<void> {
    await this.starting;
    await this.closeNow();
  }

  private async closeNow(): Promise<void> {
    const r = this.current;
    this.current = undefined;
    if (r === undefined) return;
    try {
      await r.handle.close();
    } catch (err) {
      this.deps.log.warn('responder did not close cleanly', { error: errorMessage(err) });
    }
  }
}
