// Alertmanager's re-sends. Alertmanager keeps alerts in memory only and expects its clients to send
// every active alert again every 30 s to 3 min; an alert not heard of past its endsAt ends. So each
// Alertmanager notifier is sent, every resend_interval, every firing alert it was delivered (in one
// request, endsAt a few intervals ahead): a restarted Alertmanager lists them again within one
// interval, and alerts of a collector that stopped end within a few.
// Re-sends are not notifications: they add no outbox row and no alert event and are not logged when
// they work (a failing streak is logged once, and its end); an alert whose notification is still
// pending for the notifier is left to the outbox, which sends it in order.
import type { NotifierConfig } from '../../shared/config/schema.ts';
import type { Logger } from '../../shared/log.ts';
import { renderAlertmanagerResend, resendIntervalMs } from '../notifiers/alertmanager.ts';
import { notifiersByName } from '../notifiers/index.ts';
import type { Store } from '../store/store.ts';
import { firingAlerts, resendable } from './rows.ts';
import { send } from './send.ts';

interface Schedule {
  /** When the next re-send is due. */
  due_ms: number;
  /** The settings it was planned with: new settings re-send at once. */
  settings: string;
  failing: boolean;
}

export class AlertmanagerResends {
  private readonly schedules = new Map<string, Schedule>();

  constructor(
    private readonly store: Store,
    private readonly opts: {
      collectorUrl: () => string | null;
      timeoutMs: number;
      signal: AbortSignal;
      log: Logger;
      now: () => number;
    },
  ) {}

  /**
   * The Alertmanager notifiers whose re-send is due now; each is planned for one interval later. A
   * notifier not seen before (at start, or added) is due at once.
   */
  takeDue(notify: readonly NotifierConfig[], nowMs: number): string[] {
    const due: string[] = [];
    const current = new Set<string>();
    for (const [name, n] of notifiersByName(notify)) {
      if (n.type !== 'alertmanager') continue;
      current.add(name);
      const settings = JSON.stringify(n);
      const s = this.schedules.get(name);
      if (s && s.settings === settings && s.due_ms > nowMs) continue;
      this.schedules.set(name, {
        due_ms: nowMs + resendIntervalMs(n),
        settings,
        failing: s?.failing ?? false,
      });
      due.push(name);
    }
    for (const name of this.schedules.keys()) if (!current.has(name)) this.schedules.delete(name);
    return due;
  }

  /** When the next re-send is due; null without Alertmanager notifiers. */
  nextDue(): number | null {
    const times = [...this.schedules.values()].map((s) => s.due_ms);
    return times.length === 0 ? null : Math.min(...times);
  }

  /** Sends the notifier every firing alert it holds. */
  async resend(name: string, notify: readonly NotifierConfig[]): Promise<void> {
    const config = notifiersByName(notify).get(name);
    const schedule = this.schedules.get(name);
    if (config?.type !== 'alertmanager' || !schedule) return;
    const events = firingAlerts(this.store).flatMap((a) => resendable(this.store, name, a) ?? []);
    if (events.length === 0) return;
    const { log, now } = this.opts;
    const request = renderAlertmanagerResend(events, config, {
      now_ms: now(),
      collector_url: this.opts.collectorUrl(),
      secret: null,
    });
    const answer = await send(request, { timeoutMs: this.opts.timeoutMs, signal: this.opts.signal });
    if (this.opts.signal.aborted) return;
    const fields = { notifier: name, alerts: events.length };
    if (answer.verdict === 'delivered') {
      if (schedule.failing) log.info('Alertmanager takes the re-sent firing alerts again', fields);
      schedule.failing = false;
      return;
    }
    if (!schedule.failing)
      log.warn(
        're-sending the firing alerts to Alertmanager failed; trying again every resend_interval (logged once until it works)',
        { ...fields, error: answer.problem, resend_interval_ms: resendIntervalMs(config) },
      );
    schedule.failing = true;
  }
}
