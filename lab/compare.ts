// wanwatch's measuring commands next to the system tools, on the same emulated link: `wanwatch probe`
// next to iputils `ping`, `wanwatch throughput` next to the `iperf3` command line. Everything runs inside
// the lab's site namespaces, as it would on two hosts. Used by bench/accuracy.ts and
// test/e2e/accuracy.integration.test.ts; `startSiteAgent` by the end-to-end runs (test/e2e/lab-alerts.integration.test.ts,
// bench/alert-latency.ts).
//
// Why single pings for the reference median: iputils ping prints each reply's time rounded to 0.1 ms
// from 10 ms and to whole milliseconds from 100 ms ("time=121 ms"), too coarse to compare medians within
// 0.5 ms on a 120 ms link. Its summary line keeps microseconds, so each reference sample is one
// `ping -c 1` (its min = its RTT), started on a fixed spacing by one shell inside the site.
import type { Options } from 'execa';
import { z } from 'zod';
import {
  type RttResult,
  rttResultSchema,
  type ThroughputResult,
  throughputResultSchema,
} from '../shared/result.ts';
import { percentileSorted } from '../shared/stats.ts';
import { parsePingSummary } from './check.ts';
import type { Lab } from './lab.ts';

const WANWATCH = new URL('../bin/wanwatch.js', import.meta.url).pathname;

/**
 * Runs `wanwatch agent --site SITE` in the site's namespace, pushing to a collector in the root
 * namespace that listens on 0.0.0.0:`collectorPort` (reached over the site's management link).
 */
export function startSiteAgent<O extends Options>(
  lab: Lab,
  site: string,
  opts: { collectorPort: number | string; token: string; dataDir: string },
  options: O,
) {
  return lab.spawn(
    site,
    process.execPath,
    [
      WANWATCH,
      'agent',
      '--site',
      site,
      '--collector',
      `http://${lab.collectorAddress(site)}:${opts.collectorPort}`,
      '--data-dir',
      opts.dataDir,
    ],
    { ...options, env: { ...options.env, WANWATCH_TOKEN: opts.token } },
  );
}

export interface SiteResponder {
  /** UDP echo and TCP port of the reflector. */
  port: number;
  iperf3_port: number;
  stop(): Promise<void>;
}

/** Runs `wanwatch reflector` (UDP echo, TCP, iperf3 server) in `site`, on its site address, free ports. */
export async function startSiteResponder(lab: Lab, site: string): Promise<SiteResponder> {
  const child = lab.spawn(
    site,
    process.execPath,
    [WANWATCH, 'reflector', '--address', lab.siteAddress(site), '--port', '0', '--iperf3-port', '0'],
    { reject: false, buffer: false },
  );
  const first = await new Promise<string>((resolve, reject) => {
    let text = '';
    const onData = (chunk: Buffer) => {
      text += chunk.toString();
      const nl = text.indexOf('\n');
      if (nl >= 0) {
        child.stdout?.off('data', onData);
        resolve(text.slice(0, nl));
      }
    };
    child.stdout?.on('data', onData);
    child.once('exit', (code) =>
      reject(new Error(`wanwatch reflector in ${site} exited (${code}): ${text}`)),
    );
  });
  // "wanwatch reflector: UDP echo and TCP on 198.18.0.2:41234, iperf3 server on 198.18.0.2:40321 (…)"
  const m = /on [\d.]+:(\d+), iperf3 server on [\d.]+:(\d+)/.exec(first);
  if (!m) {
    child.kill();
    throw new Error(`wanwatch reflector in ${site} printed no ports: ${first}`);
  }
  child.stdout?.resume();
  return {
    port: Number(m[1]),
    iperf3_port: Number(m[2]),
    stop: async () => {
      child.kill('SIGTERM');
      await child;
    },
  };
}

/** `wanwatch probe --json` run in `from` against `to`'s site address. */
export async function wanwatchProbe(
  lab: Lab,
  from: string,
  to: string,
  opts: {
    method: 'icmp' | 'tcp' | 'udp';
    count: number;
    interval_ms: number;
    port?: number;
    timeout_ms?: number;
  },
): Promise<RttResult> {
  const args = [
    WANWATCH,
    'probe',
    lab.siteAddress(to),
    '--method',
    opts.method,
    '--count',
    String(opts.count),
    '--interval',
    String(opts.interval_ms),
    '--timeout',
    String(opts.timeout_ms ?? 2000),
    '--json',
  ];
  if (opts.port !== undefined) args.push('--port', String(opts.port));
  const r = await lab.exec(from, process.execPath, args, { reject: false, timeout: 300_000 });
  const parsed = rttResultSchema.safeParse(JSON.parse(r.stdout || 'null'));
  if (!parsed.success)
    throw new Error(`wanwatch probe ${opts.method} printed no Result: ${r.stderr || r.stdout}`);
  return parsed.data;
}

