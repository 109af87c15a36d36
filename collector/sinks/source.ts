// What an output sink (InfluxDB, …) reads from the collector's store. The store is the source of truth:
// a sink remembers how far it got (a cursor per stream) and catches up after an outage, so nothing is
// lost when the destination is down.
import type { Result } from '../../shared/result.ts';
import type { DirectionState, Heartbeat } from '../../shared/wire.ts';
import type { AlertEvent } from '../alerts/event.ts';

export interface LinkStatusPoint {
  time_ms: number;
  src: string;
  dst: string;
  /** Worst state over the link's rules at this evaluation. */
  state: DirectionState;
  rtt_ms: number | null;
  rtt_statistic: string;
  loss_percent: number | null;
  goodput_bps: number | null;
  required_bps: number;
  max_rtt_ms: number;
}

export type SinkStream = 'results' | 'alert_events' | 'link_status' | 'agent_heartbeats';

export interface Stored<T> {
  /** Monotonic, assigned by the store in insertion order. */
  seq: number;
  value: T;
}

export interface SinkSource {
  resultsAfter(seq: number, limit: number): Stored<Result>[];
  alertEventsAfter(seq: number, limit: number): Stored<AlertEvent>[];
  linkStatusAfter(seq: number, limit: number): Stored<LinkStatusPoint>[];
  /** Every heartbeat the agents sent, as received (the store keeps them for its retention). */
  agentHeartbeatsAfter(seq: number, limit: number): Stored<Heartbeat>[];
  /** 0 when the sink has never written anything. */
  getCursor(sink: string, stream: SinkStream): number;
  setCursor(sink: string, stream: SinkStream, seq: number): void;
}
