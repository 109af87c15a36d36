// The outbox's retry policy, as pure functions: how a reply is classified and how long to wait.
export interface RetryPolicy {
  /** First retry delay; doubled on each attempt. */
  base_ms: number;
  /** Longest wait between attempts (also caps Retry-After). */
  cap_ms: number;
  /** Give up (mark failed) when an event is still undelivered this long after it was queued. */
  give_up_after_ms: number;
  /** Per-request timeout. */
  timeout_ms: number;
}

export const DEFAULT_RETRY: RetryPolicy = {
  base_ms: 2000,
  cap_ms: 5 * 60_000,
  give_up_after_ms: 24 * 3_600_000,
  timeout_ms: 10_000,
};

/** Exponential backoff with "equal jitter": half the delay fixed, half random; never above the cap. */
export function backoffMs(attempt: number, p: RetryPolicy, random: () => number = Math.random): number {
  const exp = Math.min(p.cap_ms, p.base_ms * 2 ** Math.min(attempt, 30));
  return Math.round(exp / 2 + (exp / 2) * random());
}

/** Retry-After as delta-seconds or an HTTP date; null when absent or unreadable. */
export function retryAfterMs(header: string | null | undefined, now: number): number | null {
  if (header === null || header === undefined) return null;
  const text = header.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  const date = Date.parse(text);
  if (Number.isNaN(date)) return null;
  return Math.max(0, date - now);
}

export type Verdict = 'delivered' | 'retry' | 'failed';

/** 2xx delivered; 408, 429 and 5xx retried; any other status is a permanent failure. */
export function classify(status: number): Verdict {
  if (status >= 200 && status < 300) return 'delivered';
  if (status === 408 || status === 429 || status >= 500) return 'retry';
  return 'failed';
}
