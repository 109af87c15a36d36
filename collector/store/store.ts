// The collector's embedded store: one SQLite file (WAL mode) in the data directory. It holds every
// result (each stored once, by id; ingest.ts), the batches seen (so a resent batch is recognised), agent
// heartbeats (the latest per site, and every one received, for the sinks), alert state and events, link
// status points, the notification outbox and the sinks' cursors. Everything the collector must not
// forget across a restart lives here; the evaluator hears of stored results through onStored.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { Result, RttResult, ThroughputResult } from '../../shared/result.ts';
import type { Heartbeat, ResultBatch } from '../../shared/wire.ts';
import type { AlertEvent } from '../alerts/event.ts';
import type { LinkStatusPoint, SinkSource, SinkStream, Stored } from '../sinks/source.ts';
import { type EvaluationWrite, EvaluationWriter } from './evaluation-write.ts';
import { BatchWriter, type IngestOutcome, type StoredListener } from './ingest.ts';
import { MIGRATIONS } from './migrations.ts';
import { pruneQualifications } from './qualifications.ts';
import {
  earliestAfter,
  latestGoodput,
  latestRtt,
  pruneResults,
  resultsSince,
  rttResults,
  throughputResults,
} from './results.ts';
import { pruneRollup, rebuildRollup, registerRollupFunctions } from './rollup.ts';

export const DB_FILE = 'wanwatch.sqlite';

/** Creates the data directory (and its parents) if needed, saying what to do when it cannot. */
export function makeDataDir(dataDir: string): void {
  try {
    mkdirSync(dataDir, { recursive: true });
  } catch (err) {
    throw new Error(
      `cannot create the data directory ${dataDir}: ${(err as Error).message}; choose another with --data-dir`,
    );
  }
}

export type { EvaluationWrite } from './evaluation-write.ts';
export type { IngestOutcome, StoredListener };

export interface AgentRecord {
  site: string;
  last_heartbeat_ms: number;
  heartbeat: Heartbeat;
}

export interface OutboxRow {
  id: number;
  event_seq: number;
  notifier: string;
  status: 'pending' | 'delivered' | 'failed';
  attempts: number;
  next_attempt_ms: number;
  created_ms: number;
  done_ms: number | null;
  last_error: string | null;
  event: AlertEvent;
}

/** SQL condition: no earlier pending row for the same notifier and alert (dedup key). */
const UNBLOCKED = `NOT EXISTS (
  SELECT 1 FROM outbox p JOIN alert_events pe ON pe.seq = p.event_seq
  WHERE p.status = 'pending' AND p.notifier = o.notifier AND pe.dedup_key = e.dedup_key AND p.id < o.id)`;

interface ResultRow {
  seq: number;
  json: string;
}

export class Store implements SinkSource {
  readonly db: Database.Database;
  readonly path: string;
  private readonly listeners = new Set<StoredListener>();
  private readonly writer: BatchWriter;
  private evaluationWriter: EvaluationWriter | undefined;

  private constructor(path: string) {
    this.path = path;
    this.db = new Database(path);
    this.db.pragma('journal_mode = WAL');
    // FULL: every commit is on disk before it returns, so a batch the agent was told is stored (and so
    // deleted from its spool) survives a power loss; NORMAL could roll the last ones back. What it costs
    // is measured by bench/ingest.ts (docs/benchmarks.md).
    this.db.pragma('synchronous = FULL');
    this.db.pragma('foreign_keys = ON');
    this.db.pragma('busy_timeout = 5000');
    registerRollupFunctions(this.db);
    this.migrate();
    this.writer = new BatchWriter(this.db);
  }

  /** Opens (creating if needed) the store in `dataDir`. */
  static open(dataDir: string): Store {
    makeDataDir(dataDir);
    return new Store(join(dataDir, DB_FILE));
  }

  close(): void {
    if (this.db.open) this.db.close();
  }

