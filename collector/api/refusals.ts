// Requests the collector refuses for their token or credential (401: it matches nothing, or none was
// sent; 403: another site's token, or a credential without the role), logged with the remote address so
// that a misconfigured or hostile client can be found, but at most one line per address and kind (agent
// requests, other API requests) per interval (a minute): the first refusal at once, then one line with
// how many more came in that interval, and so on while they keep coming.
import type { Logger } from '../../shared/log.ts';

export const REFUSAL_LOG_INTERVAL_MS = 60_000;

/** Agent endpoints (plan, results, heartbeat, tasks), or the rest of the API (reads, qualifications). */
export type RequestKind = 'agent' | 'API';

interface Window {
  address: string;
  kind: RequestKind;
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

  /** One refused request: `what` is its status, reason, request line and kind. */
  refused(
    address: string,
    what: { status: number; reason: string; request: string; kind?: RequestKind },
  ): void {
    const kind = what.kind ?? 'agent';
    const key = `${kind} ${address}`;
    const text = `${what.status} ${what.request}: ${what.reason}`;
    const w = this.windows.get(key);
    if (w !== undefined) {
      w.count += 1;
      w.last = text;
      return;
    }
    this.log.warn(`refused ${kind === 'agent' ? 'an agent' : 'an API'} request from ${address} (${text})`, {
      remote_address: address,
      status: what.status,
      refused: 1,
    });
    this.open(key, address, kind);
  }

  /** Stops the timers (the collector is closing); what is counted and not yet logged is logged now. */
  close(): void {
    for (const key of [...this.windows.keys()]) this.flush(key, false);
  }

  private open(key: string, address: string, kind: RequestKind): void {
    const timer = setTimeout(() => this.flush(key, true), this.intervalMs);
    timer.unref();
    this.windows.set(key, { address, kind, count: 0, last: '', timer });
  }

  private flush(key: string, reopen: boolean): void {
    const w = this.windows.get(key);
    if (w === undefined) return;
    clearTimeout(w.timer);
    this.windows.delete(key);
    if (w.count === 0) return;
    this.log.warn(
      `refused ${w.count} more ${w.kind === 'agent' ? 'agent' : 'API'} request${w.count === 1 ? '' : 's'} from ${w.address} in the last ${Math.round(this.intervalMs / 1000)} s (the latest: ${w.last})`,
      { remote_address: w.address, refused: w.count },
    );
    // Refusals still coming: the next line waits for the next interval too.
    if (reopen) this.open(key, w.address, w.kind);
  }
}