/** `wanwatch throughput --json` (TCP, `from` sends) run in `from` against the iperf3 server in `to`. */
export async function wanwatchThroughput(
  lab: Lab,
  from: string,
  to: string,
  opts: { port: number; seconds: number; omit_s: number },
): Promise<ThroughputResult> {
  const r = await lab.exec(
    from,
    process.execPath,
    [
      WANWATCH,
      'throughput',
      lab.siteAddress(to),
      '--port',
      String(opts.port),
      '--duration',
      String(opts.seconds),
      '--omit',
      String(opts.omit_s),
      '--json',
    ],
    { reject: false, timeout: (opts.seconds + opts.omit_s + 60) * 1000 },
  );
  const parsed = throughputResultSchema.safeParse(JSON.parse(r.stdout || 'null'));
  if (!parsed.success) throw new Error(`wanwatch throughput printed no Result: ${r.stderr || r.stdout}`);
  return parsed.data;
}

const iperf3Json = z.object({
  end: z.object({ sum_received: z.object({ bits_per_second: z.number() }) }).optional(),
  error: z.string().optional(),
});

/** The `iperf3` command line's goodput (end.sum_received), bits per second, same server and options. */
export async function iperf3Goodput(
  lab: Lab,
  from: string,
  to: string,
  opts: { port: number; seconds: number; omit_s: number },
): Promise<number> {
  const args = ['-c', lab.siteAddress(to), '-p', String(opts.port), '-J'];
  args.push('-t', String(opts.seconds), '-O', String(opts.omit_s));
  // The server may still be finishing the previous test: ask again a few times.
  let last = '';
  for (let attempt = 0; attempt < 5; attempt++) {
    const r = await lab.exec(from, 'iperf3', args, { reject: false, timeout: (opts.seconds + 30) * 1000 });
    const j = iperf3Json.safeParse(JSON.parse(r.stdout || '{}'));
    const bps = j.success ? j.data.end?.sum_received.bits_per_second : undefined;
    if (bps !== undefined && !(j.success && j.data.error)) return bps;
    last = (j.success ? j.data.error : undefined) ?? (r.stderr || r.stdout);
    await new Promise((resolve) => setTimeout(resolve, 500 * (attempt + 1)));
  }
  throw new Error(`iperf3 from ${from} to ${to} failed: ${last}`);
}

/**
 * `count` single iputils pings (`ping -c 1`) from `from` to `to`, started `interval_ms` apart by one
 * shell in the site; each sample is the summary's microsecond RTT. Lost pings are null.
 */
export async function pingSamples(
  lab: Lab,
  from: string,
  to: string,
  opts: { count: number; interval_ms: number },
): Promise<Array<number | null>> {
  const addr = lab.siteAddress(to);
  // Each ping writes its own file (output of concurrent pings on one pipe could interleave), read in order.
  const script = [
    'dir=$(mktemp -d); trap \'rm -rf "$dir"\' EXIT',
    `for i in $(seq 1 ${opts.count}); do`,
    `  ping -n -q -c 1 -W 2 ${addr} > "$dir/$i" 2>&1 &`,
    `  sleep ${opts.interval_ms / 1000}`,
    'done; wait',
    `for i in $(seq 1 ${opts.count}); do tr '\\n' ' ' < "$dir/$i"; echo; done`,
  ].join('\n');
  const r = await lab.exec(from, 'bash', ['-c', script], { reject: false, timeout: 300_000 });
  const samples = r.stdout
    .split('\n')
    .filter((l) => l.includes('packets transmitted'))
    .map((l) => {
      const m = parsePingSummary(l);
      return m && m.received === 1 ? m.rtt_min_ms : null;
    });
  if (samples.length !== opts.count)
    throw new Error(`expected ${opts.count} ping summaries from ${from}, got ${samples.length}: ${r.stderr}`);
  return samples;
}

/** Median as wanwatch computes it (shared/stats.ts), so both sides of a comparison agree on the method. */
export function median(values: readonly number[]): number {
  return percentileSorted(
    [...values].sort((a, b) => a - b),
    50,
  );
}
