// How accurate wanwatch's measurements are, against the system tools on the same emulated link
// (needs root: run with `npx tsx bench/accuracy.ts [--rtt-only]`). Two sites A and B of the lab,
// `wanwatch reflector` in B.
//
// Part 1, RTT side by side (the bar every method must meet): a 33 ms one-way link, REPS repetitions;
// in each, the tools take turns, 50 probes 20 ms apart each: iputils ping (single pings: its summary
// keeps microseconds), fping, then `wanwatch probe` icmp, udp and tcp. Per repetition and tool: median
// and p95 minus ping's. Target for every wanwatch method in every repetition: median within 0.3 ms of
// ping's, p95 within 1 ms.
//
// Part 2 (skipped with --rtt-only), for every link of 5, 40 and 60 ms one-way delay × 2, 5 and 20 Mbps:
//   RTT        median of `wanwatch probe` (icmp, tcp, udp) next to iputils ping's median   target ±0.3 ms
//   goodput    `wanwatch throughput` next to the iperf3 command line, same server, options  target ±5 %
// and, on the 40 ms / 5 Mbps link with 1 % and 5 % loss configured from A to B:
//   loss       1,000 probes 5 ms apart, each method and ping, next to the configured loss  target ±1 point
// (the relay's own count of dropped probe packets is printed beside it).
import { cpus, release } from 'node:os';
import { execa } from 'execa';
import { measurePing } from '../lab/check.ts';
import {
  iperf3Goodput,
  median,
  pingSamples,
  startSiteResponder,
  wanwatchProbe,
  wanwatchThroughput,
} from '../lab/compare.ts';
import { type Lab, labUnavailable, startLab } from '../lab/lab.ts';
import { readState } from '../lab/state.ts';
import { percentileSorted } from '../shared/stats.ts';
import { renderTable } from '../shared/table.ts';

const DELAYS_MS = [5, 40, 60];
const RATES_MBPS = [2, 5, 20];
const RTT_PROBES = 100;
const RTT_SPACING_MS = 20;
const TPUT_SECONDS = 5;
const TPUT_OMIT_S = 1;
const LOSS_PROBES = 1000;
const LOSS_SPACING_MS = 5;
const LOSS_PERCENTS = [1, 5];
const METHODS = ['icmp', 'tcp', 'udp'] as const;
const SIDE_DELAY_MS = 33;
const SIDE_REPS = Number(process.env.ACCURACY_REPS ?? 5);
const SIDE_PROBES = 50;
const SIDE_SPACING_MS = 20;
const MEDIAN_TARGET_MS = 0.3;
const P95_TARGET_MS = 1;
const rttOnly = process.argv.includes('--rtt-only');
const withJs = process.argv.includes('--with-js-timing');
let relayPriority = '';
/** TCP payload per 1,500-byte IP packet (MSS 1448 with timestamps): the most goodput a link can carry. */
const GOODPUT_SHARE = 1448 / 1500;

const why = labUnavailable();
if (why) {
  process.stderr.write(`bench/accuracy: cannot run: ${why}\n`);
  process.exit(1);
}

const started = Date.now();
const progress = (text: string) =>
  process.stderr.write(`[${((Date.now() - started) / 1000).toFixed(0).padStart(3)} s] ${text}\n`);
const f = (n: number, d = 3) => n.toFixed(d);

const lab = await startLab(
  { sites: ['A', 'B'], links: [{ between: ['A', 'B'] }] },
  { name: `acc${process.pid}` },
);
const responder = await startSiteResponder(lab, 'B');
const rttRows: string[][] = [];
const tputRows: string[][] = [];
const lossRows: string[][] = [];
let misses = 0;
const verdict = (pass: boolean) => {
  if (!pass) misses++;
  return pass ? 'PASS' : 'MISS';
};
// Each finished row is printed as progress too, so a run cut short still shows what it measured.
const push = (rows: string[][], row: string[]) => {
  rows.push(row);
  progress(`  ${row.join('  ')}`);
};

