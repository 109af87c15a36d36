// The default alert settings through the real store and evaluator, evaluated every second as the
// collector does: a link that turns slow fires within the defaults' arithmetic and resolves within 2
// minutes of its repair, one slow round never fires, and one row InfluxDB refused still fires
// output_rows_refused (its count reaches back twice `for`, longer than the 15 s window).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import type { AlertEvent } from '../../../collector/alerts/event.ts';
import { Evaluator } from '../../../collector/evaluate/evaluator.ts';
import { RefusedRows } from '../../../collector/sinks/refused.ts';
import { Store } from '../../../collector/store/store.ts';
import { parseTopology } from '../../../shared/config/load.ts';
import { deriveLinks } from '../../../shared/topology/requirements.ts';
import { batch, rttResult } from '../../../testbed/results.ts';

// Only what must be said: every probe and alert setting is a default.
const topology = parseTopology(`
sites:
  a: {address: 127.0.0.1}
  b: {address: 127.0.0.2}
clusters:
  east: {subclusters: {sc1: {nodes: {n1: a, n2: b}}}}
probes: {heartbeat: {interval: 1h, timeout: 1h}}
outputs:
  - {type: influxdb, name: influx, version: 1, url: "http://127.0.0.1:8086", db: wanwatch}
`);
const ctx = { topology, links: deriveLinks(topology), notifiers: ['hook'] };
const T0 = 1_900_000_000_000;
const { interval, count } = topology.probes.rtt;

let dir: string;
let store: Store;
let evaluator: Evaluator;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'wanwatch-defaults-'));
  store = Store.open(dir);
  evaluator = new Evaluator(store, T0 - 3_600_000);
});
afterEach(() => {
  store.close();
  rmSync(dir, { recursive: true, force: true });
});

/**
 * Both agents' rounds every `interval` from `from` to `to` (ms after T0), each arriving 3 s after it
 * began (sending, then the agent's batch), `rtt(t)` ms each; an evaluation every second between.
 */
function run(from: number, to: number, rtt: (t: number) => number[]): AlertEvent[] {
  const events: AlertEvent[] = [];
  for (let now = from; now < to; now += 1000) {
    const began = now - 3000;
    if (began >= 0 && began % interval === 0)
      for (const [src, dst] of [
        ['a', 'b'],
        ['b', 'a'],
      ] as const)
        store.ingestBatch(batch(src, [rttResult(src, dst, T0 + began, rtt(began), 'icmp')]), T0 + now);
    events.push(...evaluator.evaluate(ctx, T0 + now));
  }
  return events;
}
const steady = () => Array.from({ length: count }, () => 20);
const slow = () => Array.from({ length: count }, () => 90);

it('a link that turns slow fires within 30 s, and resolves within 2 minutes of its repair', () => {
  expect(run(0, 60_000, steady)).toEqual([]);
  const firing = run(60_000, 120_000, slow).filter((e) => e.rule === 'rtt_high');
  expect(firing.map((e) => e.status)).toEqual(['firing']);
  expect((firing[0]?.time_ms ?? 0) - (T0 + 60_000)).toBeLessThanOrEqual(30_000);
  const resolved = run(120_000, 300_000, steady).filter((e) => e.rule === 'rtt_high');
  expect(resolved.map((e) => e.status)).toEqual(['resolved']);
  expect((resolved[0]?.time_ms ?? 0) - (T0 + 120_000)).toBeLessThanOrEqual(120_000);
});

it('one slow round, however slow, never fires; one slow sample never even breaches', () => {
  const oneRound = (t: number) => (t === 60_000 ? Array.from({ length: count }, () => 2000) : steady());
  expect(run(0, 120_000, oneRound)).toEqual([]);
  const oneSample = (t: number) => (t === 130_000 ? [2000, ...steady().slice(1)] : steady());
  expect(run(120_000, 180_000, oneSample)).toEqual([]);
  expect(evaluator.alertStates().get('wanwatch/rtt_high/a--b')?.status ?? 'ok').toBe('ok');
});

it('one row InfluxDB refused fires output_rows_refused, and it resolves once the row is long gone', () => {
  run(0, 10_000, steady);
  new RefusedRows(store.db).add({
    sink: 'influx',
    stream: 'results',
    seq: 1,
    time_ms: T0 + 10_000,
    reason: 'field type conflict',
    line: 'wanwatch_rtt x=1',
  });
  const events = run(10_000, 200_000, steady).filter((e) => e.rule === 'output_rows_refused');
  expect(events.map((e) => [e.status, e.time_ms - T0])).toEqual([
    ['firing', 10_000 + topology.alerts.for],
    ['resolved', 10_000 + 2 * topology.alerts.for + 1000 + topology.alerts.clear_for],
  ]);
});
