// A link direction's state as the console shows it: colour, symbol and word together, so that it reads
// without colour too. The collector's `unknown` is split: never measured, or measured once but no
// longer (stale: nothing in the rules' window).
import type { DirectionJson } from '../shared/wire.ts';

export type Shown = 'ok' | 'pending' | 'firing' | 'stale' | 'unmeasured';

export const SHOWN: Record<Shown, { symbol: string; word: string }> = {
  ok: { symbol: '✓', word: 'ok' },
  pending: { symbol: '◐', word: 'pending' },
  firing: { symbol: '✕', word: 'firing' },
  stale: { symbol: '?', word: 'stale' },
  unmeasured: { symbol: '–', word: 'not measured' },
};

export function shown(d: Pick<DirectionJson, 'state' | 'last_result_ms'>): Shown {
  if (d.state !== 'unknown') return d.state;
  return d.last_result_ms === null ? 'unmeasured' : 'stale';
}