const SIDE = new URL('./accuracy-side.ts', import.meta.url).pathname;
const TSX = new URL('../node_modules/tsx/dist/cli.mjs', import.meta.url).pathname;

/**
 * One repetition: ping, fping and wanwatch's icmp, udp and tcp at the same time, inside site A
 * (bench/accuracy-side.ts says why at the same time). `jsTiming`: wanwatch's probes time in JavaScript
 * (WANWATCH_KERNEL_TIMESTAMPS=0), as before the kernel timestamps; the reflector is unchanged.
 */
async function sideBySide(lab: Lab, port: number, jsTiming = false) {
  const r = await lab.exec(
    'A',
    process.execPath,
    [TSX, SIDE, lab.siteAddress('B'), String(port), String(SIDE_PROBES), String(SIDE_SPACING_MS)],
    {
      reject: false,
      timeout: 120_000,
      env: jsTiming ? { WANWATCH_KERNEL_TIMESTAMPS: '0' } : {},
    },
  );
  try {
    return JSON.parse(r.stdout) as Record<(typeof SIDE_TOOLS)[number], (number | null)[]> & { clock: string };
  } catch {
    throw new Error(`bench/accuracy-side.ts failed: ${r.stderr || r.stdout}`);
  }
}

const got = (xs: readonly (number | null)[]) =>
  xs.filter((x): x is number => x !== null).sort((a, b) => a - b);
const stat = (xs: readonly (number | null)[], p: number) => {
  const s = got(xs);
  return s.length ? percentileSorted(s, p) : Number.NaN;
};
const signed = (n: number) => `${n >= 0 ? '+' : ''}${n.toFixed(3)}`;
const SIDE_TOOLS = ['ping', 'fping', 'icmp', 'udp', 'tcp'] as const;
const sideRows: string[][] = [];
/** Per tool: the differences to ping of each repetition. */
const sideDiffs = new Map<string, { median: number[]; p95: number[] }>();

