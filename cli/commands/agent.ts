import { readFileSync } from 'node:fs';
import { type Command, Option } from 'commander';
import { defaultDataDir, defaultDataDirHelp } from '../../agent/data-dir.ts';
import { AgentDeniedError, createAgent, DataDirError, iperf3PidFile } from '../../agent/runtime.ts';
import { DEFAULT_SPOOL_MAX_RESULTS } from '../../agent/spool/spool.ts';
import { closeIcmpSessions } from '../../probes/icmp.ts';
import { RTT_PROBES } from '../../probes/index.ts';
import { runThroughput } from '../../probes/throughput.ts';
import { startResponder } from '../../responder/index.ts';
import { createLogger } from '../../shared/log.ts';
import { nodeFetch } from '../../shared/node-fetch.ts';
import { CliError } from '../errors.ts';
import { clientFetch, countOption, msOption, withClientTls } from '../options.ts';

interface AgentCliOptions {
  site: string;
  collector: string;
  token?: string;
  tokenFile?: string;
  dataDir?: string;
  spoolMaxResults: number;
  batchMaxResults: number;
  batchMaxDelay: number;
  ca?: string;
  tlsCert?: string;
  tlsKey?: string;
  metricsListen?: string;
}

export function registerAgent(program: Command): void {
  withClientTls(
    program
      .command('agent')
      .summary('run the agent of one site: measure its peers and push the results to the collector')
      .description(
        [
          'Runs the agent of one site. It asks the collector for its plan (peers, probe method, intervals, ' +
            'throughput slots) and asks again every plan_refresh interval, re-planning without a restart ' +
            'when the topology changes. It serves its peers (UDP echo reflector and iperf3 server on the ' +
            'site’s address), measures every peer on schedule, and pushes the results in batches. While the ' +
            'collector is unreachable, results wait in a bounded disk spool in --data-dir and are resent in ' +
            'order when it is back. SIGINT / SIGTERM stop it cleanly (pending results are written to the ' +
            'spool first; a round or test cut short by the stop says nothing about the link and is dropped).',
          'The token authenticates the site; give it in WANWATCH_TOKEN or --token-file rather than ' +
            '--token, which other users can see in the process list. Exit code 2: bad options, a data ' +
            'directory it cannot write, or the collector refused the site or its token (its message is printed).',
        ].join('\n\n'),
      )
      .addOption(
        new Option('--site <name>', 'this agent’s site, as named under `sites` in the topology file')
          .env('WANWATCH_SITE')
          .makeOptionMandatory(),
      )
      .addOption(
        new Option('--collector <url>', 'the collector’s base URL, e.g. http://10.0.0.5:8080')
          .env('WANWATCH_COLLECTOR')
          .makeOptionMandatory(),
      )
      .addOption(new Option('--token <token>', 'the site’s bearer token').env('WANWATCH_TOKEN'))
      .addOption(
        new Option('--token-file <file>', 'read the token from this file (first line) instead').env(
          'WANWATCH_TOKEN_FILE',
        ),
      )
      .addOption(
        new Option(
          '--data-dir <dir>',
          `where the spool and the iperf3 pid file live (default: ${defaultDataDirHelp()})`,
        ).env('WANWATCH_DATA_DIR'),
      )
      .addOption(
        new Option(
          '--spool-max-results <n>',
          'most results kept on disk while the collector is away; past it the oldest are dropped (and counted)',
        )
          .argParser(countOption('--spool-max-results'))
          .default(DEFAULT_SPOOL_MAX_RESULTS)
          .env('WANWATCH_SPOOL_MAX_RESULTS'),
      )
      .addOption(
        new Option('--batch-max-results <n>', 'send a batch when it holds this many results')
          .argParser(countOption('--batch-max-results'))
          .default(500)
          .env('WANWATCH_BATCH_MAX_RESULTS'),
      )
      .addOption(
        new Option(
          '--batch-max-delay <ms>',
          '… or when its first result has waited this many milliseconds (or 2s)',
        )
          .argParser(msOption('--batch-max-delay', 1))
          .default(2000)
          .env('WANWATCH_BATCH_MAX_DELAY'),
      )
      .addOption(
        new Option(
          '--metrics-listen <host:port>',
          "serve this agent's Prometheus metrics at http://HOST:PORT/metrics, without a credential: use a local address (off by default)",
        ).env('WANWATCH_METRICS_LISTEN'),
      ),
  ).action(async (opts: AgentCliOptions, cmd: Command) => {
    const token = resolveToken(opts, cmd);
    let url: URL;
    try {
      url = new URL(opts.collector);
      if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error('not http(s)');
    } catch {
      throw new CliError(
        `--collector: "${opts.collector}" is not an http(s) URL (e.g. http://10.0.0.5:8080)`,
      );
    }
    // Without TLS options, node:http instead of the global fetch: a tenth of an agent's memory.
    const fetch = clientFetch(opts) ?? nodeFetch;
    const log = createLogger({ component: 'agent' });
    const dataDir = opts.dataDir ?? defaultDataDir(opts.site);
    const metrics =
      opts.metricsListen === undefined
        ? undefined
        : // prom-client and the metrics are loaded only for --metrics-listen (an agent's memory).
          await (await import('../../agent/metrics/wiring.ts'))
            .startAgentMetrics({
              listen: opts.metricsListen,
              site: opts.site,
              version: packageVersion(),
              ...(fetch === undefined ? {} : { fetch }),
            })
            .catch((err: unknown) => {
              throw new CliError((err as Error).message, 2);
            });
    if (metrics) log.info('serving metrics', { url: `${metrics.url}/metrics` });
    const agent = createAgent(
      {
        ...(fetch === undefined ? {} : { fetch }),
        ...metrics?.deps,
        rttProbes: RTT_PROBES,
        runThroughput,
        // The iperf3 server's pid goes in the data dir: a server a killed earlier run left holding the
        // port is stopped at start; one that cannot start yet is tried again until it can.
        startResponder: (config) =>
          startResponder({ ...config, log, pidFile: iperf3PidFile(dataDir), keepTrying: true }),
        log,
      },
      {
        site: opts.site,
        collector: url.toString(),
        token,
        dataDir,
        spoolMaxResults: opts.spoolMaxResults,
        batchMaxResults: opts.batchMaxResults,
        batchMaxDelayMs: opts.batchMaxDelay,
        version: packageVersion(),
      },
    );
    metrics?.readFrom(() => agent.stats());
    // Runs until SIGINT / SIGTERM; `stopped` resolves once the spool is flushed and the responder closed.
    let signalled = false;
    let markStopped: () => void = () => {};
    const stopped = new Promise<void>((resolve) => {
      markStopped = resolve;
    });
    const onSignal = (sig: NodeJS.Signals) => {
      if (signalled) return;
      signalled = true;
      log.info(`${sig}: stopping (pending results go to the spool)`);
      void agent.stop().then(markStopped);
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    try {
      await agent.start();
    } catch (err) {
      await agent.stop();
      await metrics?.close();
      closeIcmpSessions();
      if (err instanceof AgentDeniedError || err instanceof DataDirError) throw new CliError(err.message, 2);
      throw err;
    }
    await stopped;
    await metrics?.close();
    // Raw ICMP sockets stay open between rounds; closed, they no longer keep the process alive.
    closeIcmpSessions();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  });
}

/**
 * The token from --token-file or --token (each also from the environment: WANWATCH_TOKEN_FILE,
 * WANWATCH_TOKEN). The file wins, unless only --token was given on the command line.
 */
function resolveToken(opts: AgentCliOptions, cmd: Command): string {
  const onCommandLine = (key: string) => cmd.getOptionValueSource(key) === 'cli';
  const tokenOverridesFile = onCommandLine('token') && !onCommandLine('tokenFile');
  if (opts.tokenFile !== undefined && !tokenOverridesFile) {
    let text: string;
    try {
      text = readFileSync(opts.tokenFile, 'utf8');
    } catch (err) {
      throw new CliError(`--token-file: cannot read "${opts.tokenFile}": ${(err as Error).message}`);
    }
    const token = text.split('\n')[0]?.trim() ?? '';
    if (token === '')
      throw new CliError(
        `--token-file: "${opts.tokenFile}" is empty; put the site's token on its first line`,
      );
    return token;
  }
  const token = opts.token;
  if (token === undefined || token.trim() === '') {
    throw new CliError(
      'no token: set WANWATCH_TOKEN, or pass --token-file FILE (or --token T, visible in the process list)',
    );
  }
  return token.trim();
}

function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
    version: string;
  };
  return pkg.version;
}
