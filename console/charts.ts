// The link page's charts, drawn by uPlot (the library Grafana draws its graphs with): fast on a thousand
// points, canvas-based, no dependency. Latency is drawn as SmokePing draws it: the median line, coloured
// where probes were lost, inside the p5–p95 band of the rounds' medians and the min–max band of every
// sample; the limit as a dashed line, latency under load as points, and each alert's firing time shaded
// on the same time axis. Dragging across any chart zooms all of them to that span.
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import type { SeriesReply } from '../shared/series-wire.ts';
import { mbps } from './format.ts';

const C = {
  text: '#c9d1d9',
  grid: 'rgba(240,246,252,0.08)',
  median: '#3fb950',
  band: 'rgba(88,166,255,0.30)',
  spread: 'rgba(88,166,255,0.12)',
  limit: '#f85149',
  load: '#d29922',
  loss: '#db6d28',
  jitter: '#a371f7',
  goodput: '#58a6ff',
  alert: 'rgba(248,81,73,0.13)',
};

/** SmokePing's loss colours: the median line turns from green through blue and purple to red. */
export function lossColour(loss: number | null): string {
  if (loss === null || loss === 0) return C.median;
  if (loss <= 5) return '#58a6ff';
  if (loss <= 20) return '#a371f7';
  return '#f85149';
}

export interface ChartHooks {
  /** The person dragged across a chart: the span they chose, in ms. */
  onZoom(fromMs: number, toMs: number): void;
}

const axis = (label: string, fmt?: (v: number) => string): uPlot.Axis => ({
  label,
  stroke: C.text,
  grid: { stroke: C.grid, width: 1 },
  ticks: { stroke: C.grid, width: 1 },
  labelFont: '12px system-ui, sans-serif',
  font: '11px system-ui, sans-serif',
  ...(fmt ? { values: (_u: uPlot, vals: number[]) => vals.map(fmt) } : {}),
  // Wide enough for the longest tick label, measured: a label is never cut.
  size: (u: uPlot, values: string[] | null) => {
    if (!values || values.length === 0) return 50;
    const ctx = u.ctx;
    ctx.font = '11px system-ui, sans-serif';
    return Math.ceil(Math.max(...values.map((v) => ctx.measureText(v).width)) + 28);
  },
});

const timeAxis = (): uPlot.Axis => ({
  stroke: C.text,
  grid: { stroke: C.grid, width: 1 },
  ticks: { stroke: C.grid, width: 1 },
  font: '11px system-ui, sans-serif',
});

function base(
  width: number,
  height: number,
  hooks: ChartHooks,
  series: uPlot.Series[],
  axes: uPlot.Axis[],
  extra: Partial<uPlot.Options> = {},
): uPlot.Options {
  return {
    width,
    height,
    series: [{ label: 'time' }, ...series],
    axes: [timeAxis(), ...axes],
    cursor: { sync: { key: 'link' }, drag: { x: true, y: false, setScale: false } },
    legend: { live: true },
    hooks: {
      setSelect: [
        (u) => {
          if (u.select.width < 5) return;
          const from = u.posToVal(u.select.left, 'x') * 1000;
          const to = u.posToVal(u.select.left + u.select.width, 'x') * 1000;
          u.setSelect({ left: 0, top: 0, width: 0, height: 0 }, false);
          hooks.onZoom(Math.round(from), Math.round(to));
        },
      ],
    },
    ...extra,
  };
}

const secs = (t: number[]) => t.map((v) => v / 1000);

/** Shades each alert's firing span (until it resolved, or the range's end) behind the plot. */
function alertShading(s: SeriesReply): uPlot.Plugin {
  const spans: [number, number][] = [];
  const open = new Map<string, number>();
  for (const a of s.alerts) {
    if (a.status === 'firing') open.set(a.rule, open.get(a.rule) ?? a.time_ms);
    else {
      const start = open.get(a.rule);
      spans.push([start ?? s.from_ms, a.time_ms]);
      open.delete(a.rule);
    }
  }
  for (const start of open.values()) spans.push([start, s.to_ms]);
  return {
    hooks: {
      drawClear: [
        (u) => {
          const { ctx, bbox } = u;
          ctx.save();
          ctx.fillStyle = C.alert;
          for (const [a, b] of spans) {
            const x0 = Math.max(bbox.left, Math.round(u.valToPos(a / 1000, 'x', true)));
            const x1 = Math.min(bbox.left + bbox.width, Math.round(u.valToPos(b / 1000, 'x', true)));
            if (x1 > x0) ctx.fillRect(x0, bbox.top, Math.max(2, x1 - x0), bbox.height);
          }
          ctx.restore();
        },
      ],
    },
  };
}

