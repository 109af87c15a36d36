// PagerDuty Events API v2: `trigger` while firing (reminders re-trigger the same dedup_key, which
// PagerDuty folds into the open alert), `resolve` when resolved. The routing key comes from the
// environment variable named by routing_key_env, read at delivery time and never stored.
// Severity comes from the rule, so a dead link and a slow one do not page alike.
import type { NotifierConfig, PagerDutySeverity } from '../../shared/config/schema.ts';
import { subjectName } from '../alerts/event.ts';
import type { Notification, RenderContext, Renderer } from './types.ts';
import { directionsText, formatLimit, formatValue, iso, TEST_RULE } from './types.ts';

export type PagerDutyConfig = Extract<NotifierConfig, { type: 'pagerduty' }>;

/**
 * Rules that mean something cannot be measured or reached at all; every other rule (a link that works
 * but misses its requirement) is a warning unless the notifier says otherwise. Keyed by name, so a
 * rule added later is a warning until it is listed here.
 */
const CRITICAL_RULES: ReadonlySet<string> = new Set(['link_down', 'agent_down', 'measurement_failing']);

/**
 * The notifier's `severity` for the rule, else the rule's own (critical or `default`, itself warning
 * unless set). A plain string is one severity for every rule. The test notification is always info:
 * it must never look like an incident.
 */
export function pagerdutySeverity(rule: string, setting: PagerDutyConfig['severity']): PagerDutySeverity {
  if (rule === TEST_RULE) return 'info';
  if (typeof setting === 'string') return setting;
  return setting?.[rule] ?? (CRITICAL_RULES.has(rule) ? 'critical' : (setting?.default ?? 'warning'));
}

const GROUP: Record<Notification['subject']['kind'], string> = {
  link: 'links',
  agent: 'agents',
  output: 'outputs',
};

export function pagerdutyPayload(event: Notification, config: PagerDutyConfig, ctx: RenderContext) {
  const routing_key = ctx.secret ?? '';
  if (event.status === 'resolved') {
    return { routing_key, event_action: 'resolve' as const, dedup_key: event.dedup_key };
  }
  const component = subjectName(event.subject);
  const directions = directionsText(event);
  return {
    routing_key,
    event_action: 'trigger' as const,
    dedup_key: event.dedup_key,
    payload: {
      summary: event.summary.slice(0, 1024),
      source: `wanwatch:${component}`,
      severity: pagerdutySeverity(event.rule, config.severity),
      timestamp: iso(event.fired_at_ms) as string,
      component,
      group: GROUP[event.subject.kind],
      class: event.rule,
      custom_details: {
        observed: formatValue(event.observed, event.unit),
        required: formatLimit(event),
        started_at: iso(event.started_at_ms),
        ...(directions !== null ? { directions } : {}),
        ...(event.link
          ? { subclusters: event.link.subclusters.join(', '), derivation: event.link.derivation }
          : {}),
      },
    },
    client: 'wanwatch',
    ...(ctx.collector_url ? { client_url: ctx.collector_url } : {}),
  };
}

export const renderPagerDuty: Renderer<PagerDutyConfig> = (event, config, ctx) => ({
  url: config.url,
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify(pagerdutyPayload(event, config, ctx)),
});