  private migrate(): void {
    this.db.exec(
      'CREATE TABLE IF NOT EXISTS migrations (version INTEGER PRIMARY KEY, description TEXT NOT NULL, applied_at_ms INTEGER NOT NULL)',
    );
    const current = this.schemaVersion();
    const newest = MIGRATIONS[MIGRATIONS.length - 1]?.version ?? 0;
    if (current > newest) {
      throw new Error(
        `${this.path} has schema version ${current}, newer than this wanwatch knows (${newest}); upgrade wanwatch or use another --data-dir`,
      );
    }
    for (const m of MIGRATIONS) {
      if (m.version <= current) continue;
      this.db.transaction(() => {
        this.db.exec(m.sql);
        this.db
          .prepare('INSERT INTO migrations (version, description, applied_at_ms) VALUES (?, ?, ?)')
          .run(m.version, m.description, Date.now());
      })();
    }
  }

  schemaVersion(): number {
    const row = this.db.prepare('SELECT MAX(version) AS v FROM migrations').get() as { v: number | null };
    return row.v ?? 0;
  }

  // ---- ingest -------------------------------------------------------------------------------------

  /** Stores a batch's results once each; a batch id seen before stores nothing. */
  ingestBatch(batch: ResultBatch, nowMs: number): IngestOutcome {
    const fresh: Result[] = [];
    const outcome = this.writer.ingest(batch, nowMs, fresh);
    if (fresh.length > 0) for (const l of this.listeners) l(fresh);
    return outcome;
  }