/** Latency: min–max and p5–p95 bands, the median coloured by loss, under load, the limit. */
export function latencyChart(el: HTMLElement, s: SeriesReply, width: number, hooks: ChartHooks): uPlot {
  const x = secs(s.rtt.time_ms);
  const limit = x.map(() => s.max_rtt_ms);
  // Latency under load shares the time axis: each test placed in the bucket it fell in, if any.
  const load = new Map(s.throughput.time_ms.map((t, i) => [t, s.throughput.loaded_rtt_ms[i] ?? null]));
  const loaded = s.rtt.time_ms.map((t) => load.get(t) ?? null);
  const loss = s.rtt.loss_percent;
  const medianColours: uPlot.Plugin = {
    hooks: {
      draw: [
        (u) => {
          const { ctx } = u;
          const xs = u.data[0];
          const ys = u.data[3] as (number | null)[];
          ctx.save();
          ctx.lineWidth = 2 * devicePixelRatio;
          for (let i = 1; i < xs.length; i++) {
            const l = loss[i] ?? null;
            const y0 = ys[i - 1];
            const y1 = ys[i];
            if (!l || y0 === null || y0 === undefined || y1 === null || y1 === undefined) continue;
            ctx.strokeStyle = lossColour(l);
            ctx.beginPath();
            ctx.moveTo(u.valToPos(xs[i - 1] as number, 'x', true), u.valToPos(y0, 'y', true));
            ctx.lineTo(u.valToPos(xs[i] as number, 'x', true), u.valToPos(y1, 'y', true));
            ctx.stroke();
          }
          ctx.restore();
        },
      ],
    },
  };
  const top = Math.max(s.max_rtt_ms * 1.15, ...s.rtt.max_ms.map((v) => v ?? 0));
  const opts = base(
    width,
    280,
    hooks,
    [
      { label: 'max', stroke: 'transparent', width: 1, value: (_u, v) => fmtMs(v) },
      { label: 'p95', stroke: 'rgba(88,166,255,0.45)', width: 1, value: (_u, v) => fmtMs(v) },
      { label: 'median', stroke: C.median, width: 2.5, value: (_u, v) => fmtMs(v) },
      { label: 'p5', stroke: 'rgba(88,166,255,0.45)', width: 1, value: (_u, v) => fmtMs(v) },
      { label: 'min', stroke: 'transparent', width: 1, value: (_u, v) => fmtMs(v) },
      {
        label: 'under load',
        stroke: C.load,
        width: 0,
        points: { show: true, size: 6, fill: C.load, stroke: C.load },
        paths: () => null,
        value: (_u, v) => fmtMs(v),
      },
      {
        label: `limit ${fmtMs(s.max_rtt_ms)}`,
        stroke: C.limit,
        width: 1.5,
        dash: [6, 4],
        points: { show: false },
        value: () => fmtMs(s.max_rtt_ms),
      },
    ],
    [axis('RTT (ms)', (v) => `${+v.toFixed(1)}`)],
    {
      bands: [
        { series: [1, 5], fill: C.spread },
        { series: [2, 4], fill: C.band },
      ],
      scales: {
        x: { time: true, range: () => [s.from_ms / 1000, s.to_ms / 1000] },
        y: { range: () => [0, niceCeil(top)] },
      },
      plugins: [alertShading(s), medianColours],
    },
  );
  return new uPlot(
    opts,
    [
      x,
      s.rtt.max_ms,
      s.rtt.p95_ms,
      s.rtt.median_ms,
      s.rtt.p5_ms,
      s.rtt.min_ms,
      loaded,
      limit,
    ] as uPlot.AlignedData,
    el,
  );
}

