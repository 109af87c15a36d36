import type { Command } from 'commander';
import { loadTopology } from '../../shared/config/load.ts';
import { renderTable } from '../../shared/table.ts';
import type { Topology } from '../../shared/topology/model.ts';
import { deriveLinks, fmt, type LinkRequirement, planJson } from '../../shared/topology/requirements.ts';

export function registerPlan(program: Command): void {
  program
    .command('plan')
    .summary('validate a topology file and print what each WAN link needs, and why')
    .description(
      [
        'Validates the topology file and prints every link that carries deployment traffic with its',
        'requirement: the subclusters whose traffic crosses it, the bandwidth they need (mbps_per_subcluster',
        'for each, plus any extra_mbps) and the maximum round-trip time. Problems in the file are all',
        'reported at once, each with its path and line; the exit code is then 2.',
      ].join(' '),
    )
    .requiredOption('-c, --config <file>', 'topology file (YAML)')
    .option(
      '--json',
      'print {"links": [{sites, subclusters, required_mbps, max_rtt_ms}]} for other tools',
      false,
    )
    .option('--brief', 'leave out the per-subcluster explanation', false)
    .action((opts: { config: string; json: boolean; brief: boolean }) => {
      const topology = loadTopology(opts.config);
      const links = deriveLinks(topology);
      if (opts.json) {
        process.stdout.write(`${JSON.stringify(planJson(links))}\n`);
        return;
      }
      process.stdout.write(renderPlan(topology, links, { brief: opts.brief }));
    });
}

export function renderPlan(topology: Topology, links: LinkRequirement[], opts: { brief: boolean }): string {
  const t = topology.thresholds;
  const n = (count: number, word: string) => `${count} ${word}${count === 1 ? '' : 's'}`;
  const out: string[] = [];
  out.push(
    `Topology ${topology.source}: ${n(topology.sites.size, 'site')}, ${n(topology.clusters.size, 'cluster')}, ` +
      `${n(topology.subclusters.length, 'subcluster')}, ${n(links.length, 'link')}`,
  );
  out.push(
    `Rules: ${fmt(t.mbps_per_subcluster)} Mbps per subcluster crossing a link, round trip at most ${fmt(t.max_rtt_ms)} ms ` +
      `(${t.rtt_statistic}), loss at most ${fmt(t.max_loss_percent)} %`,
  );
  out.push('');
  if (links.length === 0) {
    out.push(
      'No link carries deployment traffic: every cluster sits at one site and none peers across sites.',
    );
    return `${out.join('\n')}\n`;
  }
  out.push(
    renderTable(
      ['LINK', 'SUBCLUSTERS', 'REQUIRED', 'MAX RTT', 'DERIVATION'],
      links.map((l) => [
        `${l.sites[0]} – ${l.sites[1]}`,
        l.subclusters.length === 0 ? '-' : String(l.subclusters.length),
        `${fmt(l.required_mbps)} Mbps`,
        `${fmt(l.max_rtt_ms)} ms`,
        l.derivation,
      ]),
      ['left', 'right', 'right', 'right', 'left'],
    ),
  );
  if (!opts.brief) {
    out.push('', 'Why each subcluster crosses its link:');
    for (const l of links) {
      out.push(`  ${l.sites[0]} – ${l.sites[1]}`);
      if (l.crossings.length === 0) out.push('    (no subcluster traffic; listed under `links`)');
      const width = Math.max(...l.crossings.map((c) => c.subcluster.length), 0);
      for (const c of l.crossings) out.push(`    ${c.subcluster.padEnd(width)}  ${c.kind}: ${c.why}`);
    }
  }
  return `${out.join('\n')}\n`;
}
