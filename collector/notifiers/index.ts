// The notifier table: each configured `notify:` entry, its stable name (the outbox keys deliveries
// by it) and its renderer. Adding a provider is one file and one line here.
import type { NotifierConfig } from '../../shared/config/schema.ts';
import type { AlertEvent } from '../alerts/event.ts';
import { renderAlertmanager } from './alertmanager.ts';
import { renderPagerDuty } from './pagerduty.ts';
import { renderSlack } from './slack.ts';
import { renderTeams } from './teams.ts';
import type { OutgoingRequest, RenderContext } from './types.ts';
import { renderWebhook } from './webhook.ts';

/** `name` when given, else type and URL: stable across reloads and restarts. */
export function notifierName(n: NotifierConfig): string {
  return n.name ?? `${n.type}:${n.url}`;
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
  event: AlertEvent,
  ctx: Omit<RenderContext, 'secret'>,
  env: NodeJS.ProcessEnv = process.env,
): RenderOutcome {
  const envName = secretEnvOf(n);
  const secret = envName === undefined ? null : (env[envName] ?? null);
  if (envName !== undefined && (secret === null || secret === '')) {
    return {
      ok: false,
      error: `${notifierName(n)}: environment variable ${envName} is not set in the collector's environment`,
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
