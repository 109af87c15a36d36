import { type Command, Option } from 'commander';
import { renderTable } from '../../shared/table.ts';
import { agentsReplySchema, errorReplySchema, type LinksReply, linksReplySchema } from '../../shared/wire.ts';
import { CliError, EXIT } from '../errors.ts';
import { CREDENTIAL_ENV, clientFetch, readCredential, withClientTls, withCredential } from '../options.ts';

export function registerStatus(program: Command): void {
  withClientTls(
    withCredential(
      program
        .command('status')
        .summary("print every link's measured state from a running collector")
        .description(
          [
            'Asks a collector (GET /api/v1/links) for every link and direction and prints the RTT statistic',
            'against its limit, loss over the alert window, the latest goodput against the required rate, and',
            'the alert state, then what keeps a direction from being measured, stale goodput and failing',
            'throughput tests, and agents the collector refuses for their version (GET /api/v1/agents).',
            'Exit code 1 when any direction is firing or cannot be measured or an agent is refused, 0 otherwise,',
            '2 when the collector cannot be reached, refuses the credential, or its reply is not what this',
            'wanwatch reads. Reading needs a viewer or operator credential (--token-file or',
            `$${CREDENTIAL_ENV}) unless the collector's reads are public.`,
          ].join(' '),
        )
        .addOption(
          new Option('--collector <url>', 'the collector, e.g. http://127.0.0.1:8080')
            .env('WANWATCH_COLLECTOR')
            .makeOptionMandatory(),
        )
        .option('--json', "print the collector's /api/v1/links reply as it is", false),
      'viewer',
    ),
  ).action(
    async (opts: {
      collector: string;
      json: boolean;
      tokenFile?: string;
      ca?: string;
      tlsCert?: string;
      tlsKey?: string;
    }) => {
      let url: URL;
      try {
        url = new URL('/api/v1/links', opts.collector);
      } catch {
        throw new CliError(`--collector: "${opts.collector}" is not a URL such as http://127.0.0.1:8080`);
      }
      const fetchImpl = clientFetch(opts) ?? fetch;
      const credential = readCredential(opts);
      let text: string;
      let status: number;
      try {
        const res = await fetchImpl(url, {
          signal: AbortSignal.timeout(10_000),
          ...(credential === undefined ? {} : { headers: { authorization: `Bearer ${credential}` } }),
        });
        text = await res.text();
        status = res.status;
      } catch (err) {
        const cause = (err as { cause?: { code?: string } }).cause?.code;
        throw new CliError(
          `cannot read ${url.href}: ${cause ?? (err as Error).message}; is the collector running there?`,
        );
      }
      if (status < 200 || status > 299) throw refusal(url, status, text, credential !== undefined);
      const reply = readLinksReply(url, text);
      if (opts.json) process.stdout.write(`${JSON.stringify(JSON.parse(text))}\n`);
      else process.stdout.write(renderStatus(reply));
      // Agents the collector refuses for their version measure nothing: said after the table.
      const refused = opts.json ? [] : await refusedAgents(fetchImpl, url, credential);
      if (refused.length > 0) process.stdout.write(`\n${refused.join('\n')}\n`);
      // A round cut short by its agent stopping is not a site that cannot measure (agent_down's business).
      const bad = reply.links.some((l) =>
        l.directions.some(
          (d) => d.state === 'firing' || (d.not_measured !== null && d.not_measured.code !== 'cancelled'),
        ),
      );
      process.exitCode = bad || refused.length > 0 ? EXIT.failed : EXIT.ok;
    },
  );
}

/**
 * One line per agent the collector refuses for its version (its agents view's version_refused), with
 * what the collector told it. Nothing when the view cannot be read: the links reply said what matters.
 */
async function refusedAgents(
  fetchImpl: typeof fetch,
  links: URL,
  credential: string | undefined,
): Promise<string[]> {
  try {
    const res = await fetchImpl(new URL('/api/v1/agents', links), {
      signal: AbortSignal.timeout(10_000),
      ...(credential === undefined ? {} : { headers: { authorization: `Bearer ${credential}` } }),
    });
    if (!res.ok) return [];
    const parsed = agentsReplySchema.safeParse(await res.json());
    if (!parsed.success) return [];
    return parsed.data.agents.flatMap((a) =>
      a.version_refused
        ? [
            `agent of site ${a.site} refused for its version (${a.version_refused.verdict.replace('_', ' ')}): ${a.version_refused.message}`,
          ]
        : [],
    );
  } catch {
    return [];
  }
}

