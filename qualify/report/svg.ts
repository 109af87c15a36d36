// What the report's SVG charts share: round ticks (1, 2, 2.5 or 5 × a power of ten), tick labels written
// with only the decimals the step needs, and margins wide enough for the longest label, so that no
// label is ever cut at the chart's edge ("20287.0" once showed as "0287.0").

/** Round tick values covering [lo, hi], about `count` of them. */
export function niceTicks(
  lo: number,
  hi: number,
  count = 5,
): { ticks: number[]; step: number; lo: number; hi: number } {
  const span = hi - lo > 0 ? hi - lo : Math.abs(hi) || 1;
  const raw = span / Math.max(1, count - 1);
  const p = 10 ** Math.floor(Math.log10(raw));
  const step = ([1, 2, 2.5, 5, 10].find((m) => m * p >= raw) ?? 10) * p;
  const first = Math.floor(lo / step + 1e-9) * step;
  const last = Math.ceil(hi / step - 1e-9) * step;
  const ticks: number[] = [];
  for (let v = first; v <= last + step / 2; v += step) ticks.push(Number(v.toFixed(10)));
  return { ticks, step, lo: first, hi: last };
}

/** A tick's label: as many decimals as the step has, no more ("2.5", "20", "20287"). */
export function tickLabel(v: number, step: number): string {
  const decimals = (String(Number(step.toPrecision(6))).split('.')[1] ?? '').length;
  return v.toFixed(decimals);
}

/** Width of a label in the report's 11 px system font, over-estimated so it always fits. */
export function textWidth(s: string, px = 11): number {
  return s.length * px * 0.62 + 4;
}
