import { type Command, Option } from 'commander';
import { parseListen, startCollector } from '../../collector/collector.ts';
import { parseDuration } from '../../shared/config/duration.ts';
import { loadTopology } from '../../shared/config/load.ts';
import { CliError } from '../errors.ts';

interface Options {
  config: string;
  listen?: string;
  dataDir?: string;
  tlsCert?: string;
  tlsKey?: string;
  evaluateInterval?: string;
}

export function registerCollector(program: Command): void {
  program
    .command('collector')
    .summary('run the collector: agent API, result store, alerts and notifications')
    .description(
      [
        'Runs the collector. Agents fetch their plan from it and push results and heartbeats with their',
        "site's bearer token; it stores results in SQLite in the data directory, evaluates every link",
        'against its requirement and sends alerts to the notifiers under `notify:`. The topology file is',
        're-read when it changes and on SIGHUP; a broken edit is logged and the previous topology kept.',
        "Options given here override the file's `collector:` section.",
      ].join(' '),
    )
    .addOption(
      new Option('-c, --config <file>', 'topology file (YAML)').env('WANWATCH_CONFIG').makeOptionMandatory(),
    )
    .addOption(
      new Option(
        '--listen <host:port>',
        'address to listen on (default: collector.listen, 127.0.0.1:8080)',
      ).env('WANWATCH_LISTEN'),
    )
    .addOption(
      new Option(
        '--data-dir <dir>',
        'where the SQLite store lives (default: collector.data_dir, ./data)',
      ).env('WANWATCH_DATA_DIR'),
    )
    .addOption(
      new Option(
        '--tls-cert <file>',
        'serve HTTPS with this PEM certificate (with --tls-key; default: collector.tls)',
      ).env('WANWATCH_TLS_CERT'),
    )
    .addOption(new Option('--tls-key <file>', 'PEM private key for --tls-cert').env('WANWATCH_TLS_KEY'))
    .addOption(
      new Option(
        '--evaluate-interval <duration>',
        'how often alerts are evaluated besides on the arrival of results, e.g. 1s (default: 1s)',
      ).env('WANWATCH_EVALUATE_INTERVAL'),
    )
    .action(async (opts: Options) => {
      if ((opts.tlsCert === undefined) !== (opts.tlsKey === undefined)) {
        throw new CliError('--tls-cert and --tls-key go together: give both to serve HTTPS, or neither');
      }
      if (opts.listen !== undefined) {
        try {
          parseListen(opts.listen);
        } catch (err) {
          throw new CliError(`--listen: ${(err as Error).message}`);
        }
      }
      let evaluateIntervalMs: number | undefined;
      if (opts.evaluateInterval !== undefined) {
        evaluateIntervalMs = parseDuration(opts.evaluateInterval);
        if (evaluateIntervalMs === undefined || evaluateIntervalMs <= 0) {
          throw new CliError(
            `--evaluate-interval: "${opts.evaluateInterval}" is not a duration such as "5s"`,
          );
        }
      }
      loadTopology(opts.config); // a broken file is reported (exit 2) before anything starts
      let collector: Awaited<ReturnType<typeof startCollector>>;
      try {
        collector = await startCollector({
          configPath: opts.config,
          ...(opts.listen !== undefined ? { listen: opts.listen } : {}),
          ...(opts.dataDir !== undefined ? { dataDir: opts.dataDir } : {}),
          ...(opts.tlsCert !== undefined && opts.tlsKey !== undefined
            ? { tls: { cert: opts.tlsCert, key: opts.tlsKey } }
            : {}),
          ...(evaluateIntervalMs !== undefined ? { evaluateIntervalMs } : {}),
          handleSignals: true,
        });
      } catch (err) {
        throw new CliError((err as Error).message);
      }
      process.stdout.write(`wanwatch collector listening on ${collector.url}\n`);
      await new Promise<void>((resolve) => {
        const stop = () => {
          process.off('SIGINT', stop);
          process.off('SIGTERM', stop);
          collector.close().then(resolve, resolve);
        };
        process.on('SIGINT', stop);
        process.on('SIGTERM', stop);
      });
    });
}
