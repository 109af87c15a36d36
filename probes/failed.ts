// The Result of a measurement that produced no figures. A round or test that could not run still
// yields one Result, with `error` set and its figures null, so every attempt is accounted for: the
// collector stores it, the rules see it, and nothing is a silent gap. Probes use it for what stops a
// round before it starts (probes/round.ts `failedRound`); the agent for a probe or runner that threw or
// returned something malformed.
import { randomUUID } from 'node:crypto';
import type { ErrorCode, ProbeMethod, ResultError, RttResult, ThroughputResult } from '../shared/result.ts';

/** Where and when the failed measurement was aimed, as its Result names it. */
export interface FailedAt {
  src: string;
  dst: string;
  /** The target label: host, or host:port. */
  target: string;
  time_ms: number;
  duration_ms: number;
}

/** The schema's limit on an error message (shared/result.ts). */
const MAX_MESSAGE = 2000;

const errorOf = (code: ErrorCode, message: string): ResultError => ({
  code,
  message: message.slice(0, MAX_MESSAGE),
});

export function failedRtt(method: ProbeMethod, at: FailedAt, code: ErrorCode, message: string): RttResult {
  return {
    id: randomUUID(),
    kind: 'rtt',
    method,
    ...placeOf(at),
    error: errorOf(code, message),
    rtt: null,
  };
}

export function failedThroughput(at: FailedAt, code: ErrorCode, message: string): ThroughputResult {
  return {
    id: randomUUID(),
    kind: 'throughput',
    method: 'iperf3',
    ...placeOf(at),
    error: errorOf(code, message),
    throughput: null,
    loaded_rtt: null,
  };
}

/** Picks the fields one by one: a caller's wider object (an RttTarget, say) must not leak into the Result. */
function placeOf(at: FailedAt): FailedAt {
  return {
    src: at.src,
    dst: at.dst,
    target: at.target,
    time_ms: at.time_ms,
    duration_ms: at.duration_ms,
  };
}
