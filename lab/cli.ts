// `npm run lab -- up|set|check|down FILE`: the emulated WAN lab for people. Tests use lab/lab.ts.
import { Command, CommanderError } from 'commander';
import { checkLab, renderCheck } from './check.ts';
import { attachLab, type Lab, LabError, startLab, stopLab } from './lab.ts';
import { type LabSpec, LabSpecError, type LinkParams, loadLabFile } from './spec.ts';
import { isAlive, readState } from './state.ts';

function describeParams(p: LinkParams): string {
  const parts = [`${p.delay_ms} ms`];
  if (p.jitter_ms > 0) parts.push(`±${p.jitter_ms} ms jitter`);
  if (p.loss_percent > 0) parts.push(`${p.loss_percent} % loss`);
  parts.push(p.rate_mbps === null ? 'no rate limit' : `${p.rate_mbps} Mbps`);
  return parts.join(', ');
}

function describeLinks(spec: LabSpec): string[] {
  return spec.links.map(
    (l) => `  ${l.a} → ${l.b}: ${describeParams(l.a_to_b)}\n  ${l.b} → ${l.a}: ${describeParams(l.b_to_a)}`,
  );
}

function describeLab(lab: Lab): string {
  const sites = lab.sites.map(
    (s) =>
      `  ${s.padEnd(12)} namespace ${lab.namespace(s)}, address ${lab.siteAddress(s)}, reaches the root namespace at ${lab.collectorAddress(s)}`,
  );
  const [first, second] = lab.sites as [string, string];
  return [
    `lab ${lab.name} is up`,
    'sites:',
    ...sites,
    'links (one-way delay each direction):',
    ...describeLinks(lab.spec),
    `try:  ip netns exec ${lab.namespace(first)} ping -c 3 ${lab.siteAddress(second)}`,
  ].join('\n');
}

const program = new Command('lab')
  .description(
    'The emulated WAN lab: sites are network namespaces joined by links with one-way delay, jitter, ' +
      'loss and rate per direction (lab/examples/three-sites.yaml). Needs root.',
  )
  .helpOption('-h, --help', 'show help for a command')
  .showHelpAfterError('(run with --help for usage)')
  .exitOverride();

program
  .command('up')
  .argument('<file>', 'lab file (YAML)')
  .description('bring the lab up; first removes what a crashed run of any lab left behind')
  .action(async (file: string) => {
    const spec = loadLabFile(file);
    const lab = await startLab(spec, { detached: true });
    process.stdout.write(`${describeLab(lab)}\n`);
  });

program
  .command('set')
  .argument('<file>', 'the lab file, edited: same sites and links, new parameters')
  .description('apply the file’s link parameters to the running lab, without restarting it')
  .action(async (file: string) => {
    const spec = loadLabFile(file);
    const lab = attachLab(spec.name);
    const sameSites = lab.sites.join('\n') === spec.sites.join('\n');
    const pairs = (s: LabSpec) =>
      s.links
        .map((l) => [l.a, l.b].sort().join('–'))
        .sort()
        .join(',');
    if (!sameSites || pairs(lab.spec) !== pairs(spec)) {
      throw new LabError(
        `${file}: its sites or links differ from the running lab "${spec.name}"; set changes only link parameters (run down, then up, to change the shape)`,
      );
    }
    await lab.set(spec.links.map((l) => ({ between: [l.a, l.b], a_to_b: l.a_to_b, b_to_a: l.b_to_a })));
    process.stdout.write(`lab ${lab.name}: links set\n${describeLinks(lab.spec).join('\n')}\n`);
  });

program
  .command('check')
  .argument('<file>', 'lab file (YAML)')
  .option('--pings <n>', 'pings per link for delay and loss', '1000')
  .description(
    'measure every link with ping and iperf3 against its configuration (delay ±1 ms, loss ±1 point, ' +
      'rate ±5 %); uses the running lab, or brings it up for the check and down after. Exit 1 if a check fails',
  )
  .action(async (file: string, opts: { pings: string }) => {
    const pings = Number(opts.pings);
    if (!Number.isInteger(pings) || pings < 10)
      throw new LabSpecError('--pings', [
        { path: '', message: `"${opts.pings}" is not a whole number of at least 10` },
      ]);
    const spec = loadLabFile(file);
    const state = readState(spec.name);
    const running = state !== undefined && isAlive(state.owner);
    const lab = running ? attachLab(spec.name) : await startLab(spec);
    try {
      process.stdout.write(
        `checking lab ${lab.name} (${pings} pings per link, iperf3 3 s per rate-limited direction)\n`,
      );
      const rows = await checkLab(lab, { pings });
      process.stdout.write(`${renderCheck(rows)}\n`);
      const failed = rows.filter((r) => r.pass === false).length;
      process.stdout.write(failed === 0 ? 'all checks passed\n' : `${failed} check(s) FAILED\n`);
      if (failed > 0) process.exitCode = 1;
    } finally {
      if (!running) await lab.stop();
    }
  });

program
  .command('down')
  .argument('<file>', 'lab file (YAML); its name says which lab')
  .description('take the lab down: relay, processes in the sites, namespaces, links, routes')
  .action(async (file: string) => {
    const spec = loadLabFile(file);
    const found = await stopLab(spec.name);
    process.stdout.write(found ? `lab ${spec.name} is down\n` : `lab ${spec.name} was not up\n`);
  });

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof CommanderError) {
    process.exitCode = err.exitCode === 0 ? 0 : 2;
  } else if (err instanceof LabSpecError) {
    process.stderr.write(`lab: ${err.message}\n`);
    process.exitCode = 2;
  } else if (err instanceof LabError) {
    process.stderr.write(`lab: ${err.message}\n`);
    process.exitCode = 1;
  } else {
    process.stderr.write(
      `lab: unexpected error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
    );
    process.exitCode = 1;
  }
}
