// Starts every output of the topology's `outputs:` section. The collector calls startSinks once its
// store is open (and again, after close(), when a reloaded topology changes `outputs:`); poke() after
// storing new rows makes the sinks write them without waiting for their flush_interval.
//
// An output that cannot start (its secret's environment variable is unset) is logged and left out;
// the others run, and nothing about the outputs ever holds up ingest or evaluation.
import type { Logger } from '../../shared/log.ts';
import type { Topology } from '../../shared/topology/model.ts';
import { InfluxSink, type SinkOptions, sinkName } from './influx.ts';
import type { SinkSource } from './source.ts';

export interface RunningSinks {
  sinks: InfluxSink[];
  poke(): void;
  /** Writes what is left (unless an output is failing) and stops every sink. */
  close(): Promise<void>;
}

export const NO_SINKS: RunningSinks = { sinks: [], poke: () => {}, close: async () => {} };

export function startSinks(
  topology: Pick<Topology, 'outputs'>,
  source: SinkSource,
  log: Logger,
  options: SinkOptions = {},
): RunningSinks {
  const sinks: InfluxSink[] = [];
  const names = new Set<string>();
  for (const output of topology.outputs) {
    const name = sinkName(output);
    // The topology loader refuses duplicate names; a second sink on one cursor would skip rows.
    if (names.has(name)) throw new Error(`outputs: two outputs are both named "${name}"`);
    names.add(name);
    try {
      sinks.push(new InfluxSink(output, source, log.child({ component: 'sink' }), options));
    } catch (err) {
      log.error(
        `${err instanceof Error ? err.message : String(err)}; this output is not started (the other outputs, ingest and alerts run on): set it and restart the collector`,
        { sink: name },
      );
    }
  }
  for (const s of sinks) {
    s.start();
    log.info('InfluxDB output started', { sink: s.name });
  }
  return {
    sinks,
    poke: () => {
      for (const s of sinks) s.poke();
    },
    close: async () => {
      await Promise.all(sinks.map((s) => s.close()));
    },
  };
}