  /** Calls `listener` with the results of every batch stored from now on; returns the unsubscribe. */
  onStored(listener: StoredListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  countResults(): number {
    return (this.db.prepare('SELECT COUNT(*) AS n FROM results').get() as { n: number }).n;
  }

  // Result queries live in results.ts; `toMs` / `atMs` default to no bound for tests and tools, the
  // alert rules always pass the evaluation's time.
  rttResults(src: string, dst: string, fromMs: number, toMs = Number.MAX_SAFE_INTEGER): RttResult[] {
    return rttResults(this.db, src, dst, fromMs, toMs);
  }

  latestRtt(src: string, dst: string, atMs = Number.MAX_SAFE_INTEGER): RttResult | undefined {
    return latestRtt(this.db, src, dst, atMs);
  }

  throughputResults(
    a: string,
    b: string,
    fromMs: number,
    toMs = Number.MAX_SAFE_INTEGER,
    limit = 20,
  ): ThroughputResult[] {
    return throughputResults(this.db, a, b, fromMs, toMs, limit);
  }

  latestGoodput(src: string, dst: string, atMs = Number.MAX_SAFE_INTEGER): ThroughputResult | undefined {
    return latestGoodput(this.db, src, dst, atMs);
  }

  earliestAfter = (a: string, b: string, atMs: number) => earliestAfter(this.db, a, b, atMs);
  /** The live state's start (evaluate/live.ts). */
  resultsSince = <K extends 'rtt' | 'throughput'>(kind: K, fromMs: number) =>
    resultsSince(this.db, kind, fromMs);

  // ---- agents -------------------------------------------------------------------------------------

  /** Records a heartbeat: the site's latest (for liveness) and one more row of history (for the sinks). */
  recordHeartbeat(hb: Heartbeat, nowMs: number): void {
    const json = JSON.stringify(hb);
    const latest = this.db.prepare(
      `INSERT INTO agents (site, last_heartbeat_ms, json) VALUES (?, ?, ?)
       ON CONFLICT (site) DO UPDATE SET last_heartbeat_ms = excluded.last_heartbeat_ms, json = excluded.json`,
    );
    const history = this.db.prepare('INSERT INTO heartbeats (site, received_at_ms, json) VALUES (?, ?, ?)');
    this.db.transaction(() => {
      latest.run(hb.site, nowMs, json);
      history.run(hb.site, nowMs, json);
    })();
  }

  /** Each site's latest heartbeat time, without parsing the heartbeats (read at every evaluation). */
  heartbeatTimes(): Map<string, number> {
    const rows = this.db.prepare('SELECT site, last_heartbeat_ms FROM agents').all() as {
      site: string;
      last_heartbeat_ms: number;
    }[];
    return new Map(rows.map((r) => [r.site, r.last_heartbeat_ms]));
  }

  agents(): AgentRecord[] {
    const rows = this.db.prepare('SELECT site, last_heartbeat_ms, json FROM agents ORDER BY site').all() as {
      site: string;
      last_heartbeat_ms: number;
      json: string;
    }[];
    return rows.map((r) => ({
      site: r.site,
      last_heartbeat_ms: r.last_heartbeat_ms,
      heartbeat: JSON.parse(r.json) as Heartbeat,
    }));
  }

  // ---- alerts -------------------------------------------------------------------------------------

  loadAlertStates<S>(): Map<string, S> {
    const rows = this.db.prepare('SELECT dedup_key, json FROM alert_state').all() as {
      dedup_key: string;
      json: string;
    }[];
    return new Map(rows.map((r) => [r.dedup_key, JSON.parse(r.json) as S]));
  }

  /** Persists an evaluation: changed states, new events (each queued for its notifiers), status points. */
  writeEvaluation<S>(w: EvaluationWrite<S>): number[] {
    this.evaluationWriter ??= new EvaluationWriter(this.db);
    return this.evaluationWriter.write(w);
  }

  recentAlertEvents(limit: number): Stored<AlertEvent>[] {
    const rows = this.db
      .prepare('SELECT seq, json FROM alert_events ORDER BY seq DESC LIMIT ?')
      .all(limit) as ResultRow[];
    return rows.map((r) => ({ seq: r.seq, value: JSON.parse(r.json) as AlertEvent }));
  }

  // ---- outbox -------------------------------------------------------------------------------------

  /**
   * Pending deliveries that are due, oldest first. A row waits while an earlier row for the same
   * notifier and alert is still pending, so a receiver never sees `resolved` before its `firing`.
   */
  dueOutbox(nowMs: number, limit: number): OutboxRow[] {
    const rows = this.db
      .prepare(
        `SELECT o.*, e.json AS event_json FROM outbox o JOIN alert_events e ON e.seq = o.event_seq
         WHERE o.status = 'pending' AND o.next_attempt_ms <= ? AND ${UNBLOCKED}
         ORDER BY o.next_attempt_ms, o.id LIMIT ?`,
      )
      .all(nowMs, limit) as (Omit<OutboxRow, 'event'> & { event_json: string })[];
    return rows.map(({ event_json, ...r }) => ({ ...r, event: JSON.parse(event_json) as AlertEvent }));
  }

  /** When the next deliverable row is due, or null when none is pending. */
  nextOutboxDue(): number | null {
    const row = this.db
      .prepare(
        `SELECT MIN(o.next_attempt_ms) AS t FROM outbox o JOIN alert_events e ON e.seq = o.event_seq
         WHERE o.status = 'pending' AND ${UNBLOCKED}`,
      )
      .get() as { t: number | null };
    return row.t;
  }

  outboxRows(): OutboxRow[] {
    const rows = this.db
      .prepare(
        'SELECT o.*, e.json AS event_json FROM outbox o JOIN alert_events e ON e.seq = o.event_seq ORDER BY o.id',
      )
      .all() as (Omit<OutboxRow, 'event'> & { event_json: string })[];
    return rows.map(({ event_json, ...r }) => ({ ...r, event: JSON.parse(event_json) as AlertEvent }));
  }

  markDelivered(id: number, nowMs: number): void {
    this.db
      .prepare(
        "UPDATE outbox SET status = 'delivered', attempts = attempts + 1, done_ms = ?, last_error = NULL WHERE id = ?",
      )
      .run(nowMs, id);
  }

  markRetry(id: number, nextAttemptMs: number, error: string): void {
    this.db
      .prepare('UPDATE outbox SET attempts = attempts + 1, next_attempt_ms = ?, last_error = ? WHERE id = ?')
      .run(nextAttemptMs, error, id);
  }

  markFailed(id: number, nowMs: number, error: string): void {
    this.db
      .prepare(
        "UPDATE outbox SET status = 'failed', attempts = attempts + 1, done_ms = ?, last_error = ? WHERE id = ?",
      )
      .run(nowMs, error, id);
  }

  // ---- retention ----------------------------------------------------------------------------------

  /**
   * Deletes results, batch ids, link status points and heartbeat history older than the retention, and
   * finished outbox rows and qualifications older than the retention. Results dated in the future go
   * once they arrived longer ago than the retention; `future` counts those still ahead of `nowMs`.
   */
  prune(
    nowMs: number,
    retentionMs: number,
  ): { results: number; batches: number; link_status: number; heartbeats: number; future: number } {
    const cutoff = nowMs - retentionMs;
    return this.db.transaction(() => {
      const { results, future } = pruneResults(this.db, nowMs, cutoff);
      // The RTT rollup follows: the bucket the cutoff cuts and those of rounds dated ahead, recomputed.
      pruneRollup(this.db, cutoff);
      if (results > 0) rebuildRollup(this.db, nowMs, Number.MAX_SAFE_INTEGER);
      const batches = this.db.prepare('DELETE FROM batches WHERE received_at_ms < ?').run(cutoff).changes;
      const link_status = this.db.prepare('DELETE FROM link_status WHERE time_ms < ?').run(cutoff).changes;
      const heartbeats = this.db
        .prepare('DELETE FROM heartbeats WHERE received_at_ms < ?')
        .run(cutoff).changes;
      this.db.prepare("DELETE FROM outbox WHERE status != 'pending' AND done_ms < ?").run(cutoff);
      pruneQualifications(this.db, cutoff);
      return { results, batches, link_status, heartbeats, future };
    })();
  }

  // ---- SinkSource ---------------------------------------------------------------------------------

  resultsAfter(seq: number, limit: number): Stored<Result>[] {
    return this.rowsAfter<Result>('results', seq, limit);
  }

  alertEventsAfter(seq: number, limit: number): Stored<AlertEvent>[] {
    return this.rowsAfter<AlertEvent>('alert_events', seq, limit);
  }

  linkStatusAfter(seq: number, limit: number): Stored<LinkStatusPoint>[] {
    return this.rowsAfter<LinkStatusPoint>('link_status', seq, limit);
  }

  agentHeartbeatsAfter(seq: number, limit: number): Stored<Heartbeat>[] {
    return this.rowsAfter<Heartbeat>('heartbeats', seq, limit);
  }

  private rowsAfter<T>(
    table: 'results' | 'alert_events' | 'link_status' | 'heartbeats',
    seq: number,
    limit: number,
  ): Stored<T>[] {
    const rows = this.db
      .prepare(`SELECT seq, json FROM ${table} WHERE seq > ? ORDER BY seq LIMIT ?`)
      .all(seq, limit) as ResultRow[];
    return rows.map((r) => ({ seq: r.seq, value: JSON.parse(r.json) as T }));
  }

  getCursor(sink: string, stream: SinkStream): number {
    const row = this.db
      .prepare('SELECT seq FROM sink_cursors WHERE sink = ? AND stream = ?')
      .get(sink, stream) as { seq: number } | undefined;
    return row?.seq ?? 0;
  }

  setCursor(sink: string, stream: SinkStream, seq: number): void {
    this.db
      .prepare(
        'INSERT INTO sink_cursors (sink, stream, seq) VALUES (?, ?, ?) ON CONFLICT (sink, stream) DO UPDATE SET seq = excluded.seq',
      )
      .run(sink, stream, seq);
  }
}
