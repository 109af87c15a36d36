// A self-contained HTML report, fit to attach to a change request: inline CSS and SVG charts, no
// script, no font, no image or request to anywhere.

import type { Verdict } from '../verdict.ts';
import type { LinkReport, QualifyReport } from './model.ts';

const esc = (s: string) =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
const n1 = (n: number | null) => (n === null ? '–' : n.toFixed(1));
const COLORS: Record<Verdict, string> = {
  PASS: '#1a7f37',
  WARN: '#9a6700',
  FAIL: '#cf222e',
  ERROR: '#6e7781',
};
const SERIES = ['#0969da', '#bc4c00', '#8250df', '#1a7f37'];

const badge = (v: Verdict) => `<span class="badge" style="background:${COLORS[v]}">${v}</span>`;

/** Histogram of RTT samples (idle and under load) with the limit as a vertical line. */
export function rttHistogram(idle: number[], loaded: number[], limit: number): string {
  const W = 560;
  const H = 220;
  const pad = { l: 44, r: 12, t: 14, b: 34 };
  const all = [...idle, ...loaded];
  if (all.length === 0) return '<p class="muted">No RTT replies to chart.</p>';
  const lo = Math.min(...all, limit) * 0.95;
  const hi = Math.max(...all, limit) * 1.05 || 1;
  const bins = 40;
  const width = (hi - lo) / bins || 1;
  const count = (xs: number[]) => {
    const c = new Array<number>(bins).fill(0);
    for (const x of xs) c[Math.min(bins - 1, Math.max(0, Math.floor((x - lo) / width)))]! += 1;
    return c;
  };
  const ci = count(idle);
  const cl = count(loaded);
  const top = Math.max(1, ...ci, ...cl);
  const x = (v: number) => pad.l + ((v - lo) / (hi - lo)) * (W - pad.l - pad.r);
  const y = (c: number) => H - pad.b - (c / top) * (H - pad.t - pad.b);
  const bw = (W - pad.l - pad.r) / bins;
  const bars = (c: number[], color: string, offset: number) =>
    c
      .map((v, i) =>
        v === 0
          ? ''
          : `<rect x="${(pad.l + i * bw + offset * (bw / 2)).toFixed(1)}" y="${y(v).toFixed(1)}" width="${(bw / 2).toFixed(1)}" height="${(H - pad.b - y(v)).toFixed(1)}" fill="${color}"/>`,
      )
      .join('');
  const ticks = [0, 0.25, 0.5, 0.75, 1]
    .map((f) => lo + f * (hi - lo))
    .map(
      (v) => `<text x="${x(v).toFixed(1)}" y="${H - pad.b + 16}" text-anchor="middle">${v.toFixed(1)}</text>`,
    )
    .join('');
  return `<svg class="chart" role="img" aria-label="RTT distribution" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}">
<line x1="${pad.l}" y1="${H - pad.b}" x2="${W - pad.r}" y2="${H - pad.b}" stroke="#888"/>
${bars(ci, SERIES[0]!, 0)}${bars(cl, SERIES[1]!, 1)}
<line x1="${x(limit).toFixed(1)}" y1="${pad.t}" x2="${x(limit).toFixed(1)}" y2="${H - pad.b}" stroke="${COLORS.FAIL}" stroke-dasharray="5 3"/>
<text x="${(x(limit) - 4).toFixed(1)}" y="${pad.t + 10}" text-anchor="end" style="fill:${COLORS.FAIL}">limit ${limit} ms</text>
${ticks}<text x="${W / 2}" y="${H - 4}" text-anchor="middle">RTT (ms)</text>
<text x="10" y="${pad.t + 4}">${top}</text>
</svg>
<p class="legend"><span style="color:${SERIES[0]}">■</span> idle (${idle.length} replies) <span style="color:${SERIES[1]}">■</span> under load (${loaded.length} replies)</p>`;
}

