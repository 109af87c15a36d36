// A self-contained HTML report, fit to attach to a change request: inline CSS and SVG charts, no
// script, no font, no image or request to anywhere.

import type { Verdict } from '../verdict.ts';
import type { LinkReport, QualifyReport, ThroughputSummary } from './model.ts';
import { niceTicks, textWidth, tickLabel } from './svg.ts';

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
  const H = 230;
  const all = [...idle, ...loaded];
  if (all.length === 0) return '<p class="muted">No RTT replies to chart.</p>';
  const xs = niceTicks(Math.min(...all, limit) * 0.95, Math.max(...all, limit) * 1.05, 6);
  const lo = xs.lo;
  const hi = xs.hi > lo ? xs.hi : lo + 1;
  const bins = 40;
  const width = (hi - lo) / bins;
  const count = (v: number[]) => {
    const c = new Array<number>(bins).fill(0);
    for (const x of v) c[Math.min(bins - 1, Math.max(0, Math.floor((x - lo) / width)))]! += 1;
    return c;
  };
  const ci = count(idle);
  const cl = count(loaded);
  const ys = niceTicks(0, Math.max(1, ...ci, ...cl), 4);
  const yLabels = ys.ticks.map((v) => tickLabel(v, ys.step));
  const pad = { l: 16 + Math.max(...yLabels.map((t) => textWidth(t))), r: 16, t: 16, b: 40 };
  const x = (v: number) => pad.l + ((v - lo) / (hi - lo)) * (W - pad.l - pad.r);
  const y = (c: number) => H - pad.b - (c / ys.hi) * (H - pad.t - pad.b);
  const bw = (W - pad.l - pad.r) / bins;
  const bars = (c: number[], color: string, offset: number, cls: string) =>
    c
      .map((v, i) =>
        v === 0
          ? ''
          : `<rect class="${cls}" x="${(pad.l + i * bw + offset * (bw / 2)).toFixed(1)}" y="${y(v).toFixed(1)}" width="${(bw / 2).toFixed(1)}" height="${(H - pad.b - y(v)).toFixed(1)}" fill="${color}"/>`,
      )
      .join('');
  return `<svg class="chart" role="img" aria-label="RTT distribution" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}">
${grid(ys, y, pad.l, W - pad.r)}
${xs.ticks.map((v) => `<text class="tick x" x="${x(v).toFixed(1)}" y="${H - pad.b + 15}" text-anchor="middle">${tickLabel(v, xs.step)}</text>`).join('')}
<line x1="${pad.l}" y1="${H - pad.b}" x2="${W - pad.r}" y2="${H - pad.b}" stroke="#888"/>
${bars(ci, SERIES[0]!, 0, 'idle')}${bars(cl, SERIES[1]!, 1, 'loaded')}
<line class="limit" x1="${x(limit).toFixed(1)}" y1="${pad.t}" x2="${x(limit).toFixed(1)}" y2="${H - pad.b}" stroke="${COLORS.FAIL}" stroke-dasharray="5 3"/>
<text class="limit-label" x="${(x(limit) + (x(limit) > W / 2 ? -4 : 4)).toFixed(1)}" y="${pad.t + 10}" text-anchor="${x(limit) > W / 2 ? 'end' : 'start'}" style="fill:${COLORS.FAIL}">limit ${limit} ms</text>
<text class="axis-title" x="${((pad.l + W - pad.r) / 2).toFixed(1)}" y="${H - 6}" text-anchor="middle">RTT (ms)</text>
<text class="axis-title" x="12" y="${((pad.t + H - pad.b) / 2).toFixed(1)}" text-anchor="middle" transform="rotate(-90 12 ${((pad.t + H - pad.b) / 2).toFixed(1)})">replies</text>
</svg>
<p class="legend"><span style="color:${SERIES[0]}">■</span> idle (${idle.length} replies) <span style="color:${SERIES[1]}">■</span> under load (${loaded.length} replies)</p>`;
}

/** Horizontal grid lines with their labels at the left. */
function grid(
  ys: { ticks: number[]; step: number; log?: boolean },
  y: (v: number) => number,
  left: number,
  right: number,
): string {
  return ys.ticks
    .map(
      (v) =>
        `<line x1="${left}" y1="${y(v).toFixed(1)}" x2="${right}" y2="${y(v).toFixed(1)}" stroke="#eaeef2"/><text class="tick y" x="${left - 6}" y="${(y(v) + 4).toFixed(1)}" text-anchor="end">${tickLabel(v, ys.log ? v : ys.step)}</text>`,
    )
    .join('');
}

