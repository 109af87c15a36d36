// What the alert state machine emits and every notifier and sink consumes: one alert event type. Its
// shape is defined with the read API's replies in shared/wire.ts, because GET /api/v1/alerts serves the
// stored events as they are.
import type { AlertSubject } from '../../shared/wire.ts';

export type {
  AlertDirection,
  AlertEvent,
  AlertLinkContext,
  AlertRule,
  AlertSubject,
} from '../../shared/wire.ts';

/** A link's name in the dedup key and in low-cardinality labels: "dallas--london" (sites sorted). */
export const linkName = (sites: readonly [string, string]): string => `${sites[0]}--${sites[1]}`;

/** "dallas ↔ london" for a link, the site for an agent. */
export const subjectText = (subject: AlertSubject): string =>
  subject.kind === 'link' ? `${subject.sites[0]} ↔ ${subject.sites[1]}` : subject.site;
