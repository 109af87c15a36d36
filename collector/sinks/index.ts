// Starts every output of the topology's `outputs:` section. The collector calls startSinks once, after
// its store is open, and close() on shutdown; poke() after storing new rows makes the sinks write them
// without waiting for their flush_interval.
import type { Logger } from '../../shared/log.ts';
import type { Topology } from '../../shared/topology/model.ts';
import { InfluxSink, type SinkOptions } from './influx.ts';
import type { SinkSource } from './source.ts';

export interface RunningSinks {
  sinks: InfluxSink[];
  poke(): void;
  close(): Promise<void>;
}

export function startSinks(
  topology: Pick<Topology, 'outputs'>,
  source: SinkSource,
  log: Logger,
  options: SinkOptions = {},
): RunningSinks {
  const sinks: InfluxSink[] = [];
  const names = new Set<string>();
  for (const output of topology.outputs) {
    const sink = new InfluxSink(output, source, log.child({ component: 'sink' }), options);
    if (names.has(sink.name))
      throw new Error(
        `outputs: two outputs are both named "${sink.name}"; give each a distinct name (it keys the stored cursor)`,
      );
    names.add(sink.name);
    sinks.push(sink);
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
