import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { AlertEvent } from '../../../collector/alerts/event.ts';
import type { StoredAlertState } from '../../../collector/alerts/rules.ts';
import { Evaluator } from '../../../collector/evaluate/evaluator.ts';
import { notifierName, renderNotification } from '../../../collector/notifiers/index.ts';
import { MIGRATIONS } from '../../../collector/store/migrations.ts';
import { DB_FILE, Store } from '../../../collector/store/store.ts';
import { parseTopology } from '../../../shared/config/load.ts';
import { deriveLinks } from '../../../shared/topology/requirements.ts';
import { WANWATCH_VERSION } from '../../../shared/version.ts';
import { batch, rttResult, throughputResult } from '../../../testbed/results.ts';
import { twoSites } from '../../../testbed/topologies.ts';

const NEWEST = MIGRATIONS[MIGRATIONS.length - 1]?.version;

let dir: string;
let store: Store;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'wanwatch-store-'));
  store = Store.open(dir);
});
afterEach(() => {
  store.close();
  rmSync(dir, { recursive: true, force: true });
});

const event = (time_ms: number): AlertEvent => ({
  dedup_key: 'wanwatch/rtt_high/a--b',
  rule: 'rtt_high',
  status: 'firing',
  reminder: false,
  severity: 'warning',
  subject: { kind: 'link', sites: ['a', 'b'], worst: { src: 'a', dst: 'b' } },
  started_at_ms: time_ms - 60_000,
  fired_at_ms: time_ms,
  resolved_at_ms: null,
  time_ms,
  observed: 90,
  threshold: 80,
  unit: 'ms',
  directions: [
    { src: 'a', dst: 'b', breach: true, observed: 90 },
    { src: 'b', dst: 'a', breach: null, observed: null },
  ],
  summary: 'p95 RTT 90 ms > 80 ms on a ↔ b (a → b 90 ms)',
  link: null,
});

