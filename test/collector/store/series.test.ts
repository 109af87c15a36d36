// The series behind the console's charts: a month of rounds arrives as at most 1,000 buckets that keep
// the spread (a single spike stays the bucket's max), percentiles are the rounds' medians' nearest rank,
// and results stored after a first request (an agent's spool emptying late) change the next reply.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MIGRATIONS } from '../../../collector/store/migrations.ts';
import {
  BUCKET_WIDTHS_MS,
  bucketWidth,
  SeriesBusyError,
  SeriesCache,
} from '../../../collector/store/series.ts';
import { DB_FILE, Store } from '../../../collector/store/store.ts';
import type { Result } from '../../../shared/result.ts';
import { batch, rttResult, throughputResult } from '../../../testbed/results.ts';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
// A round hour, so that buckets of every width start at `T0`.
const T0 = Date.UTC(2026, 9, 1);

let dir: string;
let store: Store;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'wanwatch-series-'));
  store = Store.open(dir);
});
afterEach(() => {
  store.close();
  rmSync(dir, { recursive: true, force: true });
});

function ingest(results: Result[]): void {
  for (let i = 0; i < results.length; i += 5000)
    store.ingestBatch(batch('a', results.slice(i, i + 5000)), T0);
}

describe('link series', () => {
  it('cuts 30 days of rounds into at most 1,000 buckets and keeps a single spike as the max', async () => {
    store.db.pragma('synchronous = OFF'); // seeding only
    const rounds: Result[] = [];
    for (let t = T0; t < T0 + 30 * DAY; t += 60_000) rounds.push(rttResult('a', 'b', t, [20, 21, 22]));
    const spikeAt = T0 + 17 * DAY + 5 * HOUR + 120_000;
    rounds.push(rttResult('a', 'b', spikeAt + 1, [20, 480, 22]));
    ingest(rounds);
    const s = await new SeriesCache(store.db).series({
      src: 'a',
      dst: 'b',
      fromMs: T0,
      toMs: T0 + 30 * DAY,
      points: 1000,
    });
    expect(s.rtt.time_ms.length).toBeLessThanOrEqual(1000);
    expect(s.rtt.time_ms.length).toBeGreaterThan(500);
    expect(s.bucket_ms).toBe(HOUR);
    const i = s.rtt.time_ms.indexOf(T0 + 17 * DAY + 5 * HOUR);
    expect(s.rtt.max_ms[i]).toBe(480);
    expect(s.rtt.median_ms[i]).toBe(21);
    expect(Math.max(...s.rtt.max_ms.filter((_v, j) => j !== i).map((v) => v ?? 0))).toBe(22);
    expect(s.rtt.rounds[i]).toBe(61);
    expect(JSON.stringify(s).length).toBeLessThan(100_000);
  });

  it('gives nearest-rank p5, median and p95 of the rounds’ medians, loss over probes sent, and not-measured rounds apart', async () => {
    const rounds: Result[] = [];
    // 100 rounds in one 5-minute bucket, medians 1..100, shuffled in time.
    const medians = Array.from({ length: 100 }, (_, i) => i + 1).sort(
      (x, y) => ((x * 37) % 101) - ((y * 37) % 101),
    );
    for (const [i, m] of medians.entries()) rounds.push(rttResult('a', 'b', T0 + i * 1000, [m]));
    rounds.push(rttResult('a', 'b', T0 + 200_000, [null])); // one probe lost: loss counts it
    const noPrivilege = rttResult('a', 'b', T0 + 201_000, [5]);
    rounds.push({
      ...noPrivilege,
      rtt: null,
      error: { code: 'permission_denied', message: 'no raw socket' },
    });
    ingest(rounds);
    const s = await new SeriesCache(store.db).series({
      src: 'a',
      dst: 'b',
      fromMs: T0,
      toMs: T0 + 6 * HOUR,
      points: 100,
    });
    expect(s.bucket_ms).toBe(300_000);
    expect(s.rtt.time_ms).toEqual([T0]);
    expect([s.rtt.p5_ms[0], s.rtt.median_ms[0], s.rtt.p95_ms[0]]).toEqual([5, 50, 95]);
    expect([s.rtt.min_ms[0], s.rtt.max_ms[0]]).toEqual([1, 100]);
    expect(s.rtt.rounds[0]).toBe(102);
    expect(s.rtt.not_measured[0]).toBe(1);
    expect(s.rtt.loss_percent[0]).toBe(1); // 1 of 101 probes, rounded to 0.1
  });

  it('counts a reverse test from the far end as goodput in this direction, and only that', async () => {
    ingest([
      throughputResult('a', 'b', T0 + 1000, 9e6, 'forward'),
      throughputResult('b', 'a', T0 + 2000, 7e6, 'reverse'),
      throughputResult('b', 'a', T0 + 3000, 3e6, 'forward'), // b → a: not this direction
    ]);
    const s = await new SeriesCache(store.db).series({
      src: 'a',
      dst: 'b',
      fromMs: T0,
      toMs: T0 + HOUR,
      points: 10,
    });
    expect(s.throughput.tests).toEqual([2]);
    expect([s.throughput.min_bps[0], s.throughput.max_bps[0], s.throughput.mean_bps[0]]).toEqual([
      7e6, 9e6, 8e6,
    ]);
  });

  it('answers the next request with results stored since, even in buckets it had already computed', async () => {
    ingest([rttResult('a', 'b', T0 + 1000, [10])]);
    const cache = new SeriesCache(store.db);
    const q = { src: 'a', dst: 'b', fromMs: T0, toMs: T0 + DAY, points: 500 };
    expect((await cache.series(q)).rtt.max_ms).toEqual([10]);
    ingest([rttResult('a', 'b', T0 + 2000, [90]), rttResult('a', 'b', T0 + 20 * HOUR, [30])]);
    const again = await cache.series(q);
    expect(again.rtt.max_ms).toEqual([90, 30]);
    expect(again.rtt.rounds).toEqual([2, 1]);
  });

  it('keeps one range behind a range that moves along, not every bucket it ever showed', async () => {
    const cache = new SeriesCache(store.db);
    ingest([rttResult('a', 'b', T0 + 1000, [10]), rttResult('a', 'b', T0 + 5 * HOUR, [50])]);
    const at = (h: number) => ({
      src: 'a',
      dst: 'b',
      fromMs: T0 + h * HOUR,
      toMs: T0 + (h + 1) * HOUR,
      points: 400,
    });
    expect((await cache.series(at(0))).rtt.max_ms).toEqual([10]);
    for (let h = 1; h <= 5; h++) await cache.series(at(h));
    // The hour of T0 was dropped on the way; asked again, it is read again, the same.
    expect((await cache.series(at(5))).rtt.max_ms).toEqual([50]);
    expect((await cache.series(at(0))).rtt.max_ms).toEqual([10]);
  });

  it('lists the link’s alert events in the range, whichever direction the request names', async () => {
    const ev = (key: string, t: number, status: string) =>
      store.db
        .prepare('INSERT INTO alert_events (dedup_key, time_ms, json) VALUES (?, ?, ?)')
        .run(key, t, JSON.stringify({ rule: 'rtt_high', status, summary: `${key} ${status}` }));
    ev('wanwatch/rtt_high/a--b', T0 + 1000, 'firing');
    ev('wanwatch/rtt_high/a--bb', T0 + 1000, 'firing');
    ev('wanwatch/rtt_high/a--b', T0 + 2 * HOUR, 'resolved');
    const s = await new SeriesCache(store.db).series({
      src: 'b',
      dst: 'a',
      fromMs: T0,
      toMs: T0 + HOUR,
      points: 60,
    });
    expect(s.alerts).toEqual([
      { time_ms: T0 + 1000, rule: 'rtt_high', status: 'firing', summary: 'wanwatch/rtt_high/a--b firing' },
    ]);
  });

  it('computes long series one at a time and refuses more than a few waiting, answering them afterwards', async () => {
    const cache = new SeriesCache(store.db);
    const month = (src: string) => ({ src, dst: 'z', fromMs: T0, toMs: T0 + 30 * DAY, points: 1000 });
    const asked = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'].map((src) => cache.series(month(src)));
    const settled = await Promise.allSettled(asked);
    const refused = settled.filter((r) => r.status === 'rejected');
    expect(settled.filter((r) => r.status === 'fulfilled')).toHaveLength(4);
    expect(refused).toHaveLength(4);
    for (const r of refused) expect((r as PromiseRejectedResult).reason).toBeInstanceOf(SeriesBusyError);
    // Once they are done, the next is answered; a short range never waits.
    await expect(cache.series(month('h'))).resolves.toMatchObject({ bucket_ms: HOUR });
    await expect(cache.series({ ...month('i'), fromMs: T0 + 29 * DAY })).resolves.toMatchObject({ src: 'i' });
  });

  it('picks the narrowest round bucket width that fits the points asked for', () => {
    expect(bucketWidth(T0, T0 + HOUR, 1000)).toBe(10_000);
    expect(bucketWidth(T0, T0 + 7 * DAY, 1000)).toBe(900_000);
    expect(bucketWidth(T0, T0 + 30 * DAY, 1000)).toBe(HOUR);
    expect(BUCKET_WIDTHS_MS).toContain(bucketWidth(T0 + 123, T0 + 6 * HOUR + 77, 600));
  });
});