/** Powers of ten covering [lo, hi], for a logarithmic axis. */
function decades(
  lo: number,
  hi: number,
): { ticks: number[]; step: number; lo: number; hi: number; log: true } {
  const a = Math.floor(Math.log10(lo));
  const b = Math.ceil(Math.log10(hi));
  const ticks = Array.from({ length: b - a + 1 }, (_, i) => 10 ** (a + i));
  return { ticks, step: 1, lo: 10 ** a, hi: 10 ** b, log: true };
}

/**
 * Goodput per second of every throughput test, with the required rate as a line. The required line
 * is drawn first and thin, its label outside the plot: a UDP test sent at exactly the required rate
 * lies on it and must stay visible (each test's points are marked too).
 */
export function goodputChart(series: ThroughputSummary[], required_mbps: number): string {
  const W = 560;
  const H = 230;
  const withData = series.filter((s) => s.intervals_bps.length > 0);
  if (withData.length === 0) return '<p class="muted">No throughput intervals to chart.</p>';
  const secs = Math.max(...withData.map((s) => s.intervals_bps.length));
  const rates = withData.flatMap((s) => s.intervals_bps.map((b) => b / 1e6));
  const top = Math.max(required_mbps * 1.15, ...rates) || 1;
  // A test far faster than the requirement (TCP on a fat link) would flatten the rest onto the floor:
  // past 50 times the requirement the axis is logarithmic, one tick per power of ten.
  const floor = Math.min(required_mbps, ...rates.filter((r) => r > 0));
  const log = top / Math.max(floor, 1e-6) > 50;
  const ys = log ? decades(floor * 0.8, top) : niceTicks(0, top, 5);
  const yLabels = ys.ticks.map((v) => tickLabel(v, log ? v : ys.step));
  const reqLabel = `required ${required_mbps} Mbps`;
  const pad = { l: 16 + Math.max(...yLabels.map((t) => textWidth(t))), r: 12, t: 22, b: 40 };
  // Whole seconds on the time axis.
  const xs = niceTicks(1, Math.max(2, secs), Math.min(6, Math.max(2, secs)));
  if (xs.step < 1)
    Object.assign(xs, niceTicks(1, Math.max(2, secs), 2), { step: 1, ticks: [1, Math.max(2, secs)] });
  const x = (sec: number) => pad.l + ((sec - 1) / Math.max(1, xs.hi - 1)) * (W - pad.l - pad.r);
  const plotH = H - pad.t - pad.b;
  const y = log
    ? (m: number) =>
        H -
        pad.b -
        ((Math.log10(Math.max(m, ys.lo)) - Math.log10(ys.lo)) / (Math.log10(ys.hi) - Math.log10(ys.lo))) *
          plotH
    : (m: number) => H - pad.b - (m / ys.hi) * plotH;
  const lines = withData
    .map((s, k) => {
      const color = SERIES[k % SERIES.length]!;
      const pts = s.intervals_bps.map((b, i) => [x(i + 1), y(b / 1e6)] as const);
      const path =
        pts.length > 1
          ? `<polyline points="${pts.map(([px, py]) => `${px.toFixed(1)},${py.toFixed(1)}`).join(' ')}" fill="none" stroke="${color}" stroke-width="2"${s.protocol === 'udp' ? ' stroke-dasharray="7 3"' : ''}/>`
          : '';
      const marks = pts
        .map(([px, py]) => `<circle cx="${px.toFixed(1)}" cy="${py.toFixed(1)}" r="2.5" fill="${color}"/>`)
        .join('');
      return `<g class="series ${s.protocol}" data-label="${esc(s.label)}">${path}${marks}</g>`;
    })
    .join('');
  const legend = withData
    .map(
      (s, k) =>
        `<span style="color:${SERIES[k % SERIES.length]}">${s.protocol === 'udp' ? '╍' : '━'}</span> ${esc(s.label)}${s.target_bps ? ` (sent at ${n1(s.target_bps / 1e6)} Mbps)` : ''}`,
    )
    .join(' ');
  const xticks = xs.ticks.filter((v) => v >= 1);
  return `<svg class="chart" role="img" aria-label="Goodput over time" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}">
${grid(ys, y, pad.l, W - pad.r)}
<line x1="${pad.l}" y1="${H - pad.b}" x2="${W - pad.r}" y2="${H - pad.b}" stroke="#888"/>
<line class="required" x1="${pad.l}" y1="${y(required_mbps).toFixed(1)}" x2="${W - pad.r}" y2="${y(required_mbps).toFixed(1)}" stroke="${COLORS.FAIL}" stroke-width="1" stroke-dasharray="2 3" opacity="0.8"/>
<text class="required-label" x="${W - pad.r}" y="${pad.t - 8}" text-anchor="end" style="fill:${COLORS.FAIL}">┄ ${reqLabel}</text>
${lines}
${xticks.map((v) => `<text class="tick x" x="${x(v).toFixed(1)}" y="${H - pad.b + 15}" text-anchor="middle">${tickLabel(v, xs.step)}</text>`).join('')}
<text class="axis-title" x="${((pad.l + W - pad.r) / 2).toFixed(1)}" y="${H - 6}" text-anchor="middle">second of each test</text>
<text class="axis-title" x="12" y="${((pad.t + H - pad.b) / 2).toFixed(1)}" text-anchor="middle" transform="rotate(-90 12 ${((pad.t + H - pad.b) / 2).toFixed(1)})">goodput (Mbps${log ? ', log scale' : ''})</text>
</svg>
<p class="legend">${legend}</p>`;
}