/** Goodput per second of every throughput test, with the required rate as a horizontal line. */
export function goodputChart(
  series: { label: string; intervals_bps: number[] }[],
  required_mbps: number,
): string {
  const W = 560;
  const H = 220;
  const pad = { l: 44, r: 12, t: 14, b: 34 };
  const withData = series.filter((s) => s.intervals_bps.length > 0);
  if (withData.length === 0) return '<p class="muted">No throughput intervals to chart.</p>';
  const secs = Math.max(...withData.map((s) => s.intervals_bps.length));
  const top =
    Math.max(required_mbps * 1.2, ...withData.flatMap((s) => s.intervals_bps.map((b) => b / 1e6))) || 1;
  const x = (i: number) => pad.l + (secs <= 1 ? 0 : (i / (secs - 1)) * (W - pad.l - pad.r));
  const y = (m: number) => H - pad.b - (m / top) * (H - pad.t - pad.b);
  const lines = withData
    .map((s, k) => {
      const pts = s.intervals_bps.map((b, i) => `${x(i).toFixed(1)},${y(b / 1e6).toFixed(1)}`).join(' ');
      const color = SERIES[k % SERIES.length]!;
      return s.intervals_bps.length === 1
        ? `<circle cx="${x(0).toFixed(1)}" cy="${y(s.intervals_bps[0]! / 1e6).toFixed(1)}" r="3" fill="${color}"/>`
        : `<polyline points="${pts}" fill="none" stroke="${color}" stroke-width="2"/>`;
    })
    .join('');
  const legend = withData
    .map((s, k) => `<span style="color:${SERIES[k % SERIES.length]}">■</span> ${esc(s.label)}`)
    .join(' ');
  const xt = [...new Set([0, Math.floor((secs - 1) / 2), secs - 1])]
    .map((i) => `<text x="${x(i).toFixed(1)}" y="${H - pad.b + 16}" text-anchor="middle">${i + 1}</text>`)
    .join('');
  const yt = [0, 0.5, 1]
    .map((f) => f * top)
    .map(
      (m) => `<text x="${pad.l - 4}" y="${(y(m) + 4).toFixed(1)}" text-anchor="end">${m.toFixed(1)}</text>`,
    )
    .join('');
  return `<svg class="chart" role="img" aria-label="Goodput over time" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}">
<line x1="${pad.l}" y1="${H - pad.b}" x2="${W - pad.r}" y2="${H - pad.b}" stroke="#888"/>
<line x1="${pad.l}" y1="${pad.t}" x2="${pad.l}" y2="${H - pad.b}" stroke="#888"/>
<line x1="${pad.l}" y1="${y(required_mbps).toFixed(1)}" x2="${W - pad.r}" y2="${y(required_mbps).toFixed(1)}" stroke="${COLORS.FAIL}" stroke-dasharray="5 3"/>
<text x="${W - pad.r}" y="${(y(required_mbps) - 4).toFixed(1)}" text-anchor="end" style="fill:${COLORS.FAIL}">required ${required_mbps} Mbps</text>
${lines}${xt}${yt}<text x="${W / 2}" y="${H - 4}" text-anchor="middle">second of each test (Mbps per second)</text>
</svg>
<p class="legend">${legend}</p>`;
}

