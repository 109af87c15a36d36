// Terminal and Markdown renderings of a qualification report.

import type { RttStats } from '../../shared/result.ts';
import { renderTable } from '../../shared/table.ts';
import type { LinkReport, QualifyReport, ThroughputSummary } from './model.ts';

const ms = (n: number | null) => (n === null ? '–' : `${n.toFixed(1)} ms`);
const mbps = (bps: number | null) => (bps === null ? '–' : `${(bps / 1e6).toFixed(1)} Mbps`);
const pct = (n: number | null) => (n === null ? '–' : `${n.toFixed(2)} %`);

function rttRow(name: string, s: RttStats): string[] {
  return [
    name,
    String(s.sent),
    pct(s.loss_percent),
    ms(s.rtt_min_ms),
    ms(s.rtt_median_ms),
    ms(s.rtt_p95_ms),
    ms(s.rtt_max_ms),
    ms(s.jitter_ms),
  ];
}

function throughputRow(t: ThroughputSummary): string[] {
  if (t.error) return [t.label, t.error, '', '', '', ''];
  return [
    t.label,
    mbps(t.goodput_bps),
    mbps(t.target_bps),
    t.retransmits === null ? '–' : String(t.retransmits),
    pct(t.udp_loss_percent),
    ms(t.udp_jitter_ms),
  ];
}

const linkTitle = (l: LinkReport) =>
  `${l.link.from} ↔ ${l.link.to}: ${l.verdict}` +
  ` — needs ${l.link.required_mbps} Mbps (${l.link.derivation}), ${l.link.rtt_statistic} RTT ≤ ${l.link.max_rtt_ms} ms, loss ≤ ${l.link.max_loss_percent} %`;

export function renderTerminal(report: QualifyReport): string {
  const out: string[] = [];
  for (const l of report.links) {
    out.push(linkTitle(l));
    for (const c of l.checks) out.push(`  ${c.verdict.padEnd(5)} ${c.reason}`);
    if (l.interrupted) out.push('  (stopped before the end: the figures cover what was measured)');
    out.push('');
    const rtt = [
      l.rtt_idle.sent > 0 ? rttRow('idle', l.rtt_idle) : null,
      l.rtt_loaded.sent > 0 ? rttRow('under load', l.rtt_loaded) : null,
    ].filter((r): r is string[] => r !== null);
    if (rtt.length > 0) {
      out.push(
        renderTable(['RTT', 'PROBES', 'LOSS', 'MIN', 'MEDIAN', 'P95', 'MAX', 'JITTER'], rtt, [
          'left',
          'right',
          'right',
          'right',
          'right',
          'right',
          'right',
          'right',
        ])
          .split('\n')
          .map((s) => `  ${s}`)
          .join('\n'),
      );
      out.push('');
    }
    if (l.throughput.length > 0) {
      out.push(
        renderTable(
          ['THROUGHPUT', 'GOODPUT', 'TARGET', 'RETRANSMITS', 'UDP LOSS', 'UDP JITTER'],
          l.throughput.map(throughputRow),
        )
          .split('\n')
          .map((s) => `  ${s}`)
          .join('\n'),
      );
      out.push('');
    }
  }
  for (const note of report.notes) out.push(`Note: ${note}.`);
  const n = report.links.length;
  out.push(
    `Verdict: ${report.verdict} (${n} link${n === 1 ? '' : 's'}, ${report.started_at} – ${report.finished_at})`,
  );
  return `${out.join('\n')}\n`;
}

/** How the link was measured, in one sentence: what a change board asks (as the HTML report's table). */
export function measuredWithText(l: LinkReport): string | null {
  const m = l.measured_with;
  if (!m) return null;
  const every = m.round_interval_ms === null ? '' : `, one every ${m.round_interval_ms / 1000} s`;
  const rtt = `${m.rtt_method?.toUpperCase() ?? 'no'} RTT rounds of ${m.probes_per_round ?? '–'} probes${every} (${m.rtt_rounds} rounds)`;
  const tests = l.throughput.map(
    (t) =>
      `${t.label}, ${t.streams ?? '–'} stream${t.streams === 1 ? '' : 's'}, ${t.duration_ms === null ? '–' : `${t.duration_ms / 1000} s`}${t.target_bps === null ? '' : ` at ${mbps(t.target_bps)}`}`,
  );
  return tests.length === 0 ? `${rtt}; no iperf3 test` : `${rtt}; iperf3: ${tests.join('; ')}`;
}

const mdEscape = (s: string) => s.replace(/\|/g, '\\|');

function mdTable(headers: string[], rows: string[][]): string {
  return [
    `| ${headers.join(' | ')} |`,
    `|${headers.map(() => '---').join('|')}|`,
    ...rows.map((r) => `| ${r.map(mdEscape).join(' | ')} |`),
  ].join('\n');
}

export function renderMarkdown(report: QualifyReport): string {
  const out: string[] = [];
  out.push(`# WAN link qualification: ${report.verdict}`, '');
  out.push(
    `wanwatch ${report.wanwatch_version}, ${report.mode} mode, ${report.started_at} – ${report.finished_at}.`,
    '',
    ...report.notes.flatMap((note) => [`> Note: ${note}.`, '']),
    mdTable(
      ['Link', 'Verdict', 'Required', 'Reason'],
      report.links.map((l) => {
        const worstCheck = l.checks.find((c) => c.verdict === l.verdict) ?? l.checks[0];
        return [
          `${l.link.from} ↔ ${l.link.to}`,
          `**${l.verdict}**`,
          `${l.link.required_mbps} Mbps, ≤ ${l.link.max_rtt_ms} ms`,
          worstCheck?.reason ?? '',
        ];
      }),
    ),
    '',
  );
  for (const l of report.links) {
    out.push(`## ${l.link.from} ↔ ${l.link.to}: ${l.verdict}`, '');
    out.push(
      `Requirement: ${l.link.derivation}; ${l.link.rtt_statistic} RTT at most ${l.link.max_rtt_ms} ms; loss at most ${l.link.max_loss_percent} %.`,
      '',
    );
    const how = measuredWithText(l);
    if (how) out.push(`Measured with: ${how}.`, '');
    if (l.interrupted) out.push('_Stopped before the end: the figures cover what was measured._', '');
    out.push(
      mdTable(
        ['Check', 'Verdict', 'Detail'],
        l.checks.map((c) => [c.name, `**${c.verdict}**`, c.reason]),
      ),
      '',
    );
    out.push(
      mdTable(
        ['RTT', 'Probes', 'Loss', 'Min', 'Median', 'P95', 'Max', 'Jitter'],
        [rttRow('idle', l.rtt_idle), rttRow('under load', l.rtt_loaded)],
      ),
      '',
    );
    if (l.throughput.length > 0) {
      out.push(
        mdTable(
          ['Throughput', 'Goodput', 'Target', 'Retransmits', 'UDP loss', 'UDP jitter'],
          l.throughput.map(throughputRow),
        ),
        '',
      );
    }
  }
  return `${out.join('\n')}\n`;
}
