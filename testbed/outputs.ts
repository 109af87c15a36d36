// Helpers for tests of the collector's outputs: whether its sinks have written everything the store
// holds, what the store holds per InfluxDB measurement, and what InfluxDB counts.
import type { RunningCollector } from '../collector/collector.ts';
import { MEASUREMENTS } from '../collector/sinks/influx-schema.ts';
import type { SinkSource, SinkStream } from '../collector/sinks/source.ts';
import { Store } from '../collector/store/store.ts';
import type { Influxd } from './influxd.ts';
import { waitFor } from './ports.ts';

const ALL = 1_000_000_000;

/** Rows of each stream stored after the sink's cursor. */
export function pending(source: SinkSource, sink: string): Record<SinkStream, number> {
  return {
    results: source.resultsAfter(source.getCursor(sink, 'results'), ALL).length,
    link_status: source.linkStatusAfter(source.getCursor(sink, 'link_status'), ALL).length,
    alert_events: source.alertEventsAfter(source.getCursor(sink, 'alert_events'), ALL).length,
    agent_heartbeats: source.agentHeartbeatsAfter(source.getCursor(sink, 'agent_heartbeats'), ALL).length,
  };
}

/** Waits until every running sink of the collector has written every row its store holds. */
export async function waitUntilWritten(c: RunningCollector, timeoutMs = 15_000): Promise<void> {
  await waitFor(
    'the outputs to write everything stored',
    async () => {
      const sinks = c.sinks().sinks;
      return (
        sinks.length > 0 &&
        sinks.every((s) => !s.failing && Object.values(pending(c.store, s.name)).every((n) => n === 0))
      );
    },
    timeoutMs,
  );
}

/** A field every point of the measurement has, to COUNT it by. */
const COUNTED: Record<string, string> = {
  [MEASUREMENTS.rtt]: 'duration_ms',
  [MEASUREMENTS.throughput]: 'duration_ms',
  [MEASUREMENTS.link]: 'state_code',
  [MEASUREMENTS.alert]: 'firing',
  [MEASUREMENTS.agent]: 'up',
};

/** Points per measurement, as InfluxQL COUNT sees them. */
export async function influxCounts(influx: Influxd, db: string): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const [m, f] of Object.entries(COUNTED)) {
    const [r] = await influx.query(`SELECT COUNT("${f}") FROM "${m}"`, db);
    out[m] = Number(r?.series?.[0]?.values[0]?.[1] ?? 0);
  }
  return out;
}

/** Rows per measurement in the store: what InfluxDB must count once everything is written. */
export function storeCounts(store: Store): Record<string, number> {
  const results = store.resultsAfter(0, ALL);
  return {
    [MEASUREMENTS.rtt]: results.filter((r) => r.value.kind === 'rtt').length,
    [MEASUREMENTS.throughput]: results.filter((r) => r.value.kind === 'throughput').length,
    [MEASUREMENTS.link]: store.linkStatusAfter(0, ALL).length,
    [MEASUREMENTS.alert]: store.alertEventsAfter(0, ALL).length,
    [MEASUREMENTS.agent]: store.agentHeartbeatsAfter(0, ALL).length,
  };
}

/**
 * Stops the collector (its outputs write what is left) and counts what its store holds, so that no
 * evaluation adds a row between counting the store and counting InfluxDB.
 */
export async function countsAfterClose(
  c: RunningCollector & { dataDir: string },
): Promise<Record<string, number>> {
  await c.close();
  const store = Store.open(c.dataDir);
  try {
    return storeCounts(store);
  } finally {
    store.close();
  }
}