function linkSection(l: LinkReport): string {
  const nums = (xs: (number | null)[]) => xs.filter((v): v is number => v !== null);
  const rows = l.checks
    .map((c) => `<tr><td>${esc(c.name)}</td><td>${badge(c.verdict)}</td><td>${esc(c.reason)}</td></tr>`)
    .join('');
  const rtt = (name: string, s: LinkReport['rtt_idle']) =>
    `<tr><td>${name}</td><td>${s.sent}</td><td>${s.loss_percent.toFixed(2)} %</td><td>${n1(s.rtt_min_ms)}</td><td>${n1(s.rtt_median_ms)}</td><td>${n1(s.rtt_p95_ms)}</td><td>${n1(s.rtt_max_ms)}</td><td>${n1(s.jitter_ms)}</td></tr>`;
  const tput = l.throughput
    .map((t) =>
      t.error
        ? `<tr><td>${esc(t.label)}</td><td colspan="5">${esc(t.error)}</td></tr>`
        : `<tr><td>${esc(t.label)}</td><td>${n1(t.goodput_bps === null ? null : t.goodput_bps / 1e6)}</td><td>${n1(t.target_bps === null ? null : t.target_bps / 1e6)}</td><td>${t.retransmits ?? '–'}</td><td>${t.udp_loss_percent === null ? '–' : `${t.udp_loss_percent.toFixed(2)} %`}</td><td>${n1(t.udp_jitter_ms)}</td></tr>`,
    )
    .join('');
  return `<section class="link">
<h2>${esc(l.link.from)} ↔ ${esc(l.link.to)} ${badge(l.verdict)}</h2>
<p>Requirement: ${esc(l.link.derivation)}; ${esc(l.link.rtt_statistic)} RTT at most ${l.link.max_rtt_ms} ms; loss at most ${l.link.max_loss_percent} %.</p>
${l.interrupted ? '<p class="muted">Stopped before the end: the figures cover what was measured.</p>' : ''}
<table><thead><tr><th>Check</th><th>Verdict</th><th>Detail</th></tr></thead><tbody>${rows}</tbody></table>
<div class="charts">
<figure><figcaption>RTT distribution</figcaption>${rttHistogram(nums(l.rtt_idle_samples_ms), nums(l.rtt_loaded_samples_ms), l.link.max_rtt_ms)}</figure>
<figure><figcaption>Goodput over time</figcaption>${goodputChart(l.throughput, l.link.required_mbps)}</figure>
</div>
<table><thead><tr><th>RTT (ms)</th><th>Probes</th><th>Loss</th><th>Min</th><th>Median</th><th>P95</th><th>Max</th><th>Jitter</th></tr></thead>
<tbody>${rtt('idle', l.rtt_idle)}${rtt('under load', l.rtt_loaded)}</tbody></table>
${tput ? `<table><thead><tr><th>Throughput</th><th>Goodput (Mbps)</th><th>Target (Mbps)</th><th>Retransmits</th><th>UDP loss</th><th>UDP jitter (ms)</th></tr></thead><tbody>${tput}</tbody></table>` : ''}
</section>`;
}

export function renderHtml(report: QualifyReport): string {
  const summary = report.links
    .map((l) => {
      const c = l.checks.find((x) => x.verdict === l.verdict) ?? l.checks[0];
      return `<tr><td>${esc(l.link.from)} ↔ ${esc(l.link.to)}</td><td>${badge(l.verdict)}</td><td>${l.link.required_mbps} Mbps, ≤ ${l.link.max_rtt_ms} ms</td><td>${esc(c?.reason ?? '')}</td></tr>`;
    })
    .join('');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<title>WAN link qualification: ${report.verdict}</title>
<style>
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:24px auto;max-width:1180px;color:#1f2328;padding:0 16px}
h1{font-size:22px}h2{font-size:18px;margin-top:28px}
table{border-collapse:collapse;margin:10px 0;width:100%}th,td{border:1px solid #d0d7de;padding:4px 8px;text-align:left}
th{background:#f6f8fa}.badge{color:#fff;border-radius:4px;padding:1px 8px;font-weight:600;font-size:13px}
.charts{display:flex;flex-wrap:wrap;gap:16px}figure{margin:0}figcaption{font-weight:600;margin-bottom:4px}
.chart text{font-size:11px;fill:#57606a}.legend{margin:2px 0 0;font-size:12px}.muted{color:#6e7781}
section.link{border-top:1px solid #d0d7de}
</style></head><body>
<h1>WAN link qualification ${badge(report.verdict)}</h1>
<p>wanwatch ${esc(report.wanwatch_version)}, ${report.mode} mode, ${esc(report.started_at)} – ${esc(report.finished_at)}.
PASS meets every limit with more than 10 % to spare; WARN is within 10 % of a limit; FAIL misses one.</p>
${report.notes.map((note) => `<p class="note">Note: ${esc(note)}.</p>`).join('\n')}
<table><thead><tr><th>Link</th><th>Verdict</th><th>Required</th><th>Reason</th></tr></thead><tbody>${summary}</tbody></table>
${report.links.map(linkSection).join('\n')}
</body></html>
`;
}
