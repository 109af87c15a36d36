// Keeps the store within `collector.retention`: prunes older rows at start and then hourly. A failed
// prune is logged and tried again at the next hour; it never holds up ingest or alerts.
import type { Logger } from '../shared/log.ts';
import type { Store } from './store/store.ts';

const PRUNE_INTERVAL_MS = 3_600_000;

/** Prunes now and every hour until `shutdown` is aborted; `retentionMs` is read at each prune (reloads change it). */
export function pruneOnSchedule(
  store: Store,
  retentionMs: () => number,
  log: Logger,
  shutdown: AbortSignal,
): void {
  const prune = () => {
    try {
      const { future, ...n } = store.prune(Date.now(), retentionMs());
      if (n.results + n.link_status + n.heartbeats > 0) log.info('pruned data older than the retention', n);
      if (future > 0)
        log.warn(
          `${future} stored results are dated in the future: an agent's clock is ahead. The alert rules leave ` +
            'them out until their date comes, and they are pruned once received longer ago than the retention; ' +
            "set the agents' clocks right (NTP)",
          { future },
        );
    } catch (err) {
      log.error('pruning old data failed', { error: err });
    }
  };
  const timer = setInterval(prune, PRUNE_INTERVAL_MS);
  timer.unref();
  shutdown.addEventListener('abort', () => clearInterval(timer), { once: true });
  prune();
}
