// The `wanwatch` command line. Each command lives in cli/commands/<name>.ts and registers itself here.
import { readFileSync } from 'node:fs';
import { isAbsolute, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command, CommanderError } from 'commander';
import { CliError, EXIT } from './errors.ts';

const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
  version: string;
};

// Output piped into a reader that stops early (`wanwatch … | head`): end quietly, as Unix tools do.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(process.exitCode ?? EXIT.ok);
    throw err;
  });
}

const program = new Command('wanwatch')
  .description(
    'Measures the WAN links between the sites of a clustered deployment and says whether each link ' +
      'meets what the deployment needs (by default: at most 80 ms round trip, 5 Mbps per subcluster).',
  )
  .version(pkg.version, '-V, --version', 'print the wanwatch version')
  .helpOption('-h, --help', 'show help for a command')
  .showHelpAfterError('(run with --help for usage)')
  .exitOverride();

// Each command's module is loaded only when that command runs: an agent never loads the collector,
// its SQLite, InfluxDB client or YAML parser (a third of its memory: docs/measuring.md, "What an agent
// costs"). Without a command (--help, a typo) every command is loaded, in this order.
const COMMANDS: Record<string, () => Promise<(program: Command) => void>> = {
  plan: async () => (await import('./commands/plan.ts')).registerPlan,
  qualify: async () => (await import('./commands/qualify.ts')).registerQualify,
  collector: async () => (await import('./commands/collector.ts')).registerCollector,
  agent: async () => (await import('./commands/agent.ts')).registerAgent,
  status: async () => (await import('./commands/status.ts')).registerStatus,
  notify: async () => (await import('./commands/notify.ts')).registerNotify,
  probe: async () => (await import('./commands/probe.ts')).registerProbe,
  throughput: async () => (await import('./commands/throughput.ts')).registerThroughput,
  reflector: async () => (await import('./commands/reflector.ts')).registerReflector,
  doctor: async () => (await import('./commands/doctor.ts')).registerDoctor,
};
const args = process.argv.slice(2);
const first = args.find((a) => !a.startsWith('-'));
const named = first !== undefined && Object.hasOwn(COMMANDS, first) ? first : undefined;
// `wanwatch --version` alone needs no command at all.
const versionOnly = named === undefined && args.length === 1 && (args[0] === '-V' || args[0] === '--version');
for (const [name, load] of Object.entries(COMMANDS))
  if (!versionOnly && (named === undefined || name === named)) (await load())(program);

// The worked examples come with the package: name one by a path that works from where the user is
// (examples/… in a checkout, the installed package's own folder elsewhere).
const example = fileURLToPath(new URL('../examples/remote-failover.yaml', import.meta.url));
const exampleFromHere = relative(process.cwd(), example);
program.addHelpText(
  'after',
  '\nExit codes: 0 success, 1 a check failed, 2 bad input (usage, topology file,\narguments).\n\n' +
    `Start with: wanwatch plan -c ${exampleFromHere.startsWith('..') || isAbsolute(exampleFromHere) ? example : exampleFromHere}`,
);

try {
  await program.parseAsync(process.argv);
} catch (err) {
  process.exitCode = await exitCodeFor(err);
}

async function exitCodeFor(err: unknown): Promise<number> {
  const { ConfigError } = await import('../shared/config/load.ts');
  if (err instanceof CommanderError) {
    // Commander already printed its message (or the help / version text).
    return err.exitCode === 0 ? EXIT.ok : EXIT.usage;
  }
  if (err instanceof ConfigError || err instanceof CliError) {
    process.stderr.write(`wanwatch: ${err.message}\n`);
    return err instanceof CliError ? err.exitCode : EXIT.usage;
  }
  process.stderr.write(
    `wanwatch: unexpected error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
  );
  return EXIT.failed;
}
