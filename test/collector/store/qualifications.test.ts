// The store's finished qualifications: the latest KEEP_FINISHED kept, none past the retention, and a
// finished one saved again (a late report) replaced rather than doubled.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { KEEP_FINISHED, QualificationArchive } from '../../../collector/store/qualifications.ts';
import { Store } from '../../../collector/store/store.ts';
import type { Qualification } from '../../../shared/wire.ts';

const DAY = 86_400_000;
let dir: string;
let store: Store;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'wanwatch-qualifications-'));
  store = Store.open(dir);
});
afterEach(() => {
  store.close();
  rmSync(dir, { recursive: true, force: true });
});

const q = (n: number, state: Qualification['state'] = 'done'): Qualification => ({
  id: `q${n}`,
  state,
  created_at_ms: n * DAY,
  finished_at_ms: n * DAY + 60_000,
  monitoring_paused: [],
  tasks: [],
});

describe('finished qualifications in the store', () => {
  it('keeps the latest ones, newest first, and saves one again in place', () => {
    const archive = new QualificationArchive(store.db);
    for (let n = 1; n <= KEEP_FINISHED + 5; n++) archive.save(q(n), n * DAY + 60_000);
    const listed = archive.list();
    expect(listed).toHaveLength(KEEP_FINISHED);
    expect(listed[0]?.id).toBe(`q${KEEP_FINISHED + 5}`);
    expect(listed[listed.length - 1]?.id).toBe('q6');
    expect(archive.get('q5')).toBeUndefined();
    archive.save(q(KEEP_FINISHED + 5, 'cancelled'), (KEEP_FINISHED + 5) * DAY + 90_000);
    expect(archive.list()).toHaveLength(KEEP_FINISHED);
    expect(archive.list()[0]?.state).toBe('cancelled');
    // Another archive on the same store (a restarted collector) reads the same.
    expect(new QualificationArchive(store.db).list()).toEqual(archive.list());
  });

  it('lets those finished before the retention go with the rest of the data', () => {
    const archive = new QualificationArchive(store.db);
    archive.save(q(1), DAY + 60_000);
    archive.save(q(40), 40 * DAY + 60_000);
    store.prune(45 * DAY, 30 * DAY);
    expect(archive.list().map((x) => x.id)).toEqual(['q40']);
  });
});
