// How far each output is behind the store: the rows of each stream after its cursor (the sinks write
// in seq order and move the cursor after each flushed batch, collector/sinks/influx.ts). Counted as
// the newest seq minus the cursor, one index lookup per stream however far behind the output is (rows
// pruned for their age before the output wrote them would still count).
import type { SinkStream } from '../sinks/source.ts';
import type { Store } from '../store/store.ts';

/** The store's table behind each stream. */
const TABLES: Record<SinkStream, string> = {
  results: 'results',
  link_status: 'link_status',
  alert_events: 'alert_events',
  agent_heartbeats: 'heartbeats',
};

export class OutputLag {
  constructor(private readonly store: Store) {}

  behind(output: string): [SinkStream, number][] {
    return (Object.keys(TABLES) as SinkStream[]).map((stream) => {
      const after = this.store.getCursor(output, stream);
      const row = this.store.db.prepare(`SELECT MAX(seq) AS seq FROM ${TABLES[stream]}`).get() as {
        seq: number | null;
      };
      return [stream, Math.max(0, (row.seq ?? 0) - after)];
    });
  }
}
