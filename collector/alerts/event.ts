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

/** "dallas ↔ london" for a link, the site for an agent, "output <name>" for one of the `outputs:`. */
export function subjectText(subject: AlertSubject): string {
  switch (subject.kind) {
    case 'link':
      return `${subject.sites[0]} ↔ ${subject.sites[1]}`;
    case 'agent':
      return subject.site;
    case 'output':
      return `output ${subject.output}`;
  }
}

/**
 * The subject's name in low-cardinality labels and PagerDuty's component: the link ("a--b"), the site,
 * or the output's name.
 */
export function subjectName(subject: AlertSubject): string {
  switch (subject.kind) {
    case 'link':
      return linkName(subject.sites);
    case 'agent':
      return subject.site;
    case 'output':
      return subject.output;
  }
}
