// The keys in the report URLs the list of qualifications gives (a frame cannot send the credential): good
// for one report and until their expiry, the same URL for an hour, and anything else refused.
import { describe, expect, it } from 'vitest';
import { ReportKeys } from '../../../collector/api/report.ts';

const HOUR = 3_600_000;
const T = Date.UTC(2026, 10, 30, 13, 20);
const query = (url: string) => new URL(url, 'http://collector').searchParams;

describe('report keys', () => {
  it('open one report until their expiry, one to two hours ahead, with the same URL within an hour', () => {
    const keys = new ReportKeys();
    const url = keys.url('q1', T);
    expect(url).toMatch(/^\/api\/v1\/qualifications\/q1\/report\.html\?exp=\d+&key=[\w-]+$/);
    expect(keys.url('q1', T + 30 * 60_000)).toBe(url);
    expect(keys.valid('q1', query(url), T)).toBe(true);
    expect(keys.valid('q1', query(url), T + HOUR + 30 * 60_000)).toBe(true);
    expect(keys.valid('q1', query(url), T + 2 * HOUR)).toBe(false); // expired
    expect(keys.valid('q2', query(url), T)).toBe(false); // another report
  });

  it('refuse a key of another collector, a changed expiry, and anything malformed', () => {
    const keys = new ReportKeys();
    const url = keys.url('q1', T);
    expect(new ReportKeys().valid('q1', query(url), T)).toBe(false);
    const q = query(url);
    const later = new URLSearchParams(q);
    later.set('exp', String(Number(q.get('exp')) + HOUR));
    expect(keys.valid('q1', later, T)).toBe(false);
    for (const bad of [
      '',
      'exp=abc&key=x',
      `exp=${T + HOUR}`,
      `exp=${T + 100 * HOUR}&key=${q.get('key')}`,
      'key=x&exp=1e99',
    ])
      expect(keys.valid('q1', new URLSearchParams(bad), T), bad).toBe(false);
  });
});
