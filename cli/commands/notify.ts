import { hostname } from 'node:os';
import type { Command } from 'commander';
import { ENDS_AFTER_RESENDS, resendIntervalMs } from '../../collector/notifiers/alertmanager.ts';
import { notifiersByName } from '../../collector/notifiers/index.ts';
import { TEST_SUMMARY } from '../../collector/notifiers/test-notification.ts';
import { DEFAULT_RETRY } from '../../collector/outbox/retry.ts';
import { redact } from '../../collector/outbox/send.ts';
import { sendTestNotification, type TestOutcome } from '../../collector/outbox/test-send.ts';
import { formatDuration } from '../../shared/config/duration.ts';
import { loadTopology } from '../../shared/config/load.ts';
import type { NotifierConfig } from '../../shared/config/schema.ts';
import { renderTable } from '../../shared/table.ts';
import { CliError, EXIT } from '../errors.ts';
import { msOption } from '../options.ts';

export function registerNotify(program: Command): void {
  const notify = program
    .command('notify')
    .summary("try the topology file's notifiers")
    .description("Commands for the receivers in the topology file's `notify:` list.");
  notify
    .command('test')
    .summary('send a test notification to each notifier and print what each receiver answered')
    .description(
      [
        [
          'Sends each notifier of the topology file (or only --notifier) one clearly marked test notification:',
          `rule "test", severity info, summary "${TEST_SUMMARY}". It is rendered and sent exactly as the`,
          'collector sends alerts, once, without retries. PagerDuty gets a trigger (severity info) and a',
          'resolve right after it, so no incident stays open; Alertmanager gets an alert that ends by itself',
          `${ENDS_AFTER_RESENDS} × its resend_interval later (3 min by default). Secrets (secret_env,`,
          'routing_key_env) are read from the environment, as the collector reads them.',
        ].join(' '),
        [
          "Prints each receiver's answer (HTTP status, or why nothing was answered). Exit code 0 when every",
          'receiver accepted (2xx), 1 when one refused or could not be reached, 2 on bad input (the topology',
          'file, an unknown --notifier).',
        ].join(' '),
      ].join('\n\n'),
    )
    .requiredOption('-c, --config <file>', 'topology file (YAML)')
    .option(
      '--notifier <name>',
      'only this notifier, by the name the collector logs (its name, else its type, or type:URL when several unnamed share a type); default: all',
    )
    .option(
      '--timeout <duration>',
      `how long to wait for each answer (default: ${formatDuration(DEFAULT_RETRY.timeout_ms)}, as the collector)`,
      msOption('--timeout', 1),
    )
    .action(async (opts: { config: string; notifier?: string; timeout?: number }) => {
      const all = notifiersByName(loadTopology(opts.config).notify);
      if (all.size === 0)
        throw new CliError(`${opts.config} has no notify: entries; there is nothing to test`);
      if (opts.notifier !== undefined && !all.has(opts.notifier))
        throw new CliError(
          `--notifier: ${opts.config} has no notifier "${opts.notifier}"; its notifiers: ${[...all.keys()].join(', ')}`,
        );
      const chosen = [...all].filter(([name]) => opts.notifier === undefined || name === opts.notifier);
      const from = hostname();
      const outcomes = await Promise.all(
        chosen.map(async ([name, n]) => {
          const outcome = await sendTestNotification(n, {
            nowMs: Date.now(),
            from,
            env: process.env,
            timeoutMs: opts.timeout ?? DEFAULT_RETRY.timeout_ms,
          });
          return { name, n, outcome };
        }),
      );
      const rows = outcomes.map(({ name, n, outcome }) => [
        name,
        n.type,
        redact(n.url),
        outcome.accepted ? 'accepted' : 'NOT ACCEPTED',
        answerText(n, outcome),
      ]);
      process.stdout.write(`${renderTable(['NOTIFIER', 'TYPE', 'RECEIVER', 'RESULT', 'ANSWER'], rows)}\n`);
      process.exitCode = outcomes.every((o) => o.outcome.accepted) ? EXIT.ok : EXIT.failed;
    });
}

/** "HTTP 200", for PagerDuty "trigger HTTP 202, resolve HTTP 202", or what went wrong. */
function answerText(n: NotifierConfig, outcome: TestOutcome): string {
  const parts = outcome.steps.map((s) => {
    const said = s.error ?? `HTTP ${s.answer?.status}`;
    return n.type === 'pagerduty' ? `${s.what} ${said}` : said;
  });
  const ends =
    n.type === 'alertmanager' && outcome.accepted
      ? ` (ends by itself in ${formatDuration(ENDS_AFTER_RESENDS * resendIntervalMs(n))})`
      : '';
  return `${parts.join(', ')}${ends}`;
}
