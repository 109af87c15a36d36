// The lab's self-check: measures every link with the system `ping` and `iperf3`, run inside the site
// namespaces, and compares with what the link is configured to do:
//   delay  round trip within 1 ms of (a→b delay + b→a delay), mean of 1,000 pings 2 ms apart;
//   loss   within 1 percentage point of 1 − (1 − loss a→b)(1 − loss b→a), over the same 1,000 pings;
//   rate   each rate-limited direction within 5 %, from an iperf3 TCP test (3 s after a 1 s warm-up).
// The relay limits the rate of whole IP packets, iperf3 reports TCP payload (goodput), so the measured
// link rate is goodput × (MSS + 52) / MSS (20 bytes IP, 20 TCP, 12 TCP timestamps per packet).
import { randomInt } from 'node:crypto';
import { z } from 'zod';
import { renderTable } from '../shared/table.ts';
import type { Lab } from './lab.ts';

const PING_BYTES = 84; // IP packet of `ping`'s default 56-byte payload

export interface PingMeasurement {
  sent: number;
  received: number;
  loss_percent: number;
  rtt_min_ms: number;
  rtt_avg_ms: number;
  rtt_max_ms: number;
  rtt_mdev_ms: number;
}

/** Parses the summary lines of iputils `ping -q`. */
export function parsePingSummary(text: string): PingMeasurement | undefined {
  const counts = /(\d+) packets transmitted, (\d+) received/.exec(text);
  if (!counts) return undefined;
  const sent = Number(counts[1]);
  const received = Number(counts[2]);
  const rtt = /= ([\d.]+)\/([\d.]+)\/([\d.]+)\/([\d.]+) ms/.exec(text);
  return {
    sent,
    received,
    loss_percent: sent === 0 ? 0 : (100 * (sent - received)) / sent,
    rtt_min_ms: Number(rtt?.[1] ?? Number.NaN),
    rtt_avg_ms: Number(rtt?.[2] ?? Number.NaN),
    rtt_max_ms: Number(rtt?.[3] ?? Number.NaN),
    rtt_mdev_ms: Number(rtt?.[4] ?? Number.NaN),
  };
}

/** The round trip a ping should see on the link between `from` and `to` (no jitter, no queue). */
export function expectedPingRttMs(lab: Lab, from: string, to: string): number {
  const p = lab.params(from, to);
  const serialize = (rate: number | null) => (rate === null ? 0 : (PING_BYTES * 8) / (rate * 1000));
  return (
    p.a_to_b.delay_ms + p.b_to_a.delay_ms + serialize(p.a_to_b.rate_mbps) + serialize(p.b_to_a.rate_mbps)
  );
}

/**
 * Pings `to`'s site address from `from`: `count` pings `interval_ms` apart. Enough pings are allowed in
 * flight (`-l`) to keep the pace on a long link, and no more, so they do not queue behind each other.
 */
export async function measurePing(
  lab: Lab,
  from: string,
  to: string,
  opts: { count?: number; interval_ms?: number } = {},
): Promise<PingMeasurement> {
  const count = opts.count ?? 1000;
  const interval = opts.interval_ms ?? 2;
  const inFlight = Math.min(1000, Math.ceil(expectedPingRttMs(lab, from, to) / interval) + 2);
  const args = ['-n', '-q', '-c', String(count), '-i', String(interval / 1000), '-W', '2'];
  if (inFlight > 1) args.push('-l', String(inFlight));
  const r = await lab.exec(from, 'ping', [...args, lab.siteAddress(to)], { reject: false, timeout: 120_000 });
  const m = parsePingSummary(r.stdout);
  if (!m) throw new Error(`ping from ${from} to ${to} printed no summary: ${r.stderr || r.stdout}`);
  return m;
}

const iperf3Json = z.object({
  start: z.object({ tcp_mss_default: z.number().optional() }).optional(),
  end: z
    .object({
      sum_received: z.object({ bits_per_second: z.number() }).optional(),
      sum_sent: z.object({ retransmits: z.number().optional() }).optional(),
    })
    .optional(),
  error: z.string().optional(),
});

export interface RateMeasurement {
  goodput_mbps: number;
  /** Rate of whole IP packets on the link, the quantity `rate_mbps` limits. */
  ip_rate_mbps: number;
  mss: number;
  retransmits: number;
}