try {
  progress(`part 1: ${SIDE_DELAY_MS} ms one way, ${SIDE_REPS} repetitions, tools at the same time`);
  await lab.set({ between: ['A', 'B'], delay_ms: SIDE_DELAY_MS, rate_mbps: null, loss_percent: 0 });
  // The relay is a process on a shared machine: at real-time priority, a moment of load elsewhere does
  // not become delay on the link (every tool crosses the same link either way).
  const relay = readState(lab.name)?.relay?.pid;
  const chrt = relay ? await execa('chrt', ['-f', '-p', '50', String(relay)], { reject: false }) : undefined;
  relayPriority =
    chrt && chrt.exitCode === 0 ? 'SCHED_FIFO 50' : `normal (${chrt?.stderr ?? 'no relay pid'})`;
  for (let rep = 1; rep <= SIDE_REPS; rep++) {
    const side = await sideBySide(lab, responder.port);
    const samples = new Map<string, (number | null)[]>(SIDE_TOOLS.map((t) => [t, side[t]]));
    if (withJs) {
      const js = await sideBySide(lab, responder.port, true);
      for (const t of ['icmp', 'udp', 'tcp'] as const) samples.set(`${t} (js)`, js[t]);
      // The JavaScript-timed run has its own ping: its differences are taken to that one.
      samples.set('ping (js run)', js.ping);
    }
    const ping = samples.get('ping') ?? [];
    const pm = stat(ping, 50);
    const p95 = stat(ping, 95);
    for (const tool of samples.keys()) {
      if (tool === 'ping (js run)') continue;
      const xs = samples.get(tool) ?? [];
      const ref = tool.endsWith('(js)') ? (samples.get('ping (js run)') ?? []) : ping;
      const dm = stat(xs, 50) - (tool.endsWith('(js)') ? stat(ref, 50) : pm);
      const d95 = stat(xs, 95) - (tool.endsWith('(js)') ? stat(ref, 95) : p95);
      const d = sideDiffs.get(tool) ?? { median: [], p95: [] };
      d.median.push(dm);
      d.p95.push(d95);
      sideDiffs.set(tool, d);
      const judged = ['icmp', 'udp', 'tcp'].includes(tool);
      push(sideRows, [
        String(rep),
        tool,
        `${got(xs).length}/${xs.length}`,
        f(stat(xs, 50)),
        f(stat(xs, 95)),
        tool === 'ping' ? '' : signed(dm),
        tool === 'ping' ? '' : signed(d95),
        judged ? verdict(Math.abs(dm) <= MEDIAN_TARGET_MS && Math.abs(d95) <= P95_TARGET_MS) : '',
      ]);
    }
  }
  if (!rttOnly) {
    for (const delay of DELAYS_MS) {
      for (const rate of RATES_MBPS) {
        const link = `${delay} ms, ${rate} Mbps`;
        await lab.set({ between: ['A', 'B'], delay_ms: delay, rate_mbps: rate, loss_percent: 0 });
        progress(`${link}: ${RTT_PROBES} pings, ${RTT_SPACING_MS} ms apart`);
        const ping = pingSamples(lab, 'A', 'B', { count: RTT_PROBES, interval_ms: RTT_SPACING_MS });
        const pingMedian = median((await ping).filter((x): x is number => x !== null));
        for (const method of METHODS) {
          progress(`${link}: wanwatch probe --method ${method}`);
          const r = await wanwatchProbe(lab, 'A', 'B', {
            method,
            count: RTT_PROBES,
            interval_ms: RTT_SPACING_MS,
            port: method === 'icmp' ? undefined : responder.port,
          });
          const m = r.rtt?.rtt_median_ms ?? Number.NaN;
          const diff = m - pingMedian;
          push(rttRows, [
            link,
            method,
            f(pingMedian),
            f(m),
            `${diff >= 0 ? '+' : ''}${f(diff)}`,
            `${r.rtt?.received ?? 0}/${r.rtt?.sent ?? 0}`,
            `±${MEDIAN_TARGET_MS} ms`,
            verdict(Math.abs(diff) <= MEDIAN_TARGET_MS),
          ]);
        }
        progress(`${link}: wanwatch throughput and iperf3, ${TPUT_SECONDS} s after ${TPUT_OMIT_S} s warm-up`);
        const opts = { port: responder.iperf3_port, seconds: TPUT_SECONDS, omit_s: TPUT_OMIT_S };
        const ww = await wanwatchThroughput(lab, 'A', 'B', opts);
        const ref = await iperf3Goodput(lab, 'A', 'B', opts);
        const got = ww.throughput?.goodput_bps ?? Number.NaN;
        const diff = (100 * (got - ref)) / ref;
        push(tputRows, [
          link,
          f(rate * GOODPUT_SHARE, 2),
          f(ref / 1e6, 2),
          f(got / 1e6, 2),
          `${diff >= 0 ? '+' : ''}${f(diff, 1)} %`,
          '±5 %',
          verdict(Math.abs(diff) <= 5),
        ]);
      }
    }

    for (const loss of LOSS_PERCENTS) {
      await lab.set({ between: ['A', 'B'], delay_ms: 40, rate_mbps: 5, loss_percent: 0 });
      await lab.set({ between: ['A', 'B'], a_to_b: { loss_percent: loss } });
      const dropped = async () => (await lab.stats()).find((s) => s.from === 'A')?.lost ?? 0;
      for (const method of ['ping', ...METHODS] as const) {
        progress(`loss ${loss} % A → B: ${LOSS_PROBES} × ${method}, ${LOSS_SPACING_MS} ms apart`);
        const before = await dropped();
        let sent: number;
        let received: number;
        if (method === 'ping') {
          const p = await measurePing(lab, 'A', 'B', { count: LOSS_PROBES, interval_ms: LOSS_SPACING_MS });
          sent = p.sent;
          received = p.received;
        } else {
          const r = await wanwatchProbe(lab, 'A', 'B', {
            method,
            count: LOSS_PROBES,
            interval_ms: LOSS_SPACING_MS,
            port: method === 'icmp' ? undefined : responder.port,
          });
          sent = r.rtt?.sent ?? 0;
          received = r.rtt?.received ?? 0;
        }
        const relayLost = (await dropped()) - before;
        const measured = (100 * (sent - received)) / sent;
        push(lossRows, [
          `${loss} %`,
          method === 'ping' ? 'ping (iputils)' : method,
          String(sent),
          String(sent - received),
          f(measured, 1),
          // TCP sends more than one packet A → B per probe (SYN, ACK, RST): the relay's count is not per probe.
          method === 'tcp' ? `(${relayLost} packets)` : String(relayLost),
          '±1 point',
          verdict(Math.abs(measured - loss) <= 1),
        ]);
      }
    }
  }
} finally {
  await responder.stop();
  await lab.stop();
}

