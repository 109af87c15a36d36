// Reads that cannot hurt ingest, on the real collector: the read API answers from the latest
// evaluation's observation, so readers between two evaluations read no results from the store (after a
// reload, the first reader observes once and the others share it), and a reply shows a new result once
// the next evaluation has run. The rules read the results from memory, rebuilt from the store at start
// and after a reload: store reads are counted as window reads (there should be none) and rebuilds,
// evaluations as the store's evaluation writes.
import { writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EvaluationWrite } from '../../collector/store/store.ts';
import { type LinksReply, linksReplySchema } from '../../shared/wire.ts';
import { eventually, startTestCollector, type TestCollector } from '../../testbed/collector.ts';
import { rttResult } from '../../testbed/results.ts';
import { pushAs, TOKEN_ENV, threeSites } from '../../testbed/topologies.ts';

const DIRECTIONS = 6; // three links, both ways
const READERS = 20;

let c: TestCollector;
const counts = { windowReads: 0, rebuilds: 0, evaluations: 0 };
beforeAll(async () => {
  // Evaluations only when the test's pushes ask for one (a minute apart otherwise).
  c = await startTestCollector(threeSites(), { env: TOKEN_ENV, evaluateIntervalMs: 60_000, watch: false });
  const { store } = c;
  const rttResults = store.rttResults.bind(store);
  store.rttResults = (...args) => {
    counts.windowReads++;
    return rttResults(...args);
  };
  const resultsSince = store.resultsSince.bind(store);
  store.resultsSince = <K extends 'rtt' | 'throughput'>(kind: K, fromMs: number) => {
    if (kind === 'rtt') counts.rebuilds++;
    return resultsSince(kind, fromMs);
  };
  const writeEvaluation = store.writeEvaluation.bind(store);
  store.writeEvaluation = <S>(w: EvaluationWrite<S>) => {
    counts.evaluations++;
    return writeEvaluation(w);
  };
  // The start's own evaluation; after it, only the test's pushes and the reload ask for one.
  await eventually(() => (counts.evaluations > 0 ? true : undefined), 10_000, 'the first evaluation');
});
afterAll(async () => {
  await c?.dispose();
});

/** Reads of the store's results: window reads (one per link direction each) and rebuilds. */
const storeObservations = () => counts.windowReads / DIRECTIONS + counts.rebuilds;

const readLinks = async (): Promise<{ text: string; reply: LinksReply }> => {
  const res = await fetch(`${c.url}/api/v1/links`);
  const text = await res.text();
  expect(res.status, text).toBe(200);
  return { text, reply: linksReplySchema.parse(JSON.parse(text)) };
};
const readMany = () => Promise.all(Array.from({ length: READERS }, readLinks));
const direction = (reply: LinksReply, src: string, dst: string) =>
  reply.links.flatMap((l) => l.directions).find((d) => d.src === src && d.dst === dst);

/** Pushes rounds of `ms` from a to b over the last few seconds; resolves once an evaluation has run since. */
async function pushRoundsAndAwaitEvaluation(ms: number): Promise<number> {
  const before = counts.evaluations;
  const now = Date.now();
  await pushAs(
    c.url,
    'a',
    [3000, 2000, 1000].map((ago) => rttResult('a', 'b', now - ago, [ms, ms, ms, ms, ms])),
  );
  await eventually(
    () => (counts.evaluations > before ? true : undefined),
    10_000,
    'the evaluation the push asked for',
  );
  return now;
}

describe('the read API between two evaluations', () => {
  it(`serves ${READERS} concurrent readers the latest evaluation's links without reading the store`, async () => {
    await pushRoundsAndAwaitEvaluation(20);
    const reads = counts.windowReads;
    const evaluations = counts.evaluations;

    const replies = await readMany();

    expect(counts.evaluations, 'no evaluation ran meanwhile').toBe(evaluations);
    expect(counts.windowReads - reads, 'window reads made by the readers').toBe(0);
    // One reply, shared: the same bytes for every reader, showing the evaluation's rounds.
    expect(new Set(replies.map((r) => r.text)).size).toBe(1);
    const ab = direction(replies[0]?.reply as LinksReply, 'a', 'b');
    expect(ab).toMatchObject({ rounds_in_window: 3, rtt_ms: 20 });
  });

  it('shows a new result once the next evaluation has run, and no reader observes meanwhile', async () => {
    const pushedAt = await pushRoundsAndAwaitEvaluation(40);
    const { reply } = await readLinks();
    expect(reply.time_ms).toBeGreaterThanOrEqual(pushedAt);
    expect(direction(reply, 'a', 'b')).toMatchObject({ rounds_in_window: 6 });
    expect(direction(reply, 'a', 'b')?.rtt_ms).toBeGreaterThan(20);
    // Neither the evaluations nor the readers read a window from the store: the start's rebuild only.
    expect(counts.windowReads).toBe(0);
    expect(counts.rebuilds).toBe(1);
  });

  it('after a reload, concurrent readers share at most one observation of the new topology', async () => {
    writeFileSync(c.configPath, threeSites({ max_rtt_ms: 90 }));
    const observationsBefore = storeObservations();
    expect(c.reload()).toBe(true);

    const replies = await readMany();

    // The views of the old topology are not shown; whether the reload's own evaluation ran before the
    // readers came or they observed once themselves, they cost at most one rebuild together.
    for (const { reply } of replies) expect(direction(reply, 'a', 'b')?.max_rtt_ms).toBe(90);
    expect(storeObservations() - observationsBefore).toBeLessThanOrEqual(1);
    expect(counts.windowReads).toBe(0);
  });
});
