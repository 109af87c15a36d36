// Bit rates as operators write them: "5M", "500k", "1G", "5000000" (bits per second, decimal
// multipliers as iperf3 uses them: k = 1,000, M = 1,000,000, G = 1,000,000,000).
const MULT: Record<string, number> = { '': 1, k: 1e3, m: 1e6, g: 1e9 };
const RATE = /^(\d+(?:\.\d+)?)\s*([kmg]?)(?:bps|bit\/s|b\/s)?$/i;

/** Parses "5M" into 5000000 bits per second; undefined when the text is not a rate above 0. */
export function parseRate(text: string): number | undefined {
  const m = RATE.exec(text.trim());
  if (!m) return undefined;
  const bps = Number(m[1]) * (MULT[(m[2] ?? '').toLowerCase()] as number);
  return bps > 0 && Number.isFinite(bps) ? Math.round(bps) : undefined;
}

/** Formats bits per second for people: "941.2 Mbit/s", "5 Mbit/s", "12.5 kbit/s". */
export function formatRate(bps: number): string {
  const units: [number, string][] = [
    [1e9, 'Gbit/s'],
    [1e6, 'Mbit/s'],
    [1e3, 'kbit/s'],
  ];
  for (const [size, unit] of units) {
    if (bps >= size) return `${Number((bps / size).toFixed(bps / size >= 100 ? 0 : 1))} ${unit}`;
  }
  return `${Math.round(bps)} bit/s`;
}
