// Writing what one evaluation changed: alert states, new events (queued in the outbox for each
// notifier) and link status points, in one transaction. The statements are prepared once per database:
// evaluations run on every arrival.
import type Database from 'better-sqlite3';
import type { AlertEvent } from '../alerts/event.ts';
import type { LinkStatusPoint } from '../sinks/source.ts';

/** Everything one evaluation changes, written in one transaction. */
export interface EvaluationWrite<S> {
  states: { dedup_key: string; state: S | null }[];
  events: AlertEvent[];
  /** Notifier names each event is queued for (already filtered, e.g. by send_resolved). */
  notifiersFor: (event: AlertEvent) => readonly string[];
  linkStatus: LinkStatusPoint[];
  now_ms: number;
}

export class EvaluationWriter {
  private readonly upsertState: Database.Statement;
  private readonly deleteState: Database.Statement;
  private readonly insertEvent: Database.Statement;
  private readonly insertOutbox: Database.Statement;
  private readonly insertStatus: Database.Statement;
  private readonly db: Database.Database;

  constructor(db: Database.Database) {
    this.db = db;
    this.upsertState = db.prepare(
      'INSERT INTO alert_state (dedup_key, json) VALUES (?, ?) ON CONFLICT (dedup_key) DO UPDATE SET json = excluded.json',
    );
    this.deleteState = db.prepare('DELETE FROM alert_state WHERE dedup_key = ?');
    this.insertEvent = db.prepare('INSERT INTO alert_events (dedup_key, time_ms, json) VALUES (?, ?, ?)');
    this.insertOutbox = db.prepare(
      `INSERT INTO outbox (event_seq, notifier, status, next_attempt_ms, created_ms)
       VALUES (?, ?, 'pending', ?, ?) ON CONFLICT DO NOTHING`,
    );
    this.insertStatus = db.prepare('INSERT INTO link_status (time_ms, src, dst, json) VALUES (?, ?, ?, ?)');
  }

  /** Writes it all in one transaction; returns the new events' sequence numbers. */
  write<S>(w: EvaluationWrite<S>): number[] {
    return this.db.transaction(() => {
      for (const s of w.states) {
        if (s.state === null) this.deleteState.run(s.dedup_key);
        else this.upsertState.run(s.dedup_key, JSON.stringify(s.state));
      }
      const seqs: number[] = [];
      for (const e of w.events) {
        const seq = Number(this.insertEvent.run(e.dedup_key, e.time_ms, JSON.stringify(e)).lastInsertRowid);
        seqs.push(seq);
        for (const n of w.notifiersFor(e)) this.insertOutbox.run(seq, n, w.now_ms, w.now_ms);
      }
      for (const p of w.linkStatus) this.insertStatus.run(p.time_ms, p.src, p.dst, JSON.stringify(p));
      return seqs;
    })();
  }
}
