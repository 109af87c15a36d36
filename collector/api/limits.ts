// How much one client may ask of the API, so that no reader, guesser or operator can crowd out the
// agents: reads per remote address (a token bucket), failed authentications per remote address (past a
// bound of different wrong tokens, that address's requests carrying a token wait), and qualification
// starts collector-wide. Different tokens, not attempts: an agent left with an old token repeats that one
// token at every heartbeat and poll, and must not lock out the other agents on its host; a guesser
// needs a new token at every try.
// Every table is bounded: past MAX_KEYS addresses the idle ones are forgotten first, then the oldest.

export interface ApiLimits {
  /** Reads per second per remote address, and the burst allowed above it; 0 turns the limit off. */
  readsPerSecond: number;
  readBurst: number;
  /** This many different wrong tokens from one address within `authFailureWindowMs` (0: never)… */
  authFailures: number;
  authFailureWindowMs: number;
  /** … make its requests that carry a token wait this long (429). */
  authBlockMs: number;
  /** Qualification starts, collector-wide, at most this many per `qualificationStartWindowMs` (0: any). */
  qualificationStarts: number;
  qualificationStartWindowMs: number;
}

export const DEFAULT_API_LIMITS: ApiLimits = {
  readsPerSecond: 10,
  readBurst: 20,
  authFailures: 10,
  authFailureWindowMs: 60_000,
  authBlockMs: 60_000,
  qualificationStarts: 5,
  qualificationStartWindowMs: 60_000,
};

const MAX_KEYS = 10_000;

/** Forgets entries `idle` says may go, then the oldest, until `map` has room for one more. */
function makeRoom<V>(map: Map<string, V>, idle: (v: V) => boolean): void {
  if (map.size < MAX_KEYS) return;
  for (const [k, v] of map) if (idle(v)) map.delete(k);
  for (const k of map.keys()) {
    if (map.size < MAX_KEYS) break;
    map.delete(k);
  }
}

/** A token bucket per key: `burst` requests at once, then `perSecond`. */
export class TokenBuckets {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  constructor(
    private readonly perSecond: number,
    private readonly burst: number,
  ) {}

  /** Takes one request's token for `key`: 0 when it may go now, else how many ms until it may. */
  take(key: string, now: number): number {
    if (this.perSecond <= 0) return 0;
    let b = this.buckets.get(key);
    if (b === undefined) {
      makeRoom(this.buckets, (v) => v.tokens + ((now - v.at) / 1000) * this.perSecond >= this.burst);
      b = { tokens: this.burst, at: now };
      this.buckets.set(key, b);
    }
    b.tokens = Math.min(this.burst, b.tokens + (Math.max(0, now - b.at) / 1000) * this.perSecond);
    b.at = now;
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return 0;
    }
    return Math.ceil(((1 - b.tokens) / this.perSecond) * 1000);
  }
}

/** Different wrong tokens per address; past the bound the address waits. */
export class FailureThrottle {
  private readonly failures = new Map<string, { tokens: Map<string, number>; blockedUntil: number }>();

  constructor(
    private readonly limits: Pick<ApiLimits, 'authFailures' | 'authFailureWindowMs' | 'authBlockMs'>,
  ) {}

  /** How many ms `key` must still wait before its token is looked at again (0: not blocked). */
  waitMs(key: string, now: number): number {
    const f = this.failures.get(key);
    return f === undefined ? 0 : Math.max(0, f.blockedUntil - now);
  }

  /** Counts a failure with `token` (a digest of what was presented); true when it blocks `key`. */
  failed(key: string, token: string, now: number): boolean {
    const { authFailures, authFailureWindowMs, authBlockMs } = this.limits;
    if (authFailures <= 0) return false;
    let f = this.failures.get(key);
    if (f === undefined) {
      makeRoom(
        this.failures,
        (v) => v.blockedUntil <= now && [...v.tokens.values()].every((t) => now - t > authFailureWindowMs),
      );
      f = { tokens: new Map(), blockedUntil: 0 };
      this.failures.set(key, f);
    }
    for (const [k, t] of f.tokens) if (now - t > authFailureWindowMs) f.tokens.delete(k);
    f.tokens.set(token, now);
    if (f.tokens.size < authFailures || f.blockedUntil > now) return false;
    f.blockedUntil = now + authBlockMs;
    f.tokens.clear();
    return true;
  }
}
