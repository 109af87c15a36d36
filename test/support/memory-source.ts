// A SinkSource held in memory, for unit tests of the sinks only (the integration tests use the
// collector's real store). Rows get increasing seq numbers as they are added, as the store assigns them.
import type { AlertEvent } from '../../collector/alerts/event.ts';
import type { LinkStatusPoint, SinkSource, SinkStream, Stored } from '../../collector/sinks/source.ts';
import type { Result } from '../../shared/result.ts';
import type { Heartbeat } from '../../shared/wire.ts';

export class MemorySource implements SinkSource {
  private seq = 0;
  readonly results: Stored<Result>[] = [];
  readonly alertEvents: Stored<AlertEvent>[] = [];
  readonly linkStatus: Stored<LinkStatusPoint>[] = [];
  readonly heartbeats: Stored<Heartbeat>[] = [];
  readonly cursors = new Map<string, number>();

  addResult(v: Result): void {
    this.results.push({ seq: ++this.seq, value: v });
  }
  addAlertEvent(v: AlertEvent): void {
    this.alertEvents.push({ seq: ++this.seq, value: v });
  }
  addLinkStatus(v: LinkStatusPoint): void {
    this.linkStatus.push({ seq: ++this.seq, value: v });
  }
  addHeartbeat(v: Heartbeat): void {
    this.heartbeats.push({ seq: ++this.seq, value: v });
  }

  resultsAfter(seq: number, limit: number): Stored<Result>[] {
    return after(this.results, seq, limit);
  }
  alertEventsAfter(seq: number, limit: number): Stored<AlertEvent>[] {
    return after(this.alertEvents, seq, limit);
  }
  linkStatusAfter(seq: number, limit: number): Stored<LinkStatusPoint>[] {
    return after(this.linkStatus, seq, limit);
  }
  agentHeartbeatsAfter(seq: number, limit: number): Stored<Heartbeat>[] {
    return after(this.heartbeats, seq, limit);
  }
  getCursor(sink: string, stream: SinkStream): number {
    return this.cursors.get(`${sink}/${stream}`) ?? 0;
  }
  setCursor(sink: string, stream: SinkStream, seq: number): void {
    this.cursors.set(`${sink}/${stream}`, seq);
  }
}

function after<T>(rows: Stored<T>[], seq: number, limit: number): Stored<T>[] {
  return rows.filter((r) => r.seq > seq).slice(0, limit);
}
