// What every page shows comes from one poll of the read API every few seconds: the links, the alerts and
// the agents, read together so that the header's counts and the page agree. A firing alert reaches the
// page within one poll after the collector's evaluation.

import type { AgentsReply, AlertsReply, LinksReply } from '../shared/wire.ts';
import { api, NeedsCredential } from './api.ts';

export const POLL_MS = 3000;

export interface Snapshot {
  links: LinksReply;
  alerts: AlertsReply;
  agents: AgentsReply;
  /** When the browser received it. */
  at: number;
}

export type Listener = (s: Snapshot) => void;
export type Trouble =
  | { kind: 'credential'; message: string }
  | { kind: 'unreachable'; message: string }
  | null;

export class Live {
  latest: Snapshot | null = null;
  private listeners = new Set<Listener>();
  private timer: number | undefined;
  private inFlight = false;

  constructor(private readonly onTrouble: (t: Trouble) => void) {}

  subscribe(l: Listener): () => void {
    this.listeners.add(l);
    if (this.latest) l(this.latest);
    return () => this.listeners.delete(l);
  }

  start(): void {
    void this.poll();
  }

  /** Polls now (after a credential was given) and then every POLL_MS. */
  async poll(): Promise<void> {
    window.clearTimeout(this.timer);
    if (this.inFlight) return;
    this.inFlight = true;
    try {
      const [links, alerts, agents] = await Promise.all([api.links(), api.alerts(), api.agents()]);
      this.latest = { links, alerts, agents, at: Date.now() };
      this.onTrouble(null);
      for (const l of this.listeners) l(this.latest);
    } catch (err) {
      if (err instanceof NeedsCredential) {
        this.onTrouble({ kind: 'credential', message: err.message });
        this.inFlight = false;
        return; // polling resumes once a credential is given
      }
      this.onTrouble({ kind: 'unreachable', message: (err as Error).message });
    }
    this.inFlight = false;
    this.timer = window.setTimeout(() => void this.poll(), POLL_MS);
  }
}
