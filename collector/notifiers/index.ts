// The notifier table: each configured `notify:` entry, its stable name (the outbox keys deliveries
// by it) and its renderer. Adding a provider is one file and one line here.
import { type NotifierConfig, notifierNames } from '../../shared/config/schema.ts';
import { renderAlertmanager } from './alertmanager.ts';
import { renderPagerDuty } from './pagerduty.ts';
import { renderSlack } from './slack.ts';
import { renderTeams } from './teams.ts';
import type { Notification, OutgoingRequest, RenderContext } from './types.ts';
import { renderWebhook } from './webhook.ts';

export { notifierNames };

/**
 * The notifier's name among `all`, the `notify:` list it belongs to (an unnamed notifier's name
 * depends on its siblings). Shaped for `notify.map(notifierName)`.
 */
export function notifierName(n: NotifierConfig, _index?: number, all?: readonly NotifierConfig[]): string {
  const list = all?.includes(n) ? all : [n];
  return notifierNames(list)[list.indexOf(n)] as string;
}

/** The notifiers by name, in the order of the file. */
export function notifiersByName(notify: readonly NotifierConfig[]): Map<string, NotifierConfig> {
  const names = notifierNames(notify);
  return new Map(notify.map((n, i) => [names[i] as string, n]));
}

/** The environment variable holding the notifier's secret, if it uses one. */
export function secretEnvOf(n: NotifierConfig): string | undefined {
  if (n.type === 'webhook') return n.secret_env;
  if (n.type === 'pagerduty') return n.routing_key_env;
  return undefined;
}

export type RenderOutcome = { ok: true; request: OutgoingRequest } | { ok: false; error: string };

/** Renders the request, reading the notifier's secret from `env`; a missing required secret is an error. */
export function renderNotification(
  n: NotifierConfig,
  event: Notification,
  ctx: Omit<RenderContext, 'secret'>,
  env: NodeJS.ProcessEnv = process.env,
): RenderOutcome {
  const envName = secretEnvOf(n);
  const secret = envName === undefined ? null : (env[envName] ?? null);
  if (envName !== undefined && (secret === null || secret === '')) {
    const field = n.type === 'pagerduty' ? 'routing_key_env' : 'secret_env';
    return {
      ok: false,
      error: `environment variable ${envName} (the notifier's ${field}) is not set; set it where wanwatch runs`,
    };
  }
  const full: RenderContext = { ...ctx, secret };
  switch (n.type) {
    case 'webhook':
      return { ok: true, request: renderWebhook(event, n, full) };
    case 'slack':
      return { ok: true, request: renderSlack(event, n, full) };
    case 'teams':
      return { ok: true, request: renderTeams(event, n, full) };
    case 'pagerduty':
      return { ok: true, request: renderPagerDuty(event, n, full) };
    case 'alertmanager':
      return { ok: true, request: renderAlertmanager(event, n, full) };
  }
}
