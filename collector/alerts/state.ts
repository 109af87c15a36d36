// The alert state machine, one instance per rule and subject (e.g. rtt_high on the link dallas ↔ london).
// Pure: (state, observation, now, settings) → (state, events); time is an argument, never read.
//
//   ok ──breach──▶ pending ──breach lasted `for`──▶ firing ──recovery lasted `clear_for`──▶ resolved
//    ▲               │ recovery                       │ still breaching: a reminder every repeat_interval
//    └───────────────┘                                │ a breach during recovery restarts clear_for
//   resolved behaves as ok (a new breach starts a new pending period).
//
// An unknown observation (no data) changes nothing: silence neither fires nor resolves a link alert
// (agent_down covers silent agents).
import type { AlertStatus } from '../../shared/wire.ts';

export interface AlertState {
  status: AlertStatus;
  /** When the current breach began (entering pending). */
  since_ms: number | null;
  fired_at_ms: number | null;
  /** Last firing notification or reminder. */
  last_notified_ms: number | null;
  /** While firing: when the current recovery began. */
  clear_since_ms: number | null;
  resolved_at_ms: number | null;
  /** Latest observed value and its limit. */
  observed: number | null;
  threshold: number | null;
}

export interface Observation {
  /** true: breaching, false: within limits, null: no data. */
  breach: boolean | null;
  observed: number | null;
  threshold: number | null;
}

export interface HysteresisSettings {
  for_ms: number;
  clear_for_ms: number;
  repeat_interval_ms: number;
}

export type Transition = 'firing' | 'reminder' | 'resolved';

export const INITIAL_STATE: AlertState = {
  status: 'ok',
  since_ms: null,
  fired_at_ms: null,
  last_notified_ms: null,
  clear_since_ms: null,
  resolved_at_ms: null,
  observed: null,
  threshold: null,
};

export function step(
  state: AlertState,
  obs: Observation,
  now: number,
  s: HysteresisSettings,
): { state: AlertState; events: Transition[] } {
  if (obs.breach === null) return { state, events: [] };
  const next: AlertState = { ...state, observed: obs.observed, threshold: obs.threshold };

  const fire = (since: number): { state: AlertState; events: Transition[] } => ({
    state: {
      ...next,
      status: 'firing',
      since_ms: since,
      fired_at_ms: now,
      last_notified_ms: now,
      clear_since_ms: null,
      resolved_at_ms: null,
    },
    events: ['firing'],
  });

  switch (state.status) {
    case 'ok':
    case 'resolved': {
      if (!obs.breach) return { state: next, events: [] };
      if (s.for_ms <= 0) return fire(now);
      return { state: { ...next, status: 'pending', since_ms: now }, events: [] };
    }
    case 'pending': {
      if (!obs.breach) return { state: { ...next, status: 'ok', since_ms: null }, events: [] };
      const since = state.since_ms ?? now;
      if (now - since >= s.for_ms) return fire(since);
      return { state: next, events: [] };
    }
    case 'firing': {
      if (obs.breach) {
        next.clear_since_ms = null;
        if (now - (state.last_notified_ms ?? now) >= s.repeat_interval_ms) {
          return { state: { ...next, last_notified_ms: now }, events: ['reminder'] };
        }
        return { state: next, events: [] };
      }
      const clearSince = state.clear_since_ms ?? now;
      if (now - clearSince >= s.clear_for_ms) {
        return {
          state: { ...next, status: 'resolved', clear_since_ms: null, resolved_at_ms: now },
          events: ['resolved'],
        };
      }
      return { state: { ...next, clear_since_ms: clearSince }, events: [] };
    }
  }
}
