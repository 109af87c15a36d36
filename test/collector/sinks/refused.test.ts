// Finding the rows InfluxDB refuses (bisect.ts) and keeping them (refused.ts): the write function here
// answers as InfluxDB does, one status for the whole request.
import { describe, expect, it } from 'vitest';
import { type RowLines, writeBisecting } from '../../../collector/sinks/bisect.ts';
import { MAX_KEPT, PRUNE_EVERY, RefusedRows } from '../../../collector/sinks/refused.ts';

class InfluxLikeError extends Error {
  constructor(
    readonly statusCode: number,
    readonly json: { error: string },
  ) {
    super(`${statusCode}`);
  }
}

const rows = (n: number): RowLines[] =>
  Array.from({ length: n }, (_, i) => ({ seq: i + 1, lines: [`m n=${i + 1} ${i + 1}`] }));

describe('writing a batch InfluxDB refuses', () => {
  it('halves it down to the refused rows, writes every other row, and passes the reason on', async () => {
    const requests: number[] = [];
    const written = new Set<string>();
    const bad = new Set(['m n=3 3', 'm n=11 11']);
    const write = async (lines: string[]) => {
      requests.push(lines.length);
      const refused = lines.filter((l) => bad.has(l));
      if (refused.length > 0)
        throw new InfluxLikeError(400, { error: `partial write: unable to parse '${refused[0]}'` });
      for (const l of lines) written.add(l);
    };
    const refused: [number, string][] = [];
    const n = await writeBisecting(rows(16), write, (r, why) => refused.push([r.seq, why]));
    expect(refused).toEqual([
      [3, "InfluxDB answered 400: partial write: unable to parse 'm n=3 3'"],
      [11, "InfluxDB answered 400: partial write: unable to parse 'm n=11 11'"],
    ]);
    expect(n).toBe(14);
    expect(written.size).toBe(14);
    // log2(16) levels for each bad row, not a request per row.
    expect(requests.length).toBeLessThan(16);
  });

  it('throws what is not about the rows (no answer, 5xx, 401): the sink retries the batch later', async () => {
    const refused: number[] = [];
    for (const err of [new Error('ECONNREFUSED'), new InfluxLikeError(503, { error: 'down' })]) {
      await expect(
        writeBisecting(
          rows(4),
          async () => {
            throw err;
          },
          (r) => refused.push(r.seq),
        ),
      ).rejects.toBe(err);
    }
    expect(refused).toEqual([]);
  });
});

describe('the rows set aside', () => {
  it('are kept once each, newest first, about the newest MAX_KEPT per output, and counted past that', () => {
    const store = new RefusedRows();
    const row = (seq: number, sink = 'influx') =>
      ({ sink, stream: 'results', seq, time_ms: seq, reason: 'r', line: null }) as const;
    expect(store.add(row(1))).toBe(true);
    expect(store.add(row(1))).toBe(false);
    const last = MAX_KEPT + 2 * PRUNE_EVERY + 5;
    for (let seq = 2; seq <= last; seq++) store.add(row(seq));
    store.add(row(1, 'other'));
    expect(store.total('influx')).toBe(last);
    expect(store.recent('influx', 2).map((r) => r.seq)).toEqual([last, last - 1]);
    expect(store.countSince(0, 'influx')).toBe(MAX_KEPT + 5);
    expect(store.countSince(last - 1)).toBe(2);
    expect(store.total('other')).toBe(1);
  });
});
