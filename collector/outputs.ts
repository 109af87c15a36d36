// The collector's running outputs (`outputs:`, the InfluxDB sinks) across reloads. A restart closes the
// old sinks before it starts the new ones, so that an old and a new sink never advance the same cursor
// at once; an output that cannot start is logged and ingest and alerts run on without it.
import type { Logger } from '../shared/log.ts';
import type { Topology } from '../shared/topology/model.ts';
import { NO_SINKS, type RunningSinks, startSinks } from './sinks/index.ts';
import type { SinkOptions } from './sinks/influx.ts';
import type { SinkSource } from './sinks/source.ts';

export class Outputs {
  private running: RunningSinks = NO_SINKS;
  /** The restart under way, if any: restarts and the final close wait for it. */
  private change: Promise<void> = Promise.resolve();

  constructor(
    private readonly source: SinkSource,
    private readonly options: SinkOptions,
    private readonly log: Logger,
    /** Aborted when the collector shuts down: a restart under way then starts nothing. */
    private readonly shutdown: AbortSignal,
  ) {}

  get sinks(): RunningSinks {
    return this.running;
  }

  start(topology: Topology): void {
    try {
      this.running = startSinks(topology, this.source, this.log, this.options);
    } catch (err) {
      this.log.error('the outputs could not be started', { error: err });
    }
  }

  restart(topology: Topology): void {
    this.change = this.change.then(async () => {
      const old = this.running;
      this.running = NO_SINKS;
      await old.close().catch((err) => this.log.error('stopping the outputs failed', { error: err }));
      if (!this.shutdown.aborted) this.start(topology);
    });
  }

  /** Makes the sinks write newly stored rows now instead of at their flush interval. */
  poke(): void {
    this.running.poke();
  }

  /** Writes what is left (unless an output is failing) and stops every sink. */
  async close(): Promise<void> {
    await this.change;
    await this.running.close();
    this.running = NO_SINKS;
  }
}