describe('RTT rollup', () => {
  // Rounds of every kind a store holds: integer and fractional medians, lost probes, rounds lost
  // entirely, rounds that could not run, some with jitter; out of order, some stored twice.
  function mixedRounds(fromMs: number, toMs: number, seed: number): Result[] {
    let x = seed;
    const rnd = () => {
      x = (x * 1103515245 + 12345) % 2147483648;
      return x / 2147483648;
    };
    const out: Result[] = [];
    for (let t = fromMs; t < toMs; t += 7_000 + Math.floor(rnd() * 20_000)) {
      const k = rnd();
      const samples = Array.from({ length: 5 }, () =>
        rnd() < 0.05 ? null : k < 0.5 ? Math.floor(10 + rnd() * 40) : 10 + rnd() * 40,
      );
      const r = rttResult('a', 'b', t, k < 0.02 ? [null, null] : samples);
      if (k > 0.98)
        out.push({ ...r, rtt: null, error: { code: 'permission_denied', message: 'no raw socket' } });
      else if (k > 0.7 && r.rtt) out.push({ ...r, rtt: { ...r.rtt, jitter_ms: rnd() * 5 } });
      else out.push(r);
    }
    return out.reverse();
  }

  const ranges = [
    { fromMs: T0, toMs: T0 + 30 * DAY, points: 1000 },
    { fromMs: T0 + 3 * DAY + 17 * 60_000, toMs: T0 + 10 * DAY, points: 1000 },
    { fromMs: T0 + 2 * DAY, toMs: T0 + 4 * DAY, points: 500 },
  ];

  it('gives the same buckets as the rounds themselves for the same range, at every width over 5 minutes', async () => {
    store.db.pragma('synchronous = OFF'); // seeding only
    const rounds = mixedRounds(T0, T0 + 12 * DAY, 7);
    ingest(rounds);
    ingest(rounds.slice(0, 50)); // stored again under new batch ids: counted once
    for (const q of ranges) {
      const viaRollup = await new SeriesCache(store.db).series({ src: 'a', dst: 'b', ...q });
      const viaRounds = await new SeriesCache(store.db, { rollup: false }).series({
        src: 'a',
        dst: 'b',
        ...q,
      });
      expect(viaRollup.bucket_ms % 300_000).toBe(0);
      expect(viaRollup.rtt.time_ms.length).toBeGreaterThan(10);
      const { jitter_ms: j1, ...rest1 } = viaRollup.rtt;
      const { jitter_ms: j2, ...rest2 } = viaRounds.rtt;
      expect(rest1).toEqual(rest2);
      // The mean jitter is a sum divided once instead of SQL's running average: equal to the rounding.
      expect(j1.length).toBe(j2.length);
      for (const [i, v] of j1.entries()) {
        if (v === null) expect(j2[i]).toBeNull();
        else expect(Math.abs(v - (j2[i] as number))).toBeLessThanOrEqual(0.01);
      }
      expect(j1.some((v) => v !== null)).toBe(true);
    }
  });

  it('is kept current by ingest: rounds pushed after a request are in the next one, as the rounds say', async () => {
    ingest(mixedRounds(T0, T0 + 2 * DAY, 11));
    const q = { src: 'a', dst: 'b', fromMs: T0, toMs: T0 + 3 * DAY, points: 1000 };
    const cache = new SeriesCache(store.db);
    const before = await cache.series(q);
    ingest(mixedRounds(T0 + 2 * DAY, T0 + 3 * DAY, 12)); // a new day
    ingest([rttResult('a', 'b', T0 + 300_001, [999])]); // late, into a bucket already read
    const after = await cache.series(q);
    expect(after.rtt.time_ms.length).toBeGreaterThan(before.rtt.time_ms.length);
    expect(after.rtt.max_ms[1]).toBe(999);
    const viaRounds = await new SeriesCache(store.db, { rollup: false }).series(q);
    expect(after.rtt.median_ms).toEqual(viaRounds.rtt.median_ms);
    expect(after.rtt.rounds).toEqual(viaRounds.rtt.rounds);
    expect(after.rtt.loss_percent).toEqual(viaRounds.rtt.loss_percent);
  });

  it('is filled from the rounds already stored when a store of an older schema is opened', async () => {
    ingest(mixedRounds(T0, T0 + 2 * DAY, 13));
    const q = { src: 'a', dst: 'b', fromMs: T0, toMs: T0 + 2 * DAY, points: 500 };
    const expected = await new SeriesCache(store.db).series(q);
    // A store written before the rollup: schema 3, holding the same rounds.
    const old = mkdtempSync(join(tmpdir(), 'wanwatch-series-old-'));
    try {
      const db = new Database(join(old, DB_FILE));
      db.exec(
        'CREATE TABLE migrations (version INTEGER PRIMARY KEY, description TEXT NOT NULL, applied_at_ms INTEGER NOT NULL)',
      );
      for (const m of MIGRATIONS.filter((x) => x.version <= 3)) {
        db.exec(m.sql);
        db.prepare('INSERT INTO migrations VALUES (?, ?, ?)').run(m.version, m.description, 0);
      }
      db.exec(
        `ATTACH '${join(dir, DB_FILE)}' AS now; INSERT INTO results SELECT * FROM now.results; DETACH now`,
      );
      db.close();
      const reopened = Store.open(old);
      try {
        expect(reopened.schemaVersion()).toBeGreaterThanOrEqual(4);
        expect((await new SeriesCache(reopened.db).series(q)).rtt).toEqual(expected.rtt);
      } finally {
        reopened.close();
      }
    } finally {
      rmSync(old, { recursive: true, force: true });
    }
  });

  it('follows the retention: buckets before the cutoff go, the one it cuts holds what is left', async () => {
    ingest(mixedRounds(T0, T0 + 2 * DAY, 17));
    const cutoff = T0 + DAY + 150_000; // inside a 5-minute bucket
    store.prune(cutoff + 30 * DAY, 30 * DAY);
    const q = { src: 'a', dst: 'b', fromMs: T0, toMs: T0 + 2 * DAY, points: 500 };
    const viaRollup = await new SeriesCache(store.db).series(q);
    const viaRounds = await new SeriesCache(store.db, { rollup: false }).series(q);
    expect(viaRollup.rtt.time_ms[0]).toBe(T0 + DAY);
    expect(viaRollup.rtt.rounds).toEqual(viaRounds.rtt.rounds);
    expect(viaRollup.rtt.min_ms).toEqual(viaRounds.rtt.min_ms);
    expect(viaRollup.rtt.median_ms).toEqual(viaRounds.rtt.median_ms);
  });
});