/** One iperf3 TCP test from `from` to `to` over the emulated link. */
export async function measureRate(
  lab: Lab,
  from: string,
  to: string,
  opts: { seconds?: number } = {},
): Promise<RateMeasurement> {
  const seconds = opts.seconds ?? 3;
  let lastError = '';
  for (let attempt = 0; attempt < 20; attempt++) {
    // The port is private to the site's namespace; random, so it never meets a server already there.
    const port = String(randomInt(20_000, 60_000));
    const server = lab.spawn(to, 'iperf3', ['-s', '-1', '-B', lab.siteAddress(to), '-p', port], {
      reject: false,
      timeout: (seconds + 15) * 1000,
    });
    try {
      // The server takes a moment to listen: a refused connection is retried, with a fresh port.
      await new Promise((r) => setTimeout(r, 100 + attempt * 50));
      const r = await lab.exec(
        from,
        'iperf3',
        [
          '-c',
          lab.siteAddress(to),
          '-B',
          lab.siteAddress(from),
          '-p',
          port,
          '-t',
          String(seconds),
          '-O',
          '1',
          '-J',
        ],
        { reject: false, timeout: (seconds + 10) * 1000 },
      );
      const parsed = iperf3Json.safeParse(JSON.parse(r.stdout || '{}'));
      if (!parsed.success)
        throw new Error(`iperf3 printed JSON of an unexpected shape: ${parsed.error.message}`);
      const j = parsed.data;
      const bps = j.end?.sum_received?.bits_per_second;
      if (j.error !== undefined || bps === undefined) {
        lastError = j.error ?? (r.stderr || 'no result');
        continue;
      }
      const mss = j.start?.tcp_mss_default ?? 1448;
      return {
        goodput_mbps: bps / 1e6,
        ip_rate_mbps: ((bps / 1e6) * (mss + 52)) / mss,
        mss,
        retransmits: j.end?.sum_sent?.retransmits ?? 0,
      };
    } finally {
      server.kill();
      await server;
    }
  }
  throw new Error(`iperf3 from ${from} to ${to} failed: ${lastError}`);
}

export interface CheckRow {
  link: string;
  check: 'delay' | 'loss' | 'rate';
  direction: string;
  configured: string;
  measured: string;
  /** undefined: not checked (see `note`). */
  pass: boolean | undefined;
  note: string;
}

/** Measures every link of the running lab against its configuration. */
export async function checkLab(lab: Lab, opts: { pings?: number } = {}): Promise<CheckRow[]> {
  const rows: CheckRow[] = [];
  const pings = opts.pings ?? 1000;
  const links = lab.spec.links;
  // Pings load the links very little: measure all links at once.
  const measured = await Promise.all(links.map((l) => measurePing(lab, l.a, l.b, { count: pings })));
  for (const [i, link] of links.entries()) {
    const m = measured[i] as PingMeasurement;
    const name = `${link.a} – ${link.b}`;
    const rtt = expectedPingRttMs(lab, link.a, link.b);
    const jitter = link.a_to_b.jitter_ms > 0 || link.b_to_a.jitter_ms > 0;
    rows.push({
      link: name,
      check: 'delay',
      direction: 'round trip',
      configured: `${rtt.toFixed(2)} ms`,
      measured: `${m.rtt_avg_ms.toFixed(2)} ms (mean of ${m.received})`,
      pass: jitter ? undefined : Math.abs(m.rtt_avg_ms - rtt) <= 1,
      note: jitter ? `jitter set: mdev ${m.rtt_mdev_ms.toFixed(2)} ms, not checked` : '±1 ms',
    });
    const loss = 100 * (1 - (1 - link.a_to_b.loss_percent / 100) * (1 - link.b_to_a.loss_percent / 100));
    rows.push({
      link: name,
      check: 'loss',
      direction: 'round trip',
      configured: `${loss.toFixed(2)} %`,
      measured: `${m.loss_percent.toFixed(2)} % (${m.sent - m.received} of ${m.sent})`,
      pass: Math.abs(m.loss_percent - loss) <= 1,
      note: '±1 point',
    });
  }
  for (const link of links) {
    for (const [from, to, p] of [
      [link.a, link.b, link.a_to_b],
      [link.b, link.a, link.b_to_a],
    ] as const) {
      if (p.rate_mbps === null) continue;
      const row: CheckRow = {
        link: `${link.a} – ${link.b}`,
        check: 'rate',
        direction: `${from} → ${to}`,
        configured: `${p.rate_mbps} Mbps`,
        measured: '',
        pass: undefined,
        note: '',
      };
      if (link.a_to_b.loss_percent > 0 || link.b_to_a.loss_percent > 0) {
        row.note = 'loss set: TCP cannot fill the link, not checked';
        rows.push(row);
        continue;
      }
      const r = await measureRate(lab, from, to);
      row.measured = `${r.ip_rate_mbps.toFixed(2)} Mbps (goodput ${r.goodput_mbps.toFixed(2)})`;
      row.pass = Math.abs(r.ip_rate_mbps - p.rate_mbps) <= 0.05 * p.rate_mbps;
      row.note = '±5 %';
      rows.push(row);
    }
  }
  return rows;
}

export function renderCheck(rows: CheckRow[]): string {
  return renderTable(
    ['LINK', 'CHECK', 'DIRECTION', 'CONFIGURED', 'MEASURED', 'RESULT'],
    rows.map((r) => [
      r.link,
      r.check,
      r.direction,
      r.configured,
      r.measured,
      `${r.pass === undefined ? '-' : r.pass ? 'pass' : 'FAIL'} ${r.note}`.trim(),
    ]),
  );
}
