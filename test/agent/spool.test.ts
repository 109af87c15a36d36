import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Batcher } from '../../agent/push/batcher.ts';
import { Spool } from '../../agent/spool/spool.ts';
import type { Result } from '../../shared/result.ts';
import { rttResults } from '../support/agent-results.ts';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'wanwatch-spool-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Takes every batch out of the spool, oldest first, as the sender does. */
async function drain(spool: Spool): Promise<Result[]> {
  const out: Result[] = [];
  for (let b = await spool.peek(); b !== undefined; b = await spool.peek()) {
    out.push(...b.results);
    await spool.ack(b.batch_id);
  }
  return out;
}

const times = (rs: Result[]) => rs.map((r) => r.time_ms - 1_700_000_000_000);

describe('the disk spool', () => {
  it('gives batches back oldest first, each with its own batch_id, until acknowledged', async () => {
    const spool = await Spool.open(dir, { site: 'A' });
    const ids = [...(await spool.append(rttResults(0, 3))), ...(await spool.append(rttResults(3, 2)))];
    expect(new Set(ids).size).toBe(2);
    const first = await spool.peek();
    expect(first?.batch_id).toBe(ids[0]);
    expect(first?.site).toBe('A');
    // Not acknowledged: the same batch again, same id.
    expect((await spool.peek())?.batch_id).toBe(ids[0]);
    expect(spool.stats()).toEqual({ queued_results: 5, queued_batches: 2, dropped: 0 });
    expect(times(await drain(spool))).toEqual([0, 1, 2, 3, 4]);
    expect(spool.stats().queued_results).toBe(0);
    expect(await readdir(dir)).toEqual([]);
  });

  it('splits a large append into batches of at most batchMax results', async () => {
    const spool = await Spool.open(dir, { site: 'A' });
    const ids = await spool.append(rttResults(0, 25), 10);
    expect(ids).toHaveLength(3);
    expect(spool.stats()).toMatchObject({ queued_results: 25, queued_batches: 3 });
  });

  it('survives a reopen: the same batches, same ids, same order, and new batches after them', async () => {
    const first = await Spool.open(dir, { site: 'A' });
    const ids = [...(await first.append(rttResults(0, 2))), ...(await first.append(rttResults(2, 2)))];
    const again = await Spool.open(dir, { site: 'A' });
    expect(again.stats()).toMatchObject({ queued_results: 4, queued_batches: 2 });
    expect((await again.peek())?.batch_id).toBe(ids[0]);
    await again.append(rttResults(4, 1));
    expect(times(await drain(again))).toEqual([0, 1, 2, 3, 4]);
  });

  it('drops the OLDEST results past its bound, counts them, and keeps the count across a reopen', async () => {
    const spool = await Spool.open(dir, { site: 'A', maxResults: 10 });
    await spool.append(rttResults(0, 4));
    await spool.append(rttResults(4, 4));
    await spool.append(rttResults(8, 5)); // 13 > 10: the 3 oldest go
    expect(spool.stats()).toEqual({ queued_results: 10, queued_batches: 3, dropped: 3 });
    const reopened = await Spool.open(dir, { site: 'A', maxResults: 10 });
    expect(reopened.stats().dropped).toBe(3);
    await reopened.append(rttResults(13, 6)); // 16 > 10: 6 more go (a whole batch and 2 of the next)
    expect(reopened.stats()).toMatchObject({ queued_results: 10, dropped: 9 });
    expect(times(await drain(reopened))).toEqual([9, 10, 11, 12, 13, 14, 15, 16, 17, 18]);
  });

  it('applies a lowered bound when reopened', async () => {
    const big = await Spool.open(dir, { site: 'A', maxResults: 100 });
    await big.append(rttResults(0, 20));
    const small = await Spool.open(dir, { site: 'A', maxResults: 5 });
    expect(small.stats()).toMatchObject({ queued_results: 5, dropped: 15 });
    expect(times(await drain(small))).toEqual([15, 16, 17, 18, 19]);
  });

  it('writes atomically: only complete batch files, no temporary files left, half-written ones ignored', async () => {
    const spool = await Spool.open(dir, { site: 'A' });
    await spool.append(rttResults(0, 3));
    const names = await readdir(dir);
    expect(names).toHaveLength(1);
    expect(names[0]).toMatch(/^000000000001-[0-9a-f-]{36}\.json$/);
    const parsed = JSON.parse(await readFile(join(dir, names[0]!), 'utf8')) as { results: unknown[] };
    expect(parsed.results).toHaveLength(3);
    // A crash in the middle of a write leaves a temporary file (never a torn batch file).
    await writeFile(join(dir, '.tmp-crashed'), '{"batch_id": "trunc');
    const reopened = await Spool.open(dir, { site: 'A' });
    expect(reopened.stats()).toMatchObject({ queued_results: 3, queued_batches: 1 });
    expect((await readdir(dir)).filter((n) => n.startsWith('.tmp-'))).toEqual([]);
  });

  it('moves an unreadable batch file aside instead of failing or sending it', async () => {
    await writeFile(join(dir, '000000000007-00000000-0000-4000-8000-000000000000.json'), 'not json');
    const spool = await Spool.open(dir, { site: 'A' });
    expect(spool.stats().queued_batches).toBe(0);
    expect(await readdir(dir)).toEqual(['000000000007-00000000-0000-4000-8000-000000000000.json.unreadable']);
    // New batches number after the highest seen, so order survives.
    await spool.append(rttResults(0, 1));
    expect((await readdir(dir)).some((n) => n.startsWith('000000000001-'))).toBe(true);
  });

  it('takes a rejected batch out of the send path and counts its results as dropped', async () => {
    const spool = await Spool.open(dir, { site: 'A' });
    const [id] = await spool.append(rttResults(0, 4));
    await spool.append(rttResults(4, 1));
    await spool.reject(id!);
    expect(spool.stats()).toEqual({ queued_results: 1, queued_batches: 1, dropped: 4 });
    expect(times(await drain(spool))).toEqual([4]);
  });
});

describe('batching', () => {
  it('cuts a batch when it reaches maxResults', async () => {
    const cut: number[][] = [];
    const b = new Batcher({
      maxResults: 3,
      maxDelayMs: 60_000,
      flush: async (rs) => void cut.push(times(rs)),
    });
    for (const r of rttResults(0, 7)) b.add(r);
    await b.flushNow();
    expect(cut).toEqual([[0, 1, 2], [3, 4, 5], [6]]);
  });

  it('cuts a batch when its first result has waited maxDelayMs', async () => {
    const cut: number[][] = [];
    const b = new Batcher({ maxResults: 100, maxDelayMs: 50, flush: async (rs) => void cut.push(times(rs)) });
    const t0 = Date.now();
    b.add(rttResults(0, 1)[0]!);
    b.add(rttResults(1, 1)[0]!);
    await new Promise((r) => setTimeout(r, 20));
    expect(cut).toEqual([]);
    await new Promise((r) => setTimeout(r, 80));
    expect(cut).toEqual([[0, 1]]);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(50);
  });

  it('flushes one batch at a time, in order, into a real spool', async () => {
    const spool = await Spool.open(dir, { site: 'A' });
    const b = new Batcher({
      maxResults: 2,
      maxDelayMs: 10,
      flush: async (rs) => void (await spool.append(rs)),
    });
    for (const r of rttResults(0, 9)) b.add(r);
    await b.flushNow();
    expect(spool.stats()).toMatchObject({ queued_results: 9, queued_batches: 5 });
    expect(times(await drain(spool))).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8]);
  });
});
