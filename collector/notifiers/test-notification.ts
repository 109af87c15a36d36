// The test notification of `wanwatch notify test`: rendered by the same renderers as every alert, and
// marked the way each receiver understands: rule "test", severity info, a summary saying no action is
// needed. PagerDuty gets a resolve right after the trigger, so no incident stays open; Alertmanager
// gets an alert whose endsAt lies a few resend intervals ahead, so it ends by itself.
import type { NotifierConfig } from '../../shared/config/schema.ts';
import { type Notification, TEST_RULE } from './types.ts';

export const TEST_SUMMARY = 'wanwatch test notification — no action needed';

/** What is sent, in order, to test one notifier; `from` names the host sending it. */
export function testNotifications(n: NotifierConfig, nowMs: number, from: string): Notification[] {
  const firing: Notification = {
    dedup_key: `wanwatch/${TEST_RULE}/${from}/${new Date(nowMs).toISOString()}`,
    rule: TEST_RULE,
    status: 'firing',
    reminder: false,
    severity: 'info',
    subject: { kind: 'agent', site: from },
    started_at_ms: nowMs,
    fired_at_ms: nowMs,
    resolved_at_ms: null,
    time_ms: nowMs,
    observed: null,
    threshold: null,
    unit: 's',
    directions: [],
    summary: `${TEST_SUMMARY} (sent by wanwatch notify test from ${from})`,
    link: null,
  };
  if (n.type !== 'pagerduty') return [firing];
  return [firing, { ...firing, status: 'resolved', resolved_at_ms: nowMs }];
}
