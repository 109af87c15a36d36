// Which observation readers are given (Evaluator.observedForReaders), through the real store: the
// latest evaluation's while it is of the topology in force and fresh, else the live views brought up to
// the reader's time, shared with the next. The rules read results from memory: the store is read once
// per topology (a rebuild), never per window; both are counted.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Evaluator } from '../../../collector/evaluate/evaluator.ts';
import { Store } from '../../../collector/store/store.ts';
import { parseTopology } from '../../../shared/config/load.ts';
import { deriveLinks } from '../../../shared/topology/requirements.ts';
import { batch, rttResult } from '../../../testbed/results.ts';
import { twoSites } from '../../../testbed/topologies.ts';

const NOW = 1_900_000_000_000;
const FRESH_MS = 10_000;

let dir: string;
let store: Store;
let evaluator: Evaluator;
let windowReads: number;
let rebuilds: number;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'wanwatch-reads-'));
  store = Store.open(dir);
  const rttResults = store.rttResults.bind(store);
  windowReads = 0;
  rebuilds = 0;
  store.rttResults = (...args) => {
    windowReads++;
    return rttResults(...args);
  };
  const resultsSince = store.resultsSince.bind(store);
  store.resultsSince = <K extends 'rtt' | 'throughput'>(kind: K, fromMs: number) => {
    if (kind === 'rtt') rebuilds++;
    return resultsSince(kind, fromMs);
  };
  evaluator = new Evaluator(store, NOW - 3_600_000);
  evaluator.setReadsFreshFor(FRESH_MS);
});
afterEach(() => {
  store.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Reads of the store's results so far: rebuilds, and window reads of both directions of the one link. */
const observations = () => rebuilds + windowReads / 2;

describe('what readers are shown', () => {
  it('before the first evaluation: one rebuild from the store, made for the first reader and shared', () => {
    const topology = parseTopology(twoSites());
    const ctx = { topology, links: deriveLinks(topology) };
    const first = evaluator.observedForReaders(ctx, NOW);
    expect(evaluator.observedForReaders(ctx, NOW + 1)).toBe(first);
    expect(first.time_ms).toBe(NOW);
    expect(observations()).toBe(1);
  });

  it("the latest evaluation's views while they are fresh, then the live views, never the store again", () => {
    const topology = parseTopology(twoSites());
    const ctx = { topology, links: deriveLinks(topology), notifiers: [] };
    store.ingestBatch(batch('a', [rttResult('a', 'b', NOW - 1000, [5, 5, 5])]), NOW);
    evaluator.evaluate(ctx, NOW);
    expect(observations()).toBe(1);

    const shown = evaluator.observedForReaders(ctx, NOW + FRESH_MS);
    expect(shown).toMatchObject({ time_ms: NOW });
    expect(shown.views.find((v) => v.src === 'a')?.rounds).toBe(1);
    expect(observations(), 'readers of a fresh evaluation observe nothing').toBe(1);

    // A round that arrived since, seen once the evaluation is too old to show: from memory.
    store.ingestBatch(batch('a', [rttResult('a', 'b', NOW + 5000, [5, 5, 5])]), NOW + 5000);
    const later = evaluator.observedForReaders(ctx, NOW + FRESH_MS + 1);
    expect(later).toMatchObject({ time_ms: NOW + FRESH_MS + 1 });
    expect(later.views.find((v) => v.src === 'a')?.rounds).toBe(2);
    expect(evaluator.observedForReaders(ctx, NOW + FRESH_MS + 2)).toBe(later);
    expect(observations(), 'the round came through ingest, not from the store').toBe(1);
    expect(windowReads).toBe(0);
  });

  it('after a reload (new topology and links), not the views of the old topology', () => {
    const before = parseTopology(twoSites());
    evaluator.evaluate({ topology: before, links: deriveLinks(before), notifiers: [] }, NOW);
    const after = parseTopology(twoSites({ alerts: '{window: 2m}' }));
    const ctx = { topology: after, links: deriveLinks(after) };
    const shown = evaluator.observedForReaders(ctx, NOW + 1);
    expect(shown.topology).toBe(after);
    expect(evaluator.observedForReaders(ctx, NOW + 2)).toBe(shown);
    expect(observations()).toBe(2);
  });
});
