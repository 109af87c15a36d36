// The outbox's own questions to the store, beyond the due rows and their marks in store.ts: which
// alerts fire now, what a notifier has had (or will have) of each, and the moves made when the
// notifiers change (queue a firing, deliver pending rows now, drop a removed notifier's rows). They read
// the store's alert_state, alert_events and outbox tables; kept beside the rules that use them.
import type { AlertEvent } from '../alerts/event.ts';
import type { OutboxRow, Store } from '../store/store.ts';

/** An alert firing now, and the event that opened this firing (the first of its episode). */
export interface FiringAlert {
  dedup_key: string;
  opened: { seq: number; event: AlertEvent };
}

export function firingAlerts(store: Store): FiringAlert[] {
  const states = store.db
    .prepare(
      `SELECT dedup_key, json_extract(json, '$.fired_at_ms') AS fired_at_ms FROM alert_state
       WHERE json_extract(json, '$.status') = 'firing'`,
    )
    .all() as { dedup_key: string; fired_at_ms: number | null }[];
  const opening = store.db.prepare(
    `SELECT seq, json FROM alert_events
     WHERE time_ms >= ? AND dedup_key = ? AND json_extract(json, '$.status') = 'firing'
       AND json_extract(json, '$.fired_at_ms') = ?
     ORDER BY seq LIMIT 1`,
  );
  const out: FiringAlert[] = [];
  for (const s of states) {
    if (s.fired_at_ms === null) continue;
    const row = opening.get(s.fired_at_ms, s.dedup_key, s.fired_at_ms) as
      | { seq: number; json: string }
      | undefined;
    if (row) out.push({ dedup_key: s.dedup_key, opened: { seq: row.seq, event: JSON.parse(row.json) } });
  }
  return out;
}

/** The notifier's rows for this firing (its opening event and every later event of the alert). */
function episodeRows(store: Store, notifier: string, alert: FiringAlert) {
  return store.db
    .prepare(
      `SELECT o.status, e.json FROM alert_events e JOIN outbox o ON o.event_seq = e.seq
       WHERE e.seq >= ? AND e.dedup_key = ? AND o.notifier = ? ORDER BY e.seq`,
    )
    .all(alert.opened.seq, alert.dedup_key, notifier) as { status: OutboxRow['status']; json: string }[];
}

/**
 * Queues the alert's opening `firing` for the notifier unless it has had, or will have, a notification
 * of this firing (a row delivered or pending). A row for the same event that failed (refused, given
 * up, or dropped when its notifier was removed) is queued again. Returns whether it queued.
 */
export function queueFiring(store: Store, notifier: string, alert: FiringAlert, nowMs: number): boolean {
  if (episodeRows(store, notifier, alert).some((r) => r.status !== 'failed')) return false;
  store.db
    .prepare(
      `INSERT INTO outbox (event_seq, notifier, status, next_attempt_ms, created_ms)
       VALUES (?, ?, 'pending', ?, ?)
       ON CONFLICT (event_seq, notifier) DO UPDATE SET
         status = 'pending', next_attempt_ms = excluded.next_attempt_ms,
         created_ms = excluded.created_ms, done_ms = NULL`,
    )
    .run(alert.opened.seq, notifier, nowMs, nowMs);
  return true;
}

/**
 * What Alertmanager should hold for this alert: the latest firing event the notifier was delivered,
 * unless a notification of the alert is still pending for it (the outbox's retries send that one, in
 * order) or it never had one.
 */
export function resendable(store: Store, notifier: string, alert: FiringAlert): AlertEvent | null {
  const rows = episodeRows(store, notifier, alert);
  if (rows.some((r) => r.status === 'pending')) return null;
  const delivered = rows.filter((r) => r.status === 'delivered').at(-1);
  return delivered ? (JSON.parse(delivered.json) as AlertEvent) : null;
}

/** The notifier's pending rows are due now: its settings changed, so the backoff they earned is moot. */
export function dueNow(store: Store, notifier: string, nowMs: number): number {
  return store.db
    .prepare(
      `UPDATE outbox SET next_attempt_ms = ? WHERE notifier = ? AND status = 'pending' AND next_attempt_ms > ?`,
    )
    .run(nowMs, notifier, nowMs).changes;
}

/** Pending rows, of one notifier or of all. */
export function pendingRows(store: Store, notifier?: string): OutboxRow[] {
  const rows = store.db
    .prepare(
      `SELECT o.*, e.json AS event_json FROM outbox o JOIN alert_events e ON e.seq = o.event_seq
       WHERE o.status = 'pending' AND (? IS NULL OR o.notifier = ?) ORDER BY o.id`,
    )
    .all(notifier ?? null, notifier ?? null) as (Omit<OutboxRow, 'event'> & { event_json: string })[];
  return rows.map(({ event_json, ...r }) => ({ ...r, event: JSON.parse(event_json) as AlertEvent }));
}

/** Moves every row kept under `from` to `to` (a notifier's name before this version). */
export function renameRows(store: Store, from: string, to: string): number {
  return store.db.prepare('UPDATE OR IGNORE outbox SET notifier = ? WHERE notifier = ?').run(to, from)
    .changes;
}
