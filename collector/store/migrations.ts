// The store's schema, as an ordered list of migrations. A migration is applied once, in a transaction,
// and recorded in `migrations`; to change the schema, append a new entry (never edit an applied one).
import { QUALIFICATIONS_MIGRATION_SQL } from './qualifications.ts';
import { ROLLUP_MIGRATION_SQL } from './rollup.ts';
export interface Migration {
  version: number;
  description: string;
  sql: string;
}

export const MIGRATIONS: Migration[] = [
  {
    version: 1,
    description: 'results, batches, agents, alert state and events, link status, outbox, sink cursors',
    sql: `
      CREATE TABLE results (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        id TEXT NOT NULL UNIQUE,
        kind TEXT NOT NULL,
        src TEXT NOT NULL,
        dst TEXT NOT NULL,
        time_ms INTEGER NOT NULL,
        ok INTEGER NOT NULL,
        received_at_ms INTEGER NOT NULL,
        json TEXT NOT NULL
      );
      CREATE INDEX results_by_path ON results (kind, src, dst, time_ms);
      CREATE INDEX results_by_time ON results (time_ms);

      CREATE TABLE batches (
        batch_id TEXT PRIMARY KEY,
        site TEXT NOT NULL,
        received_at_ms INTEGER NOT NULL,
        results INTEGER NOT NULL,
        stored INTEGER NOT NULL
      );
      CREATE INDEX batches_by_time ON batches (received_at_ms);

      CREATE TABLE agents (
        site TEXT PRIMARY KEY,
        last_heartbeat_ms INTEGER NOT NULL,
        json TEXT NOT NULL
      );

      CREATE TABLE alert_state (
        dedup_key TEXT PRIMARY KEY,
        json TEXT NOT NULL
      );

      CREATE TABLE alert_events (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        dedup_key TEXT NOT NULL,
        time_ms INTEGER NOT NULL,
        json TEXT NOT NULL
      );
      CREATE INDEX alert_events_by_time ON alert_events (time_ms);

      CREATE TABLE link_status (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        time_ms INTEGER NOT NULL,
        src TEXT NOT NULL,
        dst TEXT NOT NULL,
        json TEXT NOT NULL
      );
      CREATE INDEX link_status_by_time ON link_status (time_ms);

      CREATE TABLE outbox (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        event_seq INTEGER NOT NULL REFERENCES alert_events (seq),
        notifier TEXT NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('pending', 'delivered', 'failed')),
        attempts INTEGER NOT NULL DEFAULT 0,
        next_attempt_ms INTEGER NOT NULL,
        created_ms INTEGER NOT NULL,
        done_ms INTEGER,
        last_error TEXT,
        UNIQUE (event_seq, notifier)
      );
      CREATE INDEX outbox_due ON outbox (status, next_attempt_ms);

      CREATE TABLE sink_cursors (
        sink TEXT NOT NULL,
        stream TEXT NOT NULL,
        seq INTEGER NOT NULL,
        PRIMARY KEY (sink, stream)
      );
    `,
  },
  {
    version: 2,
    description: 'heartbeat history (every heartbeat, for the sinks), pruned with the retention',
    sql: `
      CREATE TABLE heartbeats (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        site TEXT NOT NULL,
        received_at_ms INTEGER NOT NULL,
        json TEXT NOT NULL
      );
      CREATE INDEX heartbeats_by_time ON heartbeats (received_at_ms);
    `,
  },
  {
    version: 3,
    description: 'alerts per link: link subjects become {sites, worst}, events and states get directions',
    // States and events written when alerts were per direction keep their dedup key (a firing one is
    // resolved under it by the next evaluation), in the new shape so that every reader can render them.
    sql: ['alert_state', 'alert_events']
      .map(
        (table) => `
      UPDATE ${table} SET json = json_set(
        json_remove(json, '$.subject.src', '$.subject.dst'),
        '$.subject.sites', json(CASE
          WHEN json_extract(json, '$.subject.src') < json_extract(json, '$.subject.dst')
          THEN json_array(json_extract(json, '$.subject.src'), json_extract(json, '$.subject.dst'))
          ELSE json_array(json_extract(json, '$.subject.dst'), json_extract(json, '$.subject.src')) END),
        '$.subject.worst', json_object(
          'src', json_extract(json, '$.subject.src'), 'dst', json_extract(json, '$.subject.dst')),
        '$.directions', json('[]'))
      WHERE json_extract(json, '$.subject.kind') = 'link' AND json_extract(json, '$.subject.src') IS NOT NULL;
      UPDATE ${table} SET json = json_set(json, '$.directions', json('[]'))
      WHERE json_extract(json, '$.directions') IS NULL;`,
      )
      .join('\n'),
  },
  {
    version: 4,
    description: 'RTT rollup per link direction and 5-minute bucket, filled from the rounds stored',
    sql: ROLLUP_MIGRATION_SQL,
  },
  {
    version: 5,
    description: 'finished mesh qualifications, kept across restarts (the latest 20, within the retention)',
    sql: QUALIFICATIONS_MIGRATION_SQL,
  },
];