const seconds = (ms: number) => (ms % 1000 === 0 ? `${ms / 1000} s` : `${(ms / 1000).toFixed(1)} s`);

/** The test parameters a change board asks for: method, counts, durations, rates. */
function measuredWithTable(l: LinkReport): string {
  const m = l.measured_with;
  if (!m) return '';
  const idle = l.rtt_idle.sent;
  const loaded = l.rtt_loaded.sent;
  const rtt = `${m.rtt_method === null ? 'no' : esc(m.rtt_method.toUpperCase())} rounds of ${m.probes_per_round ?? '–'} probes${m.round_interval_ms === null ? '' : `, one every ${seconds(m.round_interval_ms)}`}: ${m.rtt_rounds} rounds, ${idle} probes idle and ${loaded} under load`;
  const tests = l.throughput
    .map(
      (t) =>
        `<tr><td>${esc(t.label)}</td><td>${t.protocol.toUpperCase()}</td><td>${t.streams ?? '–'}</td><td>${t.duration_ms === null ? '–' : seconds(t.duration_ms)}</td><td>${t.target_bps === null ? (t.protocol === 'tcp' ? 'as fast as it goes' : '–') : `${n1(t.target_bps / 1e6)} Mbps`}</td></tr>`,
    )
    .join('');
  return `<table class="params"><thead><tr><th colspan="5">How it was measured</th></tr></thead><tbody>
<tr><td>RTT</td><td colspan="4">${rtt}</td></tr>
${tests ? `<tr><th>Throughput test (iperf3)</th><th>Protocol</th><th>Streams</th><th>Duration</th><th>Sending rate</th></tr>${tests}` : '<tr><td>Throughput</td><td colspan="4">no iperf3 test</td></tr>'}
</tbody></table>`;
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
${measuredWithTable(l)}
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
.chart text{font-size:11px;fill:#57606a}.chart .axis-title{fill:#1f2328}table.params td:first-child{white-space:nowrap}.legend{margin:2px 0 0;font-size:12px}.muted{color:#6e7781}
section.link{border-top:1px solid #d0d7de}
</style></head><body>
<h1>WAN link qualification ${badge(report.verdict)}</h1>
<p>wanwatch ${esc(report.wanwatch_version)}, ${report.mode} mode, ${esc(report.started_at)} – ${esc(report.finished_at)} (${seconds(report.duration_ms)} per link).
PASS meets every limit with more than 10 % to spare; WARN is within 10 % of a limit; FAIL misses one.</p>
${report.notes.map((note) => `<p class="note">Note: ${esc(note)}.</p>`).join('\n')}
<table><thead><tr><th>Link</th><th>Verdict</th><th>Required</th><th>Reason</th></tr></thead><tbody>${summary}</tbody></table>
${report.links.map(linkSection).join('\n')}
</body></html>
`;
}
