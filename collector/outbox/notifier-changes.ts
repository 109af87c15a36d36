// What the outbox does when the `notify:` list changes (at start, and on each topology reload).
// Notifiers are told apart by name (shared/config/schema.ts notifierNames), never by their settings:
// - settings changed (a corrected URL, a new key): its pending rows keep waiting for it and are tried
//   now with the new settings, and any firing alert it has no notification of is queued for it;
// - added: every alert firing now is queued for it as `firing`, so every `resolved` it later gets
//   follows a `firing`;
// - removed: its pending rows are dropped, one log line each (there is nobody to deliver them to).
// At start the list is compared with what the store holds: notifiers added while the collector was
// stopped get the firing alerts, rows of notifiers no longer listed are dropped.
import { type NotifierConfig, notifierNames } from '../../shared/config/schema.ts';
import type { Logger } from '../../shared/log.ts';
import type { Store } from '../store/store.ts';
import { dueNow, type FiringAlert, firingAlerts, pendingRows, queueFiring, renameRows } from './rows.ts';

export class NotifierChanges {
  /** The list last compared (a reload replaces the array), and each name's settings in it. */
  private seen: readonly NotifierConfig[] | undefined;
  private settings: Map<string, string> | undefined;

  constructor(
    private readonly store: Store,
    private readonly log: Logger,
    private readonly now: () => number,
  ) {}

  /** Whether `notify` is not the list compared last. */
  differs(notify: readonly NotifierConfig[]): boolean {
    return notify !== this.seen;
  }

  /** Compares `notify` with the list seen last and acts on the difference; true when it queued rows. */
  apply(notify: readonly NotifierConfig[]): boolean {
    if (!this.differs(notify)) return false;
    this.seen = notify;
    const names = notifierNames(notify);
    const settings = new Map(notify.map((n, i) => [names[i] as string, JSON.stringify(n)]));
    const before = this.settings;
    this.settings = settings;
    return this.store.db.transaction(() => {
      this.adoptLegacyNames(notify, names);
      const now = this.now();
      const firing = firingAlerts(this.store);
      if (before === undefined) {
        this.dropRowsOf(
          without(
            pendingRows(this.store).map((r) => r.notifier),
            settings,
          ),
        );
        let queued = false;
        for (const name of settings.keys()) queued = this.queueFirings(name, firing, now) > 0 || queued;
        return queued;
      }
      const removed = without(before.keys(), settings);
      this.dropRowsOf(removed);
      let acted = false;
      for (const [name, json] of settings) {
        const was = before.get(name);
        if (was === json) continue;
        acted = true;
        const queued = this.queueFirings(name, firing, now);
        if (was === undefined) {
          this.log.info(`notifier ${name} added; the alerts firing now are queued for it`, {
            notifier: name,
            firing: queued,
          });
          continue;
        }
        const pending = dueNow(this.store, name, now);
        this.log.info(`notifier ${name} changed; its pending notifications go out with the new settings`, {
          notifier: name,
          pending: pendingRows(this.store, name).length,
          rescheduled: pending,
          firing_queued: queued,
        });
      }
      return acted || removed.size > 0;
    })();
  }

  private queueFirings(name: string, firing: readonly FiringAlert[], now: number): number {
    return firing.filter((a) => queueFiring(this.store, name, a, now)).length;
  }

  private dropRowsOf(gone: ReadonlySet<string>): void {
    if (gone.size === 0) return;
    const now = this.now();
    for (const row of pendingRows(this.store)) {
      if (!gone.has(row.notifier)) continue;
      this.store.markFailed(row.id, now, `not delivered: notifier ${row.notifier} was removed from notify:`);
      this.log.warn(
        `dropped a pending ${row.event.status} notification of ${row.event.dedup_key}: notifier ${row.notifier} was removed from notify:`,
        { notifier: row.notifier, dedup_key: row.event.dedup_key, status: row.event.status },
      );
    }
  }

  /**
   * Until this version an unnamed notifier was always called "<type>:<url>"; the only unnamed one of
   * its type is now called "<type>", so that correcting its URL keeps it. Its rows follow it.
   */
  private adoptLegacyNames(notify: readonly NotifierConfig[], names: readonly string[]): void {
    notify.forEach((n, i) => {
      const legacy = `${n.type}:${n.url}`;
      if (n.name === undefined && names[i] !== legacy && !names.includes(legacy))
        renameRows(this.store, legacy, names[i] as string);
    });
  }
}

/** The names of `names` that `kept` does not hold (Set.difference is not in Node 20). */
function without(names: Iterable<string>, kept: ReadonlyMap<string, unknown>): Set<string> {
  return new Set([...names].filter((n) => !kept.has(n)));
}
