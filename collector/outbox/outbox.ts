// The one durable delivery path for every notifier. Events are queued as outbox rows in SQLite in the
// same transaction that records them, so a restart loses nothing: pending rows are picked up again.
// Each row is rendered at delivery time with the notifier's settings then in force (secrets come from
// the environment, never from the store) and sent by send.ts; failures are retried with backoff,
// honouring Retry-After on 429. Delivery is at least once: a crash between a receiver's 2xx and the
// row's update resends it. Rows are keyed by the notifier's name, so changing a notifier's settings
// keeps its pending rows; notifier-changes.ts handles notifiers added, changed and removed, and
// resend.ts Alertmanager's periodic re-sends. A notifier's deliveries wait for its re-send in flight (and
// a re-send starts only between deliveries), so a re-sent `firing` never overtakes the `resolved` after
// it; a re-send to an Alertmanager that does not answer holds up no other notifier.
import type { NotifierConfig } from '../../shared/config/schema.ts';
import type { Logger } from '../../shared/log.ts';
import { notifiersByName, renderNotification } from '../notifiers/index.ts';
import type { OutboxRow, Store } from '../store/store.ts';
import { NotifierChanges } from './notifier-changes.ts';
import { AlertmanagerResends } from './resend.ts';
import { backoffMs, type RetryPolicy, retryAfterMs } from './retry.ts';
import { send } from './send.ts';

/** How often the outbox looks whether a reload replaced the notifiers. */
const NOTIFIER_CHECK_MS = 1000;

export interface OutboxContext {
  /** The `notify:` list in force; a reload replaces the array. */
  notifiers(): readonly NotifierConfig[];
  collectorUrl(): string | null;
  /** Where secret_env and routing_key_env are read. */
  env: NodeJS.ProcessEnv;
}

export class Outbox {
  private timer: NodeJS.Timeout | undefined;
  private watcher: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private again = false;
  private closed = false;
  private readonly controller = new AbortController();
  private readonly changes: NotifierChanges;
  private readonly resends: AlertmanagerResends;
  /** Re-sends in flight, by notifier. */
  private readonly resending = new Map<string, Promise<void>>();

  constructor(
    private readonly store: Store,
    private readonly ctx: OutboxContext,
    private readonly policy: RetryPolicy,
    private readonly log: Logger,
    private readonly now: () => number = Date.now,
  ) {
    this.changes = new NotifierChanges(store, log, now);
    this.resends = new AlertmanagerResends(store, {
      collectorUrl: ctx.collectorUrl,
      timeoutMs: policy.timeout_ms,
      signal: this.controller.signal,
      log,
      now,
    });
  }

  /** Delivers whatever is due now, then sleeps until the next row or re-send is due. */
  wake(): void {
    if (this.closed) return;
    this.watchNotifiers();
    if (this.running) {
      this.again = true;
      return;
    }
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.running = this.drain().finally(() => {
      this.running = undefined;
      if (this.closed) return;
      if (this.again) {
        this.again = false;
        this.wake();
        return;
      }
      this.schedule();
    });
  }

  /** The outbox sees the topology only through ctx.notifiers(): it looks for a replaced list. */
  private watchNotifiers(): void {
    if (this.watcher) return;
    this.watcher = setInterval(() => {
      if (this.changes.differs(this.ctx.notifiers())) this.wake();
    }, NOTIFIER_CHECK_MS);
    this.watcher.unref?.();
  }

  private schedule(): void {
    const times = [this.store.nextOutboxDue(), this.resends.nextDue()].filter((t) => t !== null);
    if (times.length === 0) return;
    const wait = Math.min(Math.max(0, Math.min(...times) - this.now()), 2 ** 31 - 1);
    this.timer = setTimeout(() => this.wake(), wait);
    this.timer.unref?.();
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    if (this.watcher) clearInterval(this.watcher);
    this.controller.abort();
    await this.running?.catch(() => undefined);
    await Promise.all(this.resending.values());
  }

  /** Notifiers are served side by side (a slow one does not hold up the others); each one in order. */
  private async drain(): Promise<void> {
    for (;;) {
      if (this.closed) return;
      const notify = this.ctx.notifiers();
      this.changes.apply(notify);
      const now = this.now();
      for (const name of this.resends.takeDue(notify, now)) this.startResend(name);
      const rows = this.store.dueOutbox(now, 50);
      if (rows.length === 0) return;
      const lanes = new Map<string, OutboxRow[]>();
      for (const row of rows) lanes.set(row.notifier, [...(lanes.get(row.notifier) ?? []), row]);
      await Promise.all(
        [...lanes].map(async ([name, mine]) => {
          await this.resending.get(name);
          for (const row of mine) {
            if (this.closed) return;
            await this.deliver(row);
          }
        }),
      );
    }
  }

  /** Runs between the notifier's deliveries: none is in flight now (drains do not overlap). */
  private startResend(name: string): void {
    if (this.resending.has(name)) return;
    const done = this.resends
      .resend(name, this.ctx.notifiers())
      .catch((err) => this.log.error('re-sending to Alertmanager failed', { notifier: name, error: err }))
      .finally(() => this.resending.delete(name));
    this.resending.set(name, done);
  }

  private async deliver(row: OutboxRow): Promise<void> {
    const log = this.log.child({
      notifier: row.notifier,
      dedup_key: row.event.dedup_key,
      attempt: row.attempts + 1,
    });
    const config = notifiersByName(this.ctx.notifiers()).get(row.notifier);
    if (!config) {
      // notifier-changes.ts drops a removed notifier's rows; this one was due in the same instant.
      this.store.markFailed(row.id, this.now(), `not delivered: notifier ${row.notifier} is not in notify:`);
      log.warn(
        `dropped a pending ${row.event.status} notification of ${row.event.dedup_key}: notifier ${row.notifier} is not in notify:`,
      );
      return;
    }
    const rendered = renderNotification(
      config,
      row.event,
      { now_ms: this.now(), collector_url: this.ctx.collectorUrl() },
      this.ctx.env,
    );
    if (!rendered.ok) {
      this.store.markFailed(row.id, this.now(), rendered.error);
      log.error('notification failed', { error: rendered.error });
      return;
    }
    const answer = await send(rendered.request, {
      timeoutMs: this.policy.timeout_ms,
      signal: this.controller.signal,
    });
    if (this.closed && answer.status === null) return;
    const { status, problem } = answer;
    const now = this.now();
    if (answer.verdict === 'delivered') {
      this.store.markDelivered(row.id, now);
      log.info('notification delivered', { status: row.event.status, http_status: status });
      return;
    }
    if (answer.verdict === 'failed') {
      this.store.markFailed(row.id, now, `${problem} (not retried: the receiver refused the request)`);
      log.error('notification refused; not retrying', { error: problem });
      return;
    }
    if (now - row.created_ms >= this.policy.give_up_after_ms) {
      this.store.markFailed(row.id, now, `${problem} (gave up after ${row.attempts + 1} attempts)`);
      log.error('notification given up', { error: problem });
      return;
    }
    const hinted = status === 429 ? retryAfterMs(answer.retryAfter, now) : null;
    const wait =
      hinted !== null ? Math.min(hinted, this.policy.cap_ms) : backoffMs(row.attempts, this.policy);
    this.store.markRetry(row.id, now + wait, problem);
    log.warn('notification not delivered; will retry', { error: problem, retry_in_ms: wait });
  }
}
