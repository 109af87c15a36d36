// The site's responder (what its peers measure against: the UDP reflector and the iperf3 server) as the
// agent keeps it: started on the address and ports of the plan, restarted when a new plan moves them,
// and tried again at each plan refresh while it cannot start. A port that is taken costs the peers their
// measurements of this site, never the agent its own.
import { errorMessage } from '../probes/round.ts';
import type { Logger } from '../shared/log.ts';

export interface ResponderConfig {
  address: string;
  reflector_port: number;
  iperf3_port: number;
}
export interface Responder {
  close(): Promise<void> | void;
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

  constructor(deps: SiteResponderDeps) {
    this.deps = deps;
  }

  get up(): boolean {
    return this.current !== undefined;
  }

  /** Makes the responder listen as `config` says: nothing to do when it already does. */
  async ensure(config: ResponderConfig): Promise<void> {
    const { log } = this.deps;
    const same =
      this.current !== undefined &&
      this.current.config.address === config.address &&
      this.current.config.reflector_port === config.reflector_port &&
      this.current.config.iperf3_port === config.iperf3_port;
    if (same) return;
    if (this.current !== undefined) {
      await this.close();
    }
    try {
      const handle = await this.deps.start(config);
      if (this.deps.signal.aborted) {
        await handle.close();
        return;
      }
      this.current = { config, handle };
      log.info('responder listening', { ...config });
    } catch (err) {
      this.deps.countError();
      log.error(
        `could not start the responder on ${config.address} (UDP ${config.reflector_port}, iperf3 ${config.iperf3_port}): ` +
          `${errorMessage(err)}. Peers measuring this site will see errors; free the ports or fix the topology ` +
          'file (sites.<name>.address, reflector_port, iperf3_port); retrying at the next plan refresh.',
      );
    }
  }

  async close(): Promise<void> {
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
