// The incremental evaluation judges exactly what a full one does. Two real stores get the same results
// (rounds slow and fast, lost, not measured, late from a spool, dated ahead; throughput tests that pass
// and fail); one evaluator follows ingest and observes only what changed, the other is handed a new
// topology at every step and so rebuilds everything from its store, as evaluations did before. At
// every step their views, alert states and events must be the same, and the views must equal a full
// observation read from the store.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { observeLinks } from '../../../collector/alerts/directions.ts';
import { Evaluator } from '../../../collector/evaluate/evaluator.ts';
import { planSchedule } from '../../../collector/plan/plan.ts';
import { Store } from '../../../collector/store/store.ts';
import { failedRtt, failedThroughput } from '../../../probes/failed.ts';
import { parseTopology } from '../../../shared/config/load.ts';
import type { Result } from '../../../shared/result.ts';
import { deriveLinks } from '../../../shared/topology/requirements.ts';
import { batch, rttResult, throughputResult } from '../../../testbed/results.ts';

const yaml = `
sites:
  a: {address: 127.0.0.1}
  b: {address: 127.0.0.2}
  c: {address: 127.0.0.3}
clusters:
  east: {subclusters: {sc1: {nodes: {n1: a, n2: b, n3: c}}}}
probes:
  rtt: {interval: 5s}
  heartbeat: {interval: 1h, timeout: 1h}
  throughput: {interval: 2m, duration: 5s, omit: 0s}
alerts: {for: 10s, clear_for: 20s, window: 15s, throughput_failures: 2}
`;
const T0 = 1_900_000_000_000;

/** A deterministic generator (mulberry32), so a failure can be replayed. */
function random(seed: number): () => number {
  let s = seed;
  return () => {
    s = (s + 0x6d2b79f5) | 0;
    let t = Math.imul(s ^ (s >>> 15), 1 | s);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

let dir: string;
let stores: Store[];
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'wanwatch-incremental-'));
  stores = [Store.open(join(dir, 'live')), Store.open(join(dir, 'full'))];
});
afterEach(() => {
  for (const s of stores) s.close();
  rmSync(dir, { recursive: true, force: true });
});

const at = (src: string, dst: string, time_ms: number) => ({
  src,
  dst,
  target: dst,
  time_ms,
  duration_ms: 1000,
});

function resultAt(rnd: () => number, now: number): Result {
  const pairs = [
    ['a', 'b'],
    ['b', 'a'],
    ['a', 'c'],
    ['c', 'a'],
    ['b', 'c'],
    ['c', 'b'],
  ] as const;
  const [src, dst] = pairs[Math.floor(rnd() * pairs.length)] as readonly [string, string];
  // Mostly now; sometimes late (from a spool), sometimes ahead of the collector's clock.
  const x = rnd();
  const time = x < 0.1 ? now - Math.floor(rnd() * 60_000) : x < 0.15 ? now + Math.floor(rnd() * 20_000) : now;
  const kind = rnd();
  if (kind < 0.08) {
    const fail = rnd() < 0.4;
    return fail
      ? failedThroughput(at(src, dst, time), 'refused', 'connection refused')
      : throughputResult(src, dst, time, rnd() < 0.5 ? 3e6 : 9e6, rnd() < 0.5 ? 'forward' : 'reverse');
  }
  if (kind < 0.12) return failedRtt('icmp', at(src, dst, time), 'permission_denied', 'no raw socket');
  const slow = rnd() < 0.35;
  const samples = Array.from({ length: 5 }, () =>
    rnd() < 0.05 ? null : slow ? 85 + rnd() * 20 : 10 + rnd() * 20,
  );
  return rttResult(src, dst, time, rnd() < 0.05 ? [null, null, null, null, null] : samples, 'icmp');
}

it('observes and alerts exactly as a full evaluation does, step by step', () => {
  const topology = parseTopology(yaml);
  const ctx = { topology, links: deriveLinks(topology), notifiers: ['hook'] };
  const [liveStore, fullStore] = stores as [Store, Store];
  const live = new Evaluator(liveStore, T0 - 3_600_000);
  const full = new Evaluator(fullStore, T0 - 3_600_000);
  const cycle = planSchedule(topology, ctx.links).cycle_ms;
  const rnd = random(14);
  let now = T0;
  let events = 0;
  for (let step = 0; step < 300; step++) {
    now += Math.floor(rnd() * 3000);
    const arrivals = Array.from({ length: Math.floor(rnd() * 4) }, () => resultAt(rnd, now));
    for (const r of arrivals)
      for (const s of stores) s.ingestBatch({ ...batch(r.src, [r]), batch_id: `batch-${r.id}` }, now);
    const fresh = parseTopology(yaml);
    const a = live.evaluate(ctx, now);
    const b = full.evaluate({ topology: fresh, links: deriveLinks(fresh), notifiers: ['hook'] }, now);
    expect(a, `events at step ${step}`).toEqual(b);
    events += a.length;
    expect(Object.fromEntries(live.alertStates()), `states at step ${step}`).toEqual(
      Object.fromEntries(full.alertStates()),
    );
    const views = live.observe(ctx, now);
    expect(views, `views at step ${step}`).toEqual(observeLinks(topology, ctx.links, liveStore, now, cycle));
  }
  // The run saw alerts come and go, or it proved little.
  expect(events).toBeGreaterThan(5);
});
