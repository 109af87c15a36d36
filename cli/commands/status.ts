import type { Command } from 'commander';
import type { LinksReply } from '../../collector/read.ts';
import { renderTable } from '../../shared/table.ts';
import { CliError, EXIT } from '../errors.ts';

export function registerStatus(program: Command): void {
  program
    .command('status')
    .summary("print every link's measured state from a running collector")
    .description(
      [
        'Asks a collector (GET /api/v1/links) for every link and direction and prints the RTT statistic',
        'against its limit, loss over the alert window, the latest goodput against the required rate, and',
        'the alert state. Exit code 1 when any direction is firing, 0 otherwise, 2 when the collector',
        'cannot be reached.',
      ].join(' '),
    )
    .requiredOption('--collector <url>', 'the collector, e.g. http://127.0.0.1:8080')
    .option('--json', "print the collector's /api/v1/links reply as it is", false)
    .action(async (opts: { collector: string; json: boolean }) => {
      let url: URL;
      try {
        url = new URL('/api/v1/links', opts.collector);
      } catch {
        throw new CliError(`--collector: "${opts.collector}" is not a URL such as http://127.0.0.1:8080`);
      }
      let reply: LinksReply;
      try {
        const res = await fetch(url, { signal: AbortSignal.timeout(10_000) });
        if (!res.ok) throw new Error(`HTTP ${res.status}: ${(await res.text()).slice(0, 200)}`);
        reply = (await res.json()) as LinksReply;
      } catch (err) {
        const cause = (err as { cause?: { code?: string } }).cause?.code;
        throw new CliError(
          `cannot read ${url.href}: ${cause ?? (err as Error).message}; is the collector running there?`,
        );
      }
      if (opts.json) process.stdout.write(`${JSON.stringify(reply)}\n`);
      else process.stdout.write(renderStatus(reply));
      const firing = reply.links.some((l) => l.directions.some((d) => d.state === 'firing'));
      process.exitCode = firing ? EXIT.failed : EXIT.ok;
    });
}

const r = (n: number, d = 1) => String(Math.round(n * 10 ** d) / 10 ** d);

export function renderStatus(reply: LinksReply): string {
  if (reply.links.length === 0) return 'No links: no site shares deployment traffic with another.\n';
  const rows = reply.links.flatMap((l) =>
    l.directions.map((d) => [
      `${l.sites[0]} – ${l.sites[1]}`,
      `${d.src} → ${d.dst}`,
      `${d.rtt_ms === null ? '-' : r(d.rtt_ms)} / ${r(d.max_rtt_ms)} ms`,
      `${d.loss_percent === null ? '-' : r(d.loss_percent, 2)} / ${r(d.max_loss_percent, 2)} %`,
      `${d.goodput_bps === null ? '-' : r(d.goodput_bps / 1e6, 2)} / ${r(d.required_bps / 1e6, 2)} Mbps`,
      d.state,
    ]),
  );
  const window = `${Math.round(reply.window_ms / 1000)} s`;
  return `${renderTable(
    [
      'LINK',
      'DIRECTION',
      `RTT ${reply.rtt_statistic} / LIMIT`,
      'LOSS / LIMIT',
      'GOODPUT / REQUIRED',
      'STATE',
    ],
    rows,
    ['left', 'left', 'right', 'right', 'right', 'left'],
  )}\n(RTT and loss over the last ${window}; goodput from the latest throughput test)\n`;
}
