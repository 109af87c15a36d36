// Agents waiting for qualification tasks (collector/qualify/waiters.ts): answered at once when a task is
// ready, as soon as one is when they wait, with nothing when the wait runs out, and never handed a task
// once their request is gone.
import { afterEach, beforeEach, expect, it, vi } from 'vitest';
import { TaskWaiters } from '../../../collector/qualify/waiters.ts';
import type { QualifyTask } from '../../../shared/wire.ts';

let ready: Map<string, QualifyTask[]>;
let takes: string[];
let waiters: TaskWaiters;
const task = (id: string) => ({ id }) as unknown as QualifyTask;
beforeEach(() => {
  vi.useFakeTimers();
  ready = new Map();
  takes = [];
  waiters = new TaskWaiters(
    (site) => {
      takes.push(site);
      const t = ready.get(site) ?? [];
      ready.delete(site);
      return t;
    },
    () => true,
  );
});
afterEach(() => {
  vi.useRealTimers();
});

it('answers at once when a task is ready, or when asked not to wait', async () => {
  ready.set('a', [task('t1')]);
  expect(await waiters.wait('a', 25_000)).toEqual([task('t1')]);
  expect(await waiters.wait('a', 0)).toEqual([]);
  expect(waiters.size).toBe(0);
});

it('holds the request until a task is ready (poked, or found on its next look), then answers it', async () => {
  const first = waiters.wait('a', 25_000);
  const second = waiters.wait('b', 25_000);
  expect(waiters.size).toBe(2);
  ready.set('a', [task('t1')]);
  waiters.poke();
  expect(await first).toEqual([task('t1')]);
  // b's task becomes ready with time alone (a round's gate): found within a second.
  ready.set('b', [task('t2')]);
  await vi.advanceTimersByTimeAsync(1000);
  expect(await second).toEqual([task('t2')]);
  expect(waiters.size).toBe(0);
});

it('answers nothing when the wait runs out, and at most 30 s whatever is asked', async () => {
  const held = waiters.wait('a', 3_600_000);
  let answered: QualifyTask[] | undefined;
  void held.then((t) => {
    answered = t;
  });
  await vi.advanceTimersByTimeAsync(29_000);
  expect(answered).toBeUndefined();
  await vi.advanceTimersByTimeAsync(1000);
  expect(answered).toEqual([]);
});

it('takes nothing for a request whose client went away, and releases everyone when stopping', async () => {
  const gone = new AbortController();
  const left = waiters.wait('a', 25_000, gone.signal);
  gone.abort();
  expect(await left).toEqual([]);
  const before = takes.length;
  ready.set('a', [task('t1')]);
  waiters.poke();
  expect(takes.length, 'no look for a request that is gone').toBe(before);
  expect(ready.get('a')).toEqual([task('t1')]);

  const stopping = waiters.wait('b', 25_000);
  waiters.releaseAll();
  expect(await stopping).toEqual([]);
});