/** Loss (bars, percent) and jitter (line, ms) with the loss limit. */
export function lossChart(el: HTMLElement, s: SeriesReply, width: number, hooks: ChartHooks): uPlot {
  const x = secs(s.rtt.time_ms);
  const opts = base(
    width,
    150,
    hooks,
    [
      {
        label: 'loss',
        stroke: C.loss,
        fill: 'rgba(219,109,40,0.5)',
        width: 1,
        paths: uPlot.paths.bars?.({ size: [0.9, 8] }),
        scale: '%',
        value: (_u, v) => (v === null ? '–' : `${v} %`),
      },
      {
        label: `loss limit ${s.max_loss_percent} %`,
        stroke: C.limit,
        width: 1.5,
        dash: [6, 4],
        scale: '%',
        points: { show: false },
        value: () => `${s.max_loss_percent} %`,
      },
      {
        label: 'jitter',
        stroke: 'rgba(163,113,247,0.75)',
        width: 1,
        scale: 'ms',
        value: (_u, v) => fmtMs(v),
      },
    ],
    [
      { ...axis('loss (%)', (v) => `${+v.toFixed(1)}`), scale: '%' },
      { ...axis('jitter (ms)', (v) => `${+v.toFixed(1)}`), scale: 'ms', side: 1, grid: { show: false } },
    ],
    {
      scales: {
        x: { time: true, range: () => [s.from_ms / 1000, s.to_ms / 1000] },
        '%': { range: (_u, _min, max) => [0, Math.max(niceCeil(max), s.max_loss_percent * 2, 1)] },
        ms: { range: (_u, _min, max) => [0, Math.max(niceCeil(max), 1)] },
      },
      plugins: [alertShading(s)],
    },
  );
  return new uPlot(
    opts,
    [x, s.rtt.loss_percent, x.map(() => s.max_loss_percent), s.rtt.jitter_ms] as uPlot.AlignedData,
    el,
  );
}

/** Goodput of the tests in this direction: the bucket's range and mean, against the requirement. */
export function goodputChart(el: HTMLElement, s: SeriesReply, width: number, hooks: ChartHooks): uPlot {
  const x = secs(s.throughput.time_ms);
  const mb = (a: (number | null)[]) => a.map((v) => (v === null ? null : v / 1e6));
  const top = Math.max((s.required_bps / 1e6) * 1.3, ...s.throughput.max_bps.map((v) => (v ?? 0) / 1e6));
  const opts = base(
    width,
    200,
    hooks,
    [
      // Drawn first, so that the measured series stay visible where they meet it.
      {
        label: `required ${mbps(s.required_bps)}`,
        stroke: C.limit,
        width: 1.5,
        dash: [6, 4],
        points: { show: false },
        value: () => mbps(s.required_bps),
      },
      {
        label: 'highest',
        stroke: 'rgba(88,166,255,0.5)',
        width: 1,
        points: { show: true, size: 4 },
        value: (_u, v) => fmtMbps(v),
      },
      {
        label: 'mean',
        stroke: C.goodput,
        width: 2,
        points: { show: true, size: 6, fill: C.goodput },
        value: (_u, v) => fmtMbps(v),
      },
      {
        label: 'lowest',
        stroke: 'rgba(88,166,255,0.5)',
        width: 1,
        points: { show: true, size: 4 },
        value: (_u, v) => fmtMbps(v),
      },
    ],
    [axis('goodput (Mbps)', (v) => `${+v.toFixed(1)}`)],
    {
      bands: [{ series: [2, 4], fill: C.spread }],
      scales: {
        x: { time: true, range: () => [s.from_ms / 1000, s.to_ms / 1000] },
        y: { range: () => [0, niceCeil(top)] },
      },
      plugins: [alertShading(s)],
    },
  );
  return new uPlot(
    opts,
    [
      x,
      x.map(() => s.required_bps / 1e6),
      mb(s.throughput.max_bps),
      mb(s.throughput.mean_bps),
      mb(s.throughput.min_bps),
    ] as uPlot.AlignedData,
    el,
  );
}

function fmtMs(v: number | null): string {
  return v === null || v === undefined ? '–' : `${v.toFixed(v >= 100 ? 0 : 1)} ms`;
}
function fmtMbps(v: number | null): string {
  return v === null || v === undefined ? '–' : `${v.toFixed(v >= 100 ? 0 : 1)} Mbps`;
}

/** 1, 2, 2.5, 5 × 10^n at or above v. */
export function niceCeil(v: number): number {
  if (!(v > 0)) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}
