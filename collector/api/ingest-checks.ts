// What the collector takes from an agent beyond the wire schema's shapes, so that nothing it stores
// could not have been measured:
//   - every string of every body is well-formed Unicode without NUL: a lone surrogate would reach
//     SQLite as invalid UTF-8, and NUL cuts text short in many readers;
//   - names are the topology's: a result's dst is a peer of the sending site in the plan in force (or,
//     for a short grace after a topology change, in the one before); identifiers (target, version,
//     instance, plan_version) hold no control or invisible formatting characters (they become InfluxDB
//     tags and dashboard labels, where a right-to-left override would disguise them);
//   - times are the agent's clock within `collector.max_clock_skew` of the collector's: a result may be
//     old (an agent resends its spool after an outage) but not older than the retention, nor ahead of
//     the collector's clock by more than the skew; a heartbeat, sent as it is made, neither way.
// A request that breaks one is refused whole with 400 and every problem by its path; the agent sets such
// a batch aside (it would never be accepted), and logs the message, which says what to fix.
import { formatDuration } from '../../shared/config/duration.ts';
import type { Heartbeat, ResultBatch } from '../../shared/wire.ts';

/** Lone surrogates: not Unicode, and not representable in UTF-8. */
const LONE_SURROGATE = /\p{Cs}/u;
/** Control, formatting (bidi overrides, zero-width), surrogate and line/paragraph separator characters. */
const NOT_IDENTIFIER = /[\p{Cc}\p{Cf}\p{Cs}\p{Zl}\p{Zp}]/u;

const MAX_DETAILS = 20;

/** A duration for a message: whole seconds past one (a clock that is off is off by seconds or more). */
const duration = (ms: number) => formatDuration(ms >= 1000 ? Math.round(ms / 1000) * 1000 : Math.round(ms));

const codePoint = (s: string, re: RegExp) => {
  const c = re.exec(s)?.[0] ?? '';
  return `U+${(c.codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, '0')}`;
};

/** The first character of `s` that text may not hold (a lone surrogate, NUL), as U+XXXX; null if none. */
function notText(s: string): string | null {
  if (LONE_SURROGATE.test(s)) return codePoint(s, LONE_SURROGATE);
  return s.includes('\u0000') ? 'U+0000' : null;
}

/** Paths of strings (and object keys) in `value` that are not well-formed Unicode or hold NUL. */
export function badText(value: unknown): string[] {
  const out: string[] = [];
  const stack: { v: unknown; path: string }[] = [{ v: value, path: '' }];
  while (stack.length > 0 && out.length < MAX_DETAILS) {
    const { v, path } = stack.pop() as { v: unknown; path: string };
    if (typeof v === 'string') {
      const bad = notText(v);
      if (bad !== null) out.push(`${path || '(body)'}: ${bad} is not allowed in text`);
    } else if (Array.isArray(v)) {
      v.forEach((x, i) => {
        stack.push({ v: x, path: `${path}[${i}]` });
      });
    } else if (typeof v === 'object' && v !== null) {
      for (const [k, x] of Object.entries(v)) {
        const at = path === '' ? k : `${path}.${k}`;
        const bad = notText(k);
        if (bad !== null) out.push(`${at}: ${bad} is not allowed in a key`);
        stack.push({ v: x, path: at });
      }
    }
  }
  return out;
}

function identifier(path: string, value: string | null | undefined, out: string[]): void {
  if (value !== null && value !== undefined && NOT_IDENTIFIER.test(value))
    out.push(
      `${path}: holds ${codePoint(value, NOT_IDENTIFIER)}, a control or invisible formatting character`,
    );
}

export interface ResultRules {
  /** The sending site's peers: names its results may have as dst. */
  peers: ReadonlySet<string>;
  maxSkewMs: number;
  retentionMs: number;
}

/** A refused request: the message for the error, and every problem by its path. */
export interface Refusal {
  message: string;
  details: string[];
}

const ahead = (ms: number, skew: number) =>
  `dated ${duration(ms)} ahead of the collector's clock (at most ${duration(skew)} is accepted, collector.max_clock_skew)`;
const CLOCK_ADVICE =
  "the agent's clock is off: set up time sync (NTP, chrony, systemd-timesyncd) on its host";

/** Why the collector refuses `batch` from `site` at `now`, or null when it takes it. */
export function checkBatch(
  batch: ResultBatch,
  site: string,
  rules: ResultRules,
  now: number,
): Refusal | null {
  const names: string[] = [];
  const clock: string[] = [];
  const old: string[] = [];
  const peers = [...rules.peers].sort().join(', ') || 'none';
  batch.results.forEach((r, i) => {
    if (!rules.peers.has(r.dst))
      names.push(
        `results[${i}].dst: ${JSON.stringify(r.dst.slice(0, 64))} is not a peer of site "${site}" in the topology in force (its peers: ${peers})`,
      );
    identifier(`results[${i}].target`, r.target, names);
    if (r.time_ms > now + rules.maxSkewMs)
      clock.push(`results[${i}].time_ms: ${ahead(r.time_ms - now, rules.maxSkewMs)}`);
    else if (r.time_ms < now - rules.retentionMs)
      old.push(
        `results[${i}].time_ms: dated ${duration(now - r.time_ms)} before the collector's clock, older than collector.retention (${duration(rules.retentionMs)})`,
      );
  });
  const details = [...clock, ...names, ...old].slice(0, MAX_DETAILS);
  if (details.length === 0) return null;
  const message =
    clock.length > 0
      ? `${clock.length} result(s) are dated ahead of the collector's clock by more than ${duration(rules.maxSkewMs)}: ${CLOCK_ADVICE}. The batch is refused`
      : names.length > 0
        ? `the batch holds results the collector does not take for site "${site}" (a dst that is not one of its peers, or a target with control characters); the batch is refused`
        : `the batch holds results older than collector.retention (${duration(rules.retentionMs)}); the batch is refused`;
  return { message, details };
}

/** Why the collector refuses `hb` at `now`, or null when it takes it. */
export function checkHeartbeat(hb: Heartbeat, maxSkewMs: number, now: number): Refusal | null {
  const details: string[] = [];
  const off = hb.time_ms - now;
  if (Math.abs(off) > maxSkewMs)
    details.push(
      `time_ms: the agent's clock is ${duration(Math.abs(off))} ${off > 0 ? 'ahead of' : 'behind'} the collector's (at most ${duration(maxSkewMs)} either way, collector.max_clock_skew)`,
    );
  if (hb.started_at_ms > now + maxSkewMs)
    details.push(`started_at_ms: ${ahead(hb.started_at_ms - now, maxSkewMs)}`);
  identifier('version', hb.version, details);
  identifier('instance', hb.instance, details);
  identifier('plan_version', hb.plan_version, details);
  if (details.length === 0) return null;
  const clock = details.some((d) => d.startsWith('time_ms') || d.startsWith('started_at_ms'));
  return {
    message: clock
      ? `the heartbeat is dated outside the collector's clock skew: ${CLOCK_ADVICE}`
      : 'the heartbeat holds control or invisible formatting characters',
    details,
  };
}
