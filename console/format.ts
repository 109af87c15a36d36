// How numbers and times read in the console: units always shown, as `wanwatch status` prints them.
export function ms(v: number | null | undefined): string {
  if (v === null || v === undefined) return '–';
  return v >= 100 ? `${Math.round(v)} ms` : v >= 1 || v === 0 ? `${v.toFixed(1)} ms` : `${v.toFixed(2)} ms`;
}

export function mbps(bps: number | null | undefined): string {
  if (bps === null || bps === undefined) return '–';
  const m = bps / 1e6;
  if (m >= 1000) return `${(m / 1000).toFixed(m >= 10_000 ? 0 : 1)} Gbps`;
  return `${m >= 100 ? Math.round(m) : m.toFixed(1)} Mbps`;
}

export function percent(v: number | null | undefined): string {
  if (v === null || v === undefined) return '–';
  return `${v < 10 && v !== 0 ? v.toFixed(1) : Math.round(v)} %`;
}

/** "4 s ago", "3 min ago", "2 h ago", "5 d ago"; against `now`. */
export function ago(t: number | null | undefined, now: number): string {
  if (t === null || t === undefined) return 'never';
  const s = Math.max(0, Math.round((now - t) / 1000));
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.round(s / 60)} min ago`;
  if (s < 86_400) return `${Math.round(s / 3600)} h ago`;
  return `${Math.round(s / 86_400)} d ago`;
}

export function duration(msv: number): string {
  const s = Math.round(msv / 1000);
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.round(s / 60)} min`;
  if (s < 86_400) return `${(s / 3600).toFixed(s < 36_000 ? 1 : 0)} h`;
  return `${(s / 86_400).toFixed(1)} d`;
}

export function time(t: number | null | undefined): string {
  if (t === null || t === undefined) return '–';
  const d = new Date(t);
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}
