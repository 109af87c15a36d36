// `wanwatch qualify`: pre-deployment link qualification with a PASS / WARN / FAIL report per link.
// Direct mode measures one link from here to a `wanwatch reflector`; mesh mode asks the collector to
// have its agents measure every link of the topology, one throughput test per site at a time. This file
// turns the options into a run of qualify/direct.ts or qualify/mesh.ts and prints the report.

import { hostname } from 'node:os';
import { type Command, Option } from 'commander';
import { directRequirement, qualifyDirect } from '../../qualify/direct.ts';
import { QualifyError } from '../../qualify/errors.ts';
import { qualifyMesh } from '../../qualify/mesh.ts';
import { nameEnds } from '../../qualify/report/model.ts';
import { renderTerminal } from '../../qualify/report/text.ts';
import { writeReportFiles } from '../../qualify/report/write.ts';
import { defaultTestDuration, type RunSettings } from '../../qualify/run.ts';
import { runSession, type Session } from '../../qualify/session.ts';
import { exitCodeFor } from '../../qualify/verdict.ts';
import { loadTopology } from '../../shared/config/load.ts';
import {
  PROBE_METHODS,
  type ProbeMethod,
  RTT_STATISTICS,
  type RttStatistic,
} from '../../shared/config/schema.ts';
import { DEFAULT_IPERF3_PORT, DEFAULT_REFLECTOR_PORT } from '../../shared/ports.ts';
import { CliError } from '../errors.ts';
import {
  CREDENTIAL_ENV,
  choiceOption,
  clientFetch,
  intOption,
  msOption,
  portOption,
  readCredential,
  secondsOption,
  withClientTls,
  withCredential,
} from '../options.ts';

interface QualifyOpts {
  to?: string;
  site?: string;
  peerSite?: string;
  config?: string;
  collector?: string;
  links?: string;
  subclusters?: number;
  mbpsPerSubcluster: number;
  extraMbps: number;
  requiredMbps?: number;
  maxRttMs: number;
  maxLossPercent: number;
  rttStatistic: RttStatistic;
  duration: number;
  testDuration?: number;
  method: ProbeMethod;
  port: number;
  iperf3Port: number;
  count: number;
  spacing: number;
  throughput: boolean;
  json: boolean;
  markdown?: string;
  html?: string;
  quiet: boolean;
  tokenFile?: string;
  ca?: string;
  tlsCert?: string;
  tlsKey?: string;
}

const decimal = (name: string) => (text: string) => {
  const n = Number(text);
  if (!Number.isFinite(n) || n < 0) throw new CliError(`${name} must be a number ≥ 0 (got "${text}")`);
  return n;
};

export function registerQualify(program: Command): void {
  withClientTls(
    withCredential(
      program
        .command('qualify')
        .summary('qualify WAN links before go-live: PASS / WARN / FAIL per link, with the evidence')
        .description(
          [
            'Measures a link for --duration and judges it against what the deployment needs: RTT rounds for ' +
              'the whole run (median, p95, max, loss, jitter), TCP goodput and UDP at the required rate in both ' +
              'directions, and RTT under load. Each link gets PASS, WARN (within 10 % of a limit) or FAIL, with ' +
              'the reason and the margin.',
            'Direct mode: wanwatch qualify --to HOST --subclusters N, against `wanwatch reflector` on HOST.',
            'Mesh mode: wanwatch qualify -c FILE --collector URL [--links A-B,…], through the collector and ' +
              'its agents (every link of the topology, one throughput test per site at a time); it takes an ' +
              `operator credential (--token-file FILE or $${CREDENTIAL_ENV}).`,
            'Reports: a table on the terminal, --json on stdout, --markdown FILE and --html FILE (a ' +
              'self-contained page with charts). Progress goes to stderr. Ctrl-C stops and reports what was ' +
              'measured. Exit code: 0 every link passes (WARN included), 1 a link fails, 2 error or incomplete.',
          ].join('\n\n'),
        )
        .option('--to <host>', 'direct mode: the far end, running `wanwatch reflector`')
        .option(
          '--site <name>',
          "direct mode: this end's site name in the report (default: this host's name)",
        )
        .option('--peer-site <name>', "direct mode: the far end's site name in the report (default: --to)")
        .option(
          '--subclusters <n>',
          'direct mode: subclusters whose traffic crosses the link',
          intOption('--subclusters', 0, 100_000),
        )
        .option('-c, --config <file>', 'mesh mode: topology file (the links and their requirements)')
        .option('--collector <url>', 'mesh mode: the collector whose agents measure the links')
        .option(
          '--links <list>',
          'mesh mode: only these links, e.g. dallas-london,dallas-tokyo (default: all)',
        )
        .option(
          '--mbps-per-subcluster <mbps>',
          'direct mode: bandwidth per subcluster',
          decimal('--mbps-per-subcluster'),
          5,
        )
        .option(
          '--extra-mbps <mbps>',
          'direct mode: bandwidth for other traffic on the link',
          decimal('--extra-mbps'),
          0,
        )
        .option(
          '--required-mbps <mbps>',
          'direct mode: the required bandwidth, instead of subclusters × per-subcluster',
          decimal('--required-mbps'),
        )
        .option('--max-rtt-ms <ms>', 'direct mode: round-trip limit', decimal('--max-rtt-ms'), 80)
        .option('--max-loss-percent <pct>', 'direct mode: loss limit', decimal('--max-loss-percent'), 1)
        .option(
          '--rtt-statistic <stat>',
          `RTT statistic judged (${RTT_STATISTICS.join(', ')})`,
          choiceOption('--rtt-statistic', RTT_STATISTICS),
          'p95',
        )
        .addOption(
          new Option('--duration <time>', 'how long to measure each link (e.g. 10s, 5m)')
            .argParser(secondsOption('--duration', 2000))
            .default(300_000, '5m'),
        )
        .option(
          '--test-duration <time>',
          'length of each of the 4 throughput tests (default: 15 % of --duration, 1–30 s)',
          secondsOption('--test-duration', 1000),
        )
        .addOption(new Option('--method <method>', 'RTT probe method').choices(PROBE_METHODS).default('udp'))
        .option(
          '--port <port>',
          'direct mode: the reflector port (UDP echo, and TCP for --method tcp)',
          portOption('--port'),
          DEFAULT_REFLECTOR_PORT,
        )
        .option(
          '--iperf3-port <port>',
          'direct mode: the iperf3 server port',
          portOption('--iperf3-port'),
          DEFAULT_IPERF3_PORT,
        )
        .option('--count <n>', 'probes per RTT round', intOption('--count', 1, 1000), 10)
        .option('--spacing <ms>', 'gap between probes in a round', msOption('--spacing', 1), 100)
        .option('--no-throughput', 'RTT and loss only: no iperf3 tests')
        .option('--json', 'print the report as JSON on stdout', false)
        .option('--markdown <file>', 'also write the report as Markdown')
        .option('--html <file>', 'also write a self-contained HTML report with charts')
        .option('-q, --quiet', 'no progress on stderr', false),
      'operator',
    ),
  ).action(async (opts: QualifyOpts) => {
    try {
      await qualify(opts, (program.version() as string | undefined) ?? '0.0.0');
    } catch (err) {
      throw err instanceof QualifyError ? new CliError(err.message) : err;
    }
  });
}

