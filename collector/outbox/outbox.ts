// The one durable delivery path for every notifier. Events are queued as outbox rows in SQLite in the
// same transaction that records them, so a restart loses nothing: pending rows are picked up again.
// Each row is rendered at delivery time (secrets come from the environment, never from the store)
// and sent with fetch; failures are retried with backoff, honouring Retry-After on 429.
// Delivery is at least once: a crash between a receiver's 2xx and the row's update resends it.
import type { NotifierConfig } from '../../shared/config/schema.ts';
import type { Logger } from '../../shared/log.ts';
import { notifierName, renderNotification } from '../notifiers/index.ts';
import type { OutboxRow, Store } from '../store/store.ts';
import { backoffMs, classify, type RetryPolicy, retryAfterMs } from './retry.ts';

export interface OutboxContext {
  notifiers(): NotifierConfig[];
  collectorUrl(): string | null;
  repeatIntervalMs(): number;
  /** Where secret_env and routing_key_env are read. */
  env: NodeJS.ProcessEnv;
}

export class Outbox {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private again = false;
  private closed = false;
  private readonly controller = new AbortController();

  constructor(
    private readonly store: Store,
    private readonly ctx: OutboxContext,
    private readonly policy: RetryPolicy,
    private readonly log: Logger,
    private readonly now: () => number = Date.now,
  ) {}

  /** Delivers whatever is due now, then sleeps until the next row is due. */
  wake(): void {
    if (this.closed) return;
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

  private schedule(): void {
    const due = this.store.nextOutboxDue();
    if (due === null) return;
    const wait = Math.min(Math.max(0, due - this.now()), 2 ** 31 - 1);
    this.timer = setTimeout(() => this.wake(), wait);
    this.timer.unref?.();
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.controller.abort();
    await this.running?.catch(() => undefined);
  }

  /** Notifiers are served side by side (a slow one does not hold up the others); each one in order. */
  private async drain(): Promise<void> {
    for (;;) {
      if (this.closed) return;
      const rows = this.store.dueOutbox(this.now(), 50);
      if (rows.length === 0) return;
      const byNotifier = new Map<string, OutboxRow[]>();
      for (const row of rows) byNotifier.set(row.notifier, [...(byNotifier.get(row.notifier) ?? []), row]);
      await Promise.all(
        [...byNotifier.values()].map(async (mine) => {
          for (const row of mine) {
            if (this.closed) return;
            await this.deliver(row);
          }
        }),
      );
    }
  }

  private async deliver(row: OutboxRow): Promise<void> {
    const log = this.log.child({
      notifier: row.notifier,
      dedup_key: row.event.dedup_key,
      attempt: row.attempts + 1,
    });
    const config = this.ctx.notifiers().find((n) => notifierName(n) === row.notifier);
    if (!config) {
      this.store.markFailed(
        row.id,
        this.now(),
        `notifier ${row.notifier} is no longer configured under notify:`,
      );
      log.warn('dropped a notification: its notifier is no longer configured');
      return;
    }
    const rendered = renderNotification(
      config,
      row.event,
      {
        now_ms: this.now(),
        collector_url: this.ctx.collectorUrl(),
        repeat_interval_ms: this.ctx.repeatIntervalMs(),
      },
      this.ctx.env,
    );
    if (!rendered.ok) {
      this.store.markFailed(row.id, this.now(), rendered.error);
      log.error('notification failed', { error: rendered.error });
      return;
    }
    const { url, headers, body } = rendered.request;
    let status: number | null = null;
    let retryAfter: string | null = null;
    let problem: string;
    try {
      const res = await fetch(url, {
        method: 'POST',
        headers,
        body,
        signal: AbortSignal.any([this.controller.signal, AbortSignal.timeout(this.policy.timeout_ms)]),
      });
      status = res.status;
      retryAfter = res.headers.get('retry-after');
      const text = (await res.text().catch(() => '')).slice(0, 300);
      problem = `HTTP ${res.status} from ${redact(url)}${text ? `: ${text}` : ''}`;
    } catch (err) {
      if (this.closed) return;
      const cause = (err as { cause?: { code?: string; message?: string } }).cause;
      problem = `POST ${redact(url)} failed: ${cause?.code ?? cause?.message ?? (err as Error).message}`;
    }
    const now = this.now();
    const verdict = status === null ? 'retry' : classify(status);
    if (verdict === 'delivered') {
      this.store.markDelivered(row.id, now);
      log.info('notification delivered', { status: row.event.status, http_status: status });
      return;
    }
    if (verdict === 'failed') {
      this.store.markFailed(row.id, now, `${problem} (not retried: the receiver refused the request)`);
      log.error('notification refused; not retrying', { error: problem });
      return;
    }
    if (now - row.created_ms >= this.policy.give_up_after_ms) {
      this.store.markFailed(row.id, now, `${problem} (gave up after ${row.attempts + 1} attempts)`);
      log.error('notification given up', { error: problem });
      return;
    }
    const hinted = status === 429 ? retryAfterMs(retryAfter, now) : null;
    const wait =
      hinted !== null ? Math.min(hinted, this.policy.cap_ms) : backoffMs(row.attempts, this.policy);
    this.store.markRetry(row.id, now + wait, problem);
    log.warn('notification not delivered; will retry', { error: problem, retry_in_ms: wait });
  }
}

/** Webhook URLs often carry their secret in the path (Slack, Teams): log only the origin. */
function redact(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return '<bad url>';
  }
}