describe('the SQLite store', () => {
  it('runs in WAL mode with a versioned schema that reopens without migrating twice', () => {
    expect(store.db.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(store.schemaVersion()).toBe(NEWEST);
    store.close();
    store = Store.open(dir);
    expect(store.schemaVersion()).toBe(NEWEST);
    expect(store.db.prepare('SELECT COUNT(*) AS n FROM migrations').get()).toEqual({ n: MIGRATIONS.length });
  });

  it('stores a resent batch once, and a result id seen in another batch once', () => {
    const r1 = rttResult('a', 'b', 1000, [10, 11]);
    const r2 = rttResult('a', 'b', 2000, [12, null]);
    const b = batch('a', [r1, r2]);
    expect(store.ingestBatch(b, 5000)).toEqual({ stored: 2, duplicates: 0, resent: false });
    expect(store.ingestBatch(b, 6000)).toEqual({ stored: 0, duplicates: 2, resent: true });
    const again = batch('a', [r2, rttResult('a', 'b', 3000, [13])]);
    expect(store.ingestBatch(again, 7000)).toEqual({ stored: 1, duplicates: 1, resent: false });
    expect(store.countResults()).toBe(3);
    expect(store.rttResults('a', 'b', 1500).map((r) => r.time_ms)).toEqual([2000, 3000]);
    expect(store.latestRtt('a', 'b')?.time_ms).toBe(3000);
    expect(store.rttResults('b', 'a', 0)).toEqual([]);
  });

  it('serves results, alert events and link status to sinks in seq order, with cursors', () => {
    store.ingestBatch(
      batch('a', [rttResult('a', 'b', 1000, [10]), throughputResult('a', 'b', 2000, 9e6)]),
      3000,
    );
    const all = store.resultsAfter(0, 10);
    expect(all.map((s) => s.value.kind)).toEqual(['rtt', 'throughput']);
    expect(store.resultsAfter(all[0]!.seq, 10).map((s) => s.seq)).toEqual([all[1]!.seq]);
    expect(store.throughputResults('b', 'a', 0)).toHaveLength(1);

    store.writeEvaluation({
      states: [{ dedup_key: 'k', state: { status: 'firing' } }],
      events: [event(4000)],
      notifiersFor: () => ['webhook:x'],
      linkStatus: [
        {
          time_ms: 4000,
          src: 'a',
          dst: 'b',
          state: 'firing',
          rtt_ms: 90,
          rtt_statistic: 'p95',
          loss_percent: 0,
          goodput_bps: 9e6,
          required_bps: 5e6,
          max_rtt_ms: 80,
        },
      ],
      now_ms: 4000,
    });
    expect(store.alertEventsAfter(0, 10).map((s) => s.value.dedup_key)).toEqual(['wanwatch/rtt_high/a--b']);
    expect(store.linkStatusAfter(0, 10).map((s) => s.value.state)).toEqual(['firing']);
    expect(store.loadAlertStates().get('k')).toEqual({ status: 'firing' });
    expect(store.dueOutbox(4000, 10).map((o) => o.notifier)).toEqual(['webhook:x']);

    expect(store.getCursor('influx', 'results')).toBe(0);
    store.setCursor('influx', 'results', 7);
    store.setCursor('influx', 'results', 9);
    expect(store.getCursor('influx', 'results')).toBe(9);
    expect(store.getCursor('influx', 'alert_events')).toBe(0);
  });

  it('prunes results and batch ids older than the retention', () => {
    const day = 86_400_000;
    store.ingestBatch(batch('a', [rttResult('a', 'b', 1 * day, [10])]), 1 * day);
    store.ingestBatch(batch('a', [rttResult('a', 'b', 20 * day, [10])]), 20 * day);
    const pruned = store.prune(31 * day + 1, 30 * day);
    expect(pruned).toMatchObject({ results: 1, batches: 1 });
    expect(store.resultsAfter(0, 10).map((s) => s.value.time_ms)).toEqual([20 * day]);
  });

  it('prunes results dated in the future once they arrived longer ago than the retention, and counts those left', () => {
    const day = 86_400_000;
    // An agent whose clock ran a year ahead, on day 1; one a minute ahead, on day 31.
    store.ingestBatch(batch('a', [rttResult('a', 'b', 366 * day, [10])]), 1 * day);
    store.ingestBatch(batch('a', [rttResult('a', 'b', 31 * day + 60_000, [10])]), 31 * day);
    expect(store.prune(20 * day, 30 * day)).toMatchObject({ results: 0, future: 2 });
    expect(store.prune(31 * day + 1, 30 * day)).toMatchObject({ results: 1, future: 1 });
    expect(store.resultsAfter(0, 10).map((s) => s.value.time_ms)).toEqual([31 * day + 60_000]);
  });

  it('answers the rules only with results dated at or before the time they ask for', () => {
    store.ingestBatch(
      batch('a', [
        rttResult('a', 'b', 1000, [10]),
        rttResult('a', 'b', 2000, [20]),
        rttResult('a', 'b', 9_000_000, [30]),
        throughputResult('a', 'b', 1500, 5e6),
        throughputResult('a', 'b', 9_000_000, 9e6),
      ]),
      3000,
    );
    expect(store.rttResults('a', 'b', 0, 3000).map((r) => r.time_ms)).toEqual([1000, 2000]);
    expect(store.latestRtt('a', 'b', 3000)?.time_ms).toBe(2000);
    expect(store.latestRtt('a', 'b', 1999)?.time_ms).toBe(1000);
    expect(store.throughputResults('a', 'b', 0, 3000).map((r) => r.time_ms)).toEqual([1500]);
    expect(store.latestGoodput('a', 'b', 3000)?.throughput?.goodput_bps).toBe(5e6);
    expect(store.latestGoodput('b', 'a', 3000)).toBeUndefined();
    // Without a bound (tools, tests), everything.
    expect(store.latestRtt('a', 'b')?.time_ms).toBe(9_000_000);
  });

  it('keeps every heartbeat, in the order received, for the sinks, and prunes those older than the retention', () => {
    const day = 86_400_000;
    const hb = (site: string, time_ms: number, spool_queued: number) => ({
      site,
      version: WANWATCH_VERSION,
      time_ms,
      started_at_ms: 0,
      plan_version: null,
      spool_queued,
      spool_dropped: 0,
      errors: 0,
    });
    store.recordHeartbeat(hb('a', 1 * day, 1), 1 * day);
    store.recordHeartbeat(hb('b', 20 * day, 2), 20 * day);
    store.recordHeartbeat(hb('a', 21 * day, 3), 21 * day);
    const all = store.agentHeartbeatsAfter(0, 10);
    expect(all.map((s) => [s.value.site, s.value.spool_queued])).toEqual([
      ['a', 1],
      ['b', 2],
      ['a', 3],
    ]);
    expect(store.agentHeartbeatsAfter(all[0]!.seq, 1).map((s) => s.value.spool_queued)).toEqual([2]);
    // The latest per site is what liveness reads.
    expect(store.agents().map((a) => [a.site, a.heartbeat.spool_queued])).toEqual([
      ['a', 3],
      ['b', 2],
    ]);
    expect(store.prune(31 * day + 1, 30 * day)).toMatchObject({ heartbeats: 1 });
    expect(store.agentHeartbeatsAfter(0, 10).map((s) => s.value.spool_queued)).toEqual([2, 3]);
  });
});

describe('a store written when alerts were per direction', () => {
  // What a collector that alerted per direction left behind: schema version 2, a firing rtt_high on
  // b->a (state and event, the event not yet delivered) and an ok state on a->b.
  function legacyStore(dataDir: string): void {
    const db = new Database(join(dataDir, DB_FILE));
    db.exec(
      'CREATE TABLE migrations (version INTEGER PRIMARY KEY, description TEXT NOT NULL, applied_at_ms INTEGER NOT NULL)',
    );
    for (const m of MIGRATIONS.filter((x) => x.version <= 2)) {
      db.exec(m.sql);
      db.prepare('INSERT INTO migrations VALUES (?, ?, ?)').run(m.version, m.description, 0);
    }
    const state = (status: string) => ({
      status,
      since_ms: 1000,
      fired_at_ms: status === 'firing' ? 61_000 : null,
      last_notified_ms: status === 'firing' ? 61_000 : null,
      clear_since_ms: null,
      resolved_at_ms: null,
      observed: 90,
      threshold: 80,
      rule: 'rtt_high',
      subject: { kind: 'link', src: 'b', dst: 'a' },
      link: null,
    });
    db.prepare('INSERT INTO alert_state VALUES (?, ?)').run(
      'wanwatch/rtt_high/b->a',
      JSON.stringify(state('firing')),
    );
    db.prepare('INSERT INTO alert_state VALUES (?, ?)').run(
      'wanwatch/rtt_high/a->b',
      JSON.stringify({ ...state('ok'), subject: { kind: 'link', src: 'a', dst: 'b' } }),
    );
    const { link: _, ...rest } = state('firing');
    const event = {
      ...rest,
      dedup_key: 'wanwatch/rtt_high/b->a',
      status: 'firing',
      reminder: false,
      severity: 'warning',
      started_at_ms: 1000,
      resolved_at_ms: null,
      time_ms: 61_000,
      unit: 'ms',
      summary: 'p95 RTT 90 ms > 80 ms on b → a',
      link: null,
    };
    db.prepare('INSERT INTO alert_events (dedup_key, time_ms, json) VALUES (?, ?, ?)').run(
      event.dedup_key,
      61_000,
      JSON.stringify(event),
    );
    db.prepare(
      "INSERT INTO outbox (event_seq, notifier, status, attempts, next_attempt_ms, created_ms) VALUES (1, 'webhook:x', 'pending', 0, 61000, 61000)",
    ).run();
    db.close();
  }

  beforeEach(() => {
    store.close();
    rmSync(dir, { recursive: true, force: true });
    dir = mkdtempSync(join(tmpdir(), 'wanwatch-store-'));
    legacyStore(dir);
    store = Store.open(dir);
  });

  it('opens: its states and events take the per-link shape, keeping their old dedup keys', () => {
    expect(store.schemaVersion()).toBe(NEWEST);
    const states = store.loadAlertStates<StoredAlertState>();
    expect(states.get('wanwatch/rtt_high/b->a')).toMatchObject({
      status: 'firing',
      subject: { kind: 'link', sites: ['a', 'b'], worst: { src: 'b', dst: 'a' } },
      directions: [],
    });
    const [row] = store.outboxRows();
    expect(row?.event).toMatchObject({
      dedup_key: 'wanwatch/rtt_high/b->a',
      subject: { kind: 'link', sites: ['a', 'b'], worst: { src: 'b', dst: 'a' } },
      directions: [],
    });
    // The undelivered event still renders for every notifier.
    for (const n of [
      { type: 'webhook' as const, url: 'http://127.0.0.1:9/hook' },
      { type: 'slack' as const, url: 'http://127.0.0.1:9/slack' },
      { type: 'teams' as const, url: 'http://127.0.0.1:9/teams' },
      { type: 'alertmanager' as const, url: 'http://127.0.0.1:9' },
    ]) {
      const out = renderNotification(n, row!.event, {
        now_ms: 62_000,
        collector_url: null,
      });
      expect(out.ok).toBe(true);
    }
  });

  it('is evaluated without error: the old firing key resolves under its own key, the old ok key is forgotten', () => {
    const topology = parseTopology(
      twoSites({ notify: '  - {type: webhook, url: "http://127.0.0.1:9/hook"}' }),
    );
    const now = Date.now();
    store.ingestBatch(batch('b', [rttResult('b', 'a', now - 1000, [90, 91, 92])]), now);
    const evaluator = new Evaluator(store, now - 60_000);
    const events = evaluator.evaluate(
      { topology, links: deriveLinks(topology), notifiers: topology.notify.map(notifierName) },
      now,
    );
    expect(events.map((e) => [e.dedup_key, e.status, e.summary])).toEqual([
      [
        'wanwatch/rtt_high/b->a',
        'resolved',
        'p95 RTT 90 ms ≤ 80 ms on a ↔ b (now alerted per link as wanwatch/rtt_high/a--b)',
      ],
    ]);
    expect([...evaluator.alertStates().keys()].filter((k) => k.includes('->'))).toEqual([]);
    expect(evaluator.alertStates().get('wanwatch/rtt_high/a--b')?.status).toBe('pending');
    expect(store.outboxRows().map((o) => [o.event.dedup_key, o.event.status])).toEqual([
      ['wanwatch/rtt_high/b->a', 'firing'],
      ['wanwatch/rtt_high/b->a', 'resolved'],
    ]);
  });
});