async function qualify(opts: QualifyOpts, version: string): Promise<void> {
  const mesh = opts.config !== undefined || opts.collector !== undefined;
  if (mesh && opts.to !== undefined)
    throw new CliError('give either --to (direct mode) or -c/--collector (mesh mode), not both');
  if (!mesh && opts.to === undefined)
    throw new CliError('say what to qualify: --to HOST --subclusters N, or -c FILE --collector URL');
  const settings: RunSettings = {
    method: opts.method,
    count: opts.count,
    spacing_ms: opts.spacing,
    duration_ms: opts.duration,
    test_duration_ms: opts.testDuration ?? defaultTestDuration(opts.duration),
    skip_throughput: !opts.throughput,
  };
  const run = mesh ? meshRun(opts, settings) : directRun(opts, settings);
  const mode = mesh ? 'mesh' : 'direct';
  const measured = await runSession({ version, mode, duration_ms: opts.duration, quiet: opts.quiet, run });
  const report = mesh ? measured : nameEnds(measured, { from: opts.site, to: opts.peerSite });
  writeReportFiles(report, opts);
  process.stdout.write(opts.json ? `${JSON.stringify(report, null, 2)}\n` : renderTerminal(report));
  process.exitCode = exitCodeFor(report.links);
}

type Run = Session['run'];

function directRun(opts: QualifyOpts, settings: RunSettings): Run {
  if (opts.subclusters === undefined && opts.requiredMbps === undefined)
    throw new CliError('direct mode needs --subclusters N (or --required-mbps): what must the link carry?');
  const link = directRequirement(hostname(), opts.to as string, {
    subclusters: opts.subclusters ?? 0,
    mbps_per_subcluster: opts.mbpsPerSubcluster,
    extra_mbps: opts.extraMbps,
    required_mbps: opts.requiredMbps,
    max_rtt_ms: opts.maxRttMs,
    max_loss_percent: opts.maxLossPercent,
    rtt_statistic: opts.rttStatistic,
  });
  if (link.required_mbps <= 0 && opts.throughput)
    throw new CliError('the required bandwidth is 0 Mbps: give --subclusters N ≥ 1 or --required-mbps');
  const ports = { reflector_port: opts.port, iperf3_port: opts.iperf3Port };
  return (signal, progress) => qualifyDirect({ ...settings, ...ports, link, signal, progress });
}

function meshRun(opts: QualifyOpts, settings: RunSettings): Run {
  if (!opts.config || !opts.collector) throw new CliError('mesh mode needs both -c FILE and --collector URL');
  const { collector } = opts;
  const token = readCredential(opts);
  if (token === undefined)
    throw new CliError(
      `mesh mode needs an operator credential of the collector (collector.credentials): --token-file FILE or $${CREDENTIAL_ENV}`,
    );
  const topology = loadTopology(opts.config);
  const links = opts.links ? parseLinks(opts.links) : null;
  const fetch = clientFetch(opts);
  return (signal, progress) =>
    qualifyMesh({
      ...settings,
      collector,
      topology,
      links,
      signal,
      progress,
      token,
      ...(fetch ? { fetch } : {}),
    });
}

function parseLinks(text: string): [string, string][] {
  return text
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '')
    .map((s) => {
      const parts = s.split('-');
      if (parts.length !== 2 || !parts[0] || !parts[1]) {
        throw new CliError(
          `--links: "${s}" is not SITE-SITE (e.g. dallas-london); site names with "-" cannot be listed here`,
        );
      }
      return [parts[0], parts[1]];
    });
}
