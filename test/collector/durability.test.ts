// What an acknowledged batch survives (docs/deploying.md): the store commits with synchronous=FULL, so a
// batch is on disk (its WAL fsynced) before the collector answers the agent, who then deletes it.
import { rmSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { Store } from '../../collector/store/store.ts';
import { tempDir } from '../../testbed/collector.ts';

describe('durable ingest', () => {
  const dir = tempDir('durable');
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('runs WAL with synchronous=FULL (one fsync per commit; bench/ingest.ts measures the cost)', () => {
    const store = Store.open(dir);
    try {
      expect(store.db.pragma('journal_mode', { simple: true })).toBe('wal');
      // 2 = FULL (0 OFF, 1 NORMAL, 3 EXTRA).
      expect(store.db.pragma('synchronous', { simple: true })).toBe(2);
    } finally {
      store.close();
    }
  });
});