const cpu = cpus();
console.log(
  `bench/accuracy — Node ${process.version}, ${cpu.length} cores (${cpu[0]?.model.trim() ?? 'unknown CPU'}), Linux ${release()}`,
);
console.log(
  `emulated WAN lab, sites A and B, wanwatch reflector in B; ${((Date.now() - started) / 1000).toFixed(0)} s\n`,
);
const spread = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return `${signed(percentileSorted(s, 50))} [${signed(s[0] ?? Number.NaN)}…${signed(s[s.length - 1] ?? Number.NaN)}]`;
};
console.log(
  `RTT side by side: ${SIDE_DELAY_MS} ms one way (no rate limit), reference: one ping -i run, ${SIDE_REPS} repetitions × ${SIDE_PROBES} probes ${SIDE_SPACING_MS} ms apart per tool, tools at the same time, the relay at ${relayPriority} priority; targets: median within ${MEDIAN_TARGET_MS} ms of ping's, p95 within ${P95_TARGET_MS} ms`,
);
console.log(
  renderTable(
    ['REP', 'TOOL', 'ANSWERED', 'MEDIAN ms', 'P95 ms', 'MEDIAN − PING', 'P95 − PING', 'RESULT'],
    sideRows,
    ['right', 'left', 'right', 'right', 'right', 'right', 'right'],
  ),
);
console.log('\nsummary: median [min…max] over the repetitions, ms');
console.log(
  renderTable(
    ['TOOL', 'MEDIAN − PING', 'P95 − PING'],
    [...sideDiffs]
      .filter(([tool]) => tool !== 'ping')
      .map(([tool, d]) => [tool, spread(d.median), spread(d.p95)]),
  ),
);
if (!rttOnly) {
  console.log(
    `\nRTT: median of ${RTT_PROBES} probes ${RTT_SPACING_MS} ms apart, A → B; reference: iputils ping, ${RTT_PROBES} single pings`,
  );
  console.log(
    renderTable(
      ['LINK (one way)', 'METHOD', 'PING ms', 'WANWATCH ms', 'DIFF ms', 'ANSWERED', 'TARGET', 'RESULT'],
      rttRows,
      ['left', 'left', 'right', 'right', 'right', 'right'],
    ),
  );
  console.log(
    `\nGoodput, Mbps, A → B, TCP ${TPUT_SECONDS} s after ${TPUT_OMIT_S} s warm-up (-t ${TPUT_SECONDS} -O ${TPUT_OMIT_S}); LINK MAX = rate × 1448/1500`,
  );
  console.log(
    renderTable(['LINK (one way)', 'LINK MAX', 'IPERF3', 'WANWATCH', 'DIFF', 'TARGET', 'RESULT'], tputRows, [
      'left',
      'right',
      'right',
      'right',
      'right',
    ]),
  );
  console.log(
    `\nLoss: ${LOSS_PROBES} probes ${LOSS_SPACING_MS} ms apart on the 40 ms / 5 Mbps link, loss configured A → B only`,
  );
  console.log(
    renderTable(
      ['CONFIGURED', 'METHOD', 'SENT', 'LOST', 'MEASURED %', 'RELAY DROPPED', 'TARGET', 'RESULT'],
      lossRows,
      ['left', 'left', 'right', 'right', 'right', 'right'],
    ),
  );
}
console.log(misses === 0 ? '\nevery row met its target' : `\n${misses} row(s) missed the target`);
