// Agent requests the collector refuses for their token (401: no site's token; 403: another site's), logged
// with the remote address so that a misconfigured or hostile client can be found, but at most one line
// per address per interval (a minute): the first refusal at once, then one line with how many more came
// in that interval, and so on while they keep coming.
import type { Logger } from '../../shared/log.ts';

export const REFUSAL_LOG_INTERVAL_MS = 60_000;

interface Window {
  /** Refusals since the last line. */
  count: number;
  /** The latest of them. */
  last: string;
  timer: NodeJS.Timeout;
}

export class RefusalLog {
  private readonly windows = new Map<string, Window>();

  constructor(
    private readonly log: Logger,
    private readonly intervalMs = REFUSAL_LOG_INTERVAL_MS,
  ) {}

  /** One refused request: `what` is its status, reason and request line. */
  refused(address: string, what: { status: number; reason: string; request: string }): void {
    const text = `${what.status} ${what.request}: ${what.reason}`;
    const w = this.windows.get(address);
    if (w !== undefined) {
      w.count += 1;
      w.last = text;
      return;
    }
    this.log.warn(`refused an agent request from ${address} (${text})`, {
      remote_address: address,
      status: what.status,
      refused: 1,
    });
    this.open(address);
  }

  /** Stops the timers (the collector is closing); what is counted and not yet logged is logged now. */
  close(): void {
    for (const address of [...this.windows.keys()]) this.flush(address, false);
  }

  private open(address: string): void {
    const timer = setTimeout(() => this.flush(address, true), this.intervalMs);
    timer.unref();
    this.windows.set(address, { count: 0, last: '', timer });
  }

  private flush(address: string, reopen: boolean): void {
    const w = this.windows.get(address);
    if (w === undefined) return;
    clearTimeout(w.timer);
    this.windows.delete(address);
    if (w.count === 0) return;
    this.log.warn(
      `refused ${w.count} more agent request${w.count === 1 ? '' : 's'} from ${address} in the last ${Math.round(this.intervalMs / 1000)} s (the latest: ${w.last})`,
      { remote_address: address, refused: w.count },
    );
    // Refusals still coming: the next line waits for the next interval too.
    if (reopen) this.open(address);
  }
}
