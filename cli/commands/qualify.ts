// `wanwatch qualify`: pre-deployment link qualification with a PASS / WARN / FAIL report per link.
// Direct mode measures one link from here to a `wanwatch reflector`; mesh mode asks the collector to
// have its agents measure every link of the topology, one throughput test per site at a time.

import { writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { type Command, Option } from 'commander';
import { instruments, rttTarget } from '../../qualify/measure.ts';
import { renderHtml } from '../../qualify/report/html.ts';
import { buildReport, type LinkReport, linkReport } from '../../qualify/report/model.ts';
import { renderMarkdown, renderTerminal } from '../../qualify/report/text.ts';
import { defaultTestDuration, type Progress, qualifyLink } from '../../qualify/run.ts';
import { exitCodeFor, judgeLink, type LinkRequirementInput } from '../../qualify/verdict.ts';
import { loadTopology } from '../../shared/config/load.ts';
import {
  PROBE_METHODS,
  type ProbeMethod,
  RTT_STATISTICS,
  type RttStatistic,
} from '../../shared/config/schema.ts';
import { DEFAULT_IPERF3_PORT, DEFAULT_REFLECTOR_PORT } from '../../shared/ports.ts';
import { deriveLinks } from '../../shared/topology/requirements.ts';
import type { LinkMeasurements, Qualification, QualificationRequest } from '../../shared/wire.ts';
import { qualificationSchema } from '../../shared/wire.ts';
import { CliError } from '../errors.ts';
import { choiceOption, intOption, msOption, portOption, secondsOption } from '../options.ts';

interface QualifyOpts {
  to?: string;
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
}

const floatOption = (name: string, min: number) => (text: string) => {
  const n = Number(text);
  if (!Number.isFinite(n) || n < min) throw new CliError(`${name} must be a number ≥ ${min} (got "${text}")`);
  return n;
};

export function registerQualify(program: Command): void {
  program
    .command('qualify')
    .summary('qualify WAN links before go-live: PASS / WARN / FAIL per link, with the evidence')
    .description(
      [
        'Measures a link for --duration and judges it against what the deployment needs: RTT rounds for',
        'the whole run (median, p95, max, loss, jitter), TCP goodput and UDP at the required rate in both',
        'directions, and RTT under load. Each link gets PASS, WARN (within 10 % of a limit) or FAIL, with',
        'the reason and the margin.',
        '',
        'Direct mode: wanwatch qualify --to HOST --subclusters N, against `wanwatch reflector` on HOST.',
        'Mesh mode:   wanwatch qualify -c FILE --collector URL [--links A-B,…], through the collector and',
        '             its agents (every link of the topology, one throughput test per site at a time).',
        '',
        'Reports: a table on the terminal, --json on stdout, --markdown FILE and --html FILE (a',
        'self-contained page with charts). Progress goes to stderr. Ctrl-C stops and reports what was',
        'measured. Exit code: 0 every link passes (WARN included), 1 a link fails, 2 error or incomplete.',
      ].join('\n'),
    )
    .option('--to <host>', 'direct mode: the far end, running `wanwatch reflector`')
    .option(
      '--subclusters <n>',
      'direct mode: subclusters whose traffic crosses the link',
      intOption('--subclusters', 0, 100_000),
    )
    .option('-c, --config <file>', 'mesh mode: topology file (the links and their requirements)')
    .option('--collector <url>', 'mesh mode: the collector whose agents measure the links')
    .option('--links <list>', 'mesh mode: only these links, e.g. dallas-london,dallas-tokyo (default: all)')
    .option(
      '--mbps-per-subcluster <mbps>',
      'direct mode: bandwidth per subcluster',
      floatOption('--mbps-per-subcluster', 0),
      5,
    )
    .option(
      '--extra-mbps <mbps>',
      'direct mode: bandwidth for other traffic on the link',
      floatOption('--extra-mbps', 0),
      0,
    )
    .option(
      '--required-mbps <mbps>',
      'direct mode: the required bandwidth, instead of subclusters × per-subcluster',
      floatOption('--required-mbps', 0),
    )
    .option('--max-rtt-ms <ms>', 'direct mode: round-trip limit', floatOption('--max-rtt-ms', 0), 80)
    .option('--max-loss-percent <pct>', 'direct mode: loss limit', floatOption('--max-loss-percent', 0), 1)
    .option(
      '--rtt-statistic <stat>',
      `RTT statistic judged (${RTT_STATISTICS.join(', ')})`,
      choiceOption('--rtt-statistic', RTT_STATISTICS),
      'p95',
    )
    .option(
      '--duration <time>',
      'how long to measure each link (e.g. 10s, 5m)',
      secondsOption('--duration', 2000),
      300_000,
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
    .option('-q, --quiet', 'no progress on stderr', false)
    .action(async (opts: QualifyOpts) => {
      const version = (program.version() as string | undefined) ?? '0.0.0';
      const mesh = opts.config !== undefined || opts.collector !== undefined;
      if (mesh && opts.to !== undefined)
        throw new CliError('give either --to (direct mode) or -c/--collector (mesh mode), not both');
      if (!mesh && opts.to === undefined)
        throw new CliError('say what to qualify: --to HOST --subclusters N, or -c FILE --collector URL');
      const testDuration = opts.testDuration ?? defaultTestDuration(opts.duration);
      const controller = new AbortController();
      let interrupts = 0;
      const onSigint = () => {
        interrupts++;
        if (interrupts > 1) process.exit(130);
        process.stderr.write(
          '\nwanwatch qualify: stopping; reporting what was measured (Ctrl-C again to quit at once)\n',
        );
        controller.abort();
      };
      process.on('SIGINT', onSigint);
      const started = Date.now();
      let links: LinkReport[];
      try {
        links = mesh
          ? await meshMode(opts, testDuration, controller.signal)
          : await directMode(opts, testDuration, controller.signal);
      } finally {
        process.off('SIGINT', onSigint);
      }
      const report = buildReport({
        version,
        mode: mesh ? 'mesh' : 'direct',
        started_at_ms: started,
        finished_at_ms: Date.now(),
        duration_ms: opts.duration,
        links,
      });
      if (opts.markdown) writeReport(opts.markdown, renderMarkdown(report));
      if (opts.html) writeReport(opts.html, renderHtml(report));
      process.stdout.write(opts.json ? `${JSON.stringify(report, null, 2)}\n` : renderTerminal(report));
      process.exitCode = exitCodeFor(links);
    });
}

function writeReport(file: string, text: string): void {
  try {
    writeFileSync(file, text);
  } catch (err) {
    throw new CliError(`cannot write the report to ${file}: ${(err as Error).message}`);
  }
}

/** Progress on stderr: one line rewritten in place on a terminal, a line every few seconds otherwise. */
function progressPrinter(quiet: boolean) {
  const tty = process.stderr.isTTY === true;
  let lastLine = 0;
  let lastPhase = '';
  return {
    update(label: string, p: Progress) {
      if (quiet) return;
      const left = Math.ceil(p.remaining_ms / 1000);
      const line = `${label}: ${p.phase}, ${p.rounds} RTT round${p.rounds === 1 ? '' : 's'}${p.last_rtt_ms === null ? '' : ` (last median ${p.last_rtt_ms.toFixed(1)} ms)`}, ${left} s left`;
      if (tty) {
        process.stderr.write(`\r\x1b[2K${line}`);
      } else if (Date.now() - lastLine >= 5000 || p.phase !== lastPhase) {
        process.stderr.write(`${line}\n`);
        lastLine = Date.now();
      }
      lastPhase = p.phase;
    },
    done() {
      if (!quiet && tty) process.stderr.write('\r\x1b[2K');
    },
  };
}

async function directMode(
  opts: QualifyOpts,
  testDuration: number,
  signal: AbortSignal,
): Promise<LinkReport[]> {
  const host = opts.to as string;
  if (opts.subclusters === undefined && opts.requiredMbps === undefined) {
    throw new CliError('direct mode needs --subclusters N (or --required-mbps): what must the link carry?');
  }
  const n = opts.subclusters ?? 0;
  const derived = n * opts.mbpsPerSubcluster + opts.extraMbps;
  let derivation = `${n} × ${opts.mbpsPerSubcluster} Mbps${opts.extraMbps > 0 ? ` + ${opts.extraMbps} Mbps extra` : ''} = ${derived} Mbps`;
  if (opts.requiredMbps !== undefined) derivation = `${opts.requiredMbps} Mbps set by --required-mbps`;
  const required = opts.requiredMbps ?? derived;
  if (required <= 0 && opts.throughput)
    throw new CliError('the required bandwidth is 0 Mbps: give --subclusters N ≥ 1 or --required-mbps');
  const here = hostname();
  const link: LinkRequirementInput = {
    from: here,
    to: host,
    subclusters: [],
    subcluster_count: n,
    required_mbps: required,
    max_rtt_ms: opts.maxRttMs,
    max_loss_percent: opts.maxLossPercent,
    rtt_statistic: opts.rttStatistic,
    derivation,
  };
  const peer = {
    src: here,
    dst: host,
    host,
    reflector_port: opts.port,
    iperf3_port: opts.iperf3Port,
    method: opts.method,
  };
  const progress = progressPrinter(opts.quiet);
  const m = await qualifyLink(
    {
      target: rttTarget(peer),
      duration_ms: opts.duration,
      test_duration_ms: testDuration,
      required_bps: required * 1e6,
      round: { count: opts.count, spacing_ms: opts.spacing, timeout_ms: Math.max(1000, opts.maxRttMs * 4) },
      skip_throughput: !opts.throughput,
      signal,
    },
    instruments(peer),
    (p) => progress.update(`${here} → ${host}`, p),
  );
  progress.done();
  return [linkReport(judgeLink(link, m), m)];
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

async function meshMode(opts: QualifyOpts, testDuration: number, signal: AbortSignal): Promise<LinkReport[]> {
  if (!opts.config || !opts.collector) throw new CliError('mesh mode needs both -c FILE and --collector URL');
  const topology = loadTopology(opts.config);
  const requirements = deriveLinks(topology);
  const base = opts.collector.replace(/\/+$/, '');
  const body: QualificationRequest = {
    links: opts.links ? parseLinks(opts.links) : null,
    duration_ms: opts.duration,
    test_duration_ms: testDuration,
    rtt: { method: opts.method, count: opts.count, spacing_ms: opts.spacing, timeout_ms: 2000 },
    skip_throughput: !opts.throughput,
  };
  const call = async (method: string, path: string, payload?: unknown): Promise<Qualification> => {
    let res: Response;
    try {
      res = await fetch(`${base}${path}`, {
        method,
        headers: { 'content-type': 'application/json' },
        ...(payload === undefined ? {} : { body: JSON.stringify(payload) }),
        signal: AbortSignal.timeout(15_000),
      });
    } catch (err) {
      throw new CliError(`cannot reach the collector at ${base}: ${(err as Error).message}`);
    }
    const text = await res.text();
    if (!res.ok) {
      let why = text;
      try {
        why = (JSON.parse(text) as { error?: string }).error ?? text;
      } catch {}
      throw new CliError(`the collector at ${base} answered ${res.status}: ${why}`);
    }
    const parsed = qualificationSchema.safeParse(JSON.parse(text));
    if (!parsed.success)
      throw new CliError(`the collector at ${base} sent a reply this wanwatch does not understand`);
    return parsed.data;
  };

  let q = await call('POST', '/api/v1/qualifications', body);
  const progress = progressPrinter(opts.quiet);
  let cancelled = false;
  const deadline = Date.now() + opts.duration * (q.tasks.length + 1) + 10 * 60_000;
  while (q.state === 'running' && Date.now() < deadline) {
    if (signal.aborted && !cancelled) {
      cancelled = true;
      q = await call('DELETE', `/api/v1/qualifications/${q.id}`);
      continue;
    }
    const running = q.tasks.filter((t) => t.state === 'running');
    const done = q.tasks.filter((t) => t.state !== 'waiting' && t.state !== 'running').length;
    const first = running[0];
    if (first?.progress)
      progress.update(`[${done}/${q.tasks.length} done] ${first.site} → ${first.peer}`, first.progress);
    await new Promise((r) => setTimeout(r, 1000));
    q = await call('GET', `/api/v1/qualifications/${q.id}`);
  }
  progress.done();

  return q.tasks.map((t) => {
    const req = requirements.find((l) => l.sites[0] === t.site && l.sites[1] === t.peer);
    const link: LinkRequirementInput = {
      from: t.site,
      to: t.peer,
      subclusters: req?.subclusters ?? [],
      subcluster_count: req?.subclusters.length ?? 0,
      required_mbps: req?.required_mbps ?? 0,
      max_rtt_ms: req?.max_rtt_ms ?? topology.thresholds.max_rtt_ms,
      max_loss_percent: req?.max_loss_percent ?? topology.thresholds.max_loss_percent,
      rtt_statistic: topology.thresholds.rtt_statistic,
      derivation: req?.derivation ?? '',
    };
    const m: LinkMeasurements = t.measurements ?? {
      rounds: [],
      tcp: [],
      udp: [],
      interrupted: t.state !== 'done',
    };
    const verdict = judgeLink(link, m);
    if (t.error !== null) {
      verdict.checks.unshift({
        name: 'task',
        verdict: 'ERROR',
        reason: t.error,
        observed: null,
        limit: null,
        unit: 'ms',
      });
      if (verdict.verdict !== 'FAIL') verdict.verdict = 'ERROR';
    }
    return linkReport(verdict, m);
  });
}
