// Sends one notifier its test notification (`wanwatch notify test`): rendered by the notifier's own
// renderer and sent by send.ts, as the outbox would, but once and without retries, so that the answer
// shown is the receiver's own.
import type { NotifierConfig } from '../../shared/config/schema.ts';
import { renderNotification } from '../notifiers/index.ts';
import { testNotifications } from '../notifiers/test-notification.ts';
import { type SendAnswer, send } from './send.ts';

export interface TestStep {
  /** What was sent: "firing", or for PagerDuty "trigger" / "resolve". */
  what: string;
  /** null: not sent (a secret missing, or an earlier step refused). */
  answer: SendAnswer | null;
  error: string | null;
}

export interface TestOutcome {
  steps: TestStep[];
  /** Every step sent and answered 2xx. */
  accepted: boolean;
}

export async function sendTestNotification(
  n: NotifierConfig,
  opts: { nowMs: number; from: string; env: NodeJS.ProcessEnv; timeoutMs: number; collectorUrl?: string },
): Promise<TestOutcome> {
  const steps: TestStep[] = [];
  for (const event of testNotifications(n, opts.nowMs, opts.from)) {
    const what = n.type === 'pagerduty' ? (event.status === 'firing' ? 'trigger' : 'resolve') : event.status;
    const rendered = renderNotification(
      n,
      event,
      { now_ms: opts.nowMs, collector_url: opts.collectorUrl ?? null },
      opts.env,
    );
    if (!rendered.ok) {
      steps.push({ what, answer: null, error: `not sent: ${rendered.error}` });
      break;
    }
    const answer = await send(rendered.request, { timeoutMs: opts.timeoutMs });
    steps.push({ what, answer, error: answer.verdict === 'delivered' ? null : answer.problem });
    if (answer.verdict !== 'delivered') break;
  }
  return { steps, accepted: steps.every((s) => s.error === null) };
}