/** A non-2xx answer as one line, with what to do about a refused or missing credential. */
function refusal(url: URL, status: number, text: string, sent: boolean): CliError {
  let message = text.trim().slice(0, 200);
  try {
    const parsed = errorReplySchema.safeParse(JSON.parse(text));
    if (parsed.success) message = parsed.data.error;
  } catch {
    // not JSON: its start is shown as it is
  }
  const what =
    status === 401 && !sent
      ? `; give a viewer or operator credential with --token-file FILE or $${CREDENTIAL_ENV}`
      : status === 401 || status === 403
        ? `; check the credential in --token-file or $${CREDENTIAL_ENV} against the collector's collector.credentials`
        : '';
  return new CliError(`${url.href} answered ${status}: ${message}${what}`);
}

/** The reply, checked against the wire schema; a CliError saying what is wrong with it otherwise. */
function readLinksReply(url: URL, text: string): LinksReply {
  const notOurs = (what: string) =>
    new CliError(
      `${url.href} answered, but ${what}; is a wanwatch collector of the same version running there?`,
    );
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw notOurs(`not with JSON (it began ${JSON.stringify(text.slice(0, 60))})`);
  }
  const parsed = linksReplySchema.safeParse(body);
  if (parsed.success) return parsed.data;
  const issues = parsed.error.issues;
  const shown = issues.slice(0, 3).map((i) => {
    const at = i.path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('');
    return `${at.replace(/^\./, '') || '(body)'}: ${i.message}`;
  });
  const more = issues.length > shown.length ? `, and ${issues.length - shown.length} more problems` : '';
  throw notOurs(`not with the links reply this wanwatch reads (${shown.join('; ')}${more})`);
}

const r = (n: number, d = 1) => String(Math.round(n * 10 ** d) / 10 ** d);
/** RTT to 0.1 ms, below 1 ms to the µs (a LAN or loopback RTT of 0.014 ms is not shown as 0). */
const rtt = (ms: number) => (ms > 0 && ms < 1 ? r(ms, 3) : r(ms));

export function renderStatus(reply: LinksReply): string {
  if (reply.links.length === 0) return 'No links: no site shares deployment traffic with another.\n';
  const rows = reply.links.flatMap((l) =>
    l.directions.map((d) => [
      `${l.sites[0]} – ${l.sites[1]}`,
      `${d.src} → ${d.dst}`,
      `${d.rtt_ms === null ? '-' : rtt(d.rtt_ms)} / ${r(d.max_rtt_ms)} ms`,
      `${d.loss_percent === null ? '-' : r(d.loss_percent, 2)} / ${r(d.max_loss_percent, 2)} %`,
      `${d.goodput_bps === null ? '-' : r(d.goodput_bps / 1e6, 2)} / ${r(d.required_bps / 1e6, 2)} Mbps${d.goodput_stale ? ' (stale)' : ''}`,
      d.not_measured === null ? d.state : d.state === 'unknown' ? 'not measured' : `${d.state}, not measured`,
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
  )}\n(RTT and loss over the last ${window}; goodput from the latest throughput test)\n${directionNotes(reply)}`;
}

/** What the table cannot say: why a direction is not measured, stale goodput, failing tests. */
function directionNotes(reply: LinksReply): string {
  const ago = (ms: number) => `${Math.max(0, Math.round((reply.time_ms - ms) / 1000))} s ago`;
  const lines: string[] = [];
  for (const d of reply.links.flatMap((l) => l.directions)) {
    const at = `${d.src} → ${d.dst}`;
    const nm = d.not_measured;
    if (nm) lines.push(`${at}: not measured (latest round ${ago(nm.time_ms)}): ${nm.code}: ${nm.message}`);
    if (d.goodput_stale && d.last_throughput_ms !== null)
      lines.push(
        `${at}: goodput is stale: the latest successful throughput test ran ${ago(d.last_throughput_ms)}`,
      );
    const tf = d.throughput_failure;
    if (tf)
      lines.push(
        `${at}: the latest throughput test failed (${tf.consecutive} in a row, ${ago(tf.time_ms)}): ${tf.code}: ${tf.message}`,
      );
  }
  return lines.length === 0 ? '' : `\n${lines.join('\n')}\n`;
}
