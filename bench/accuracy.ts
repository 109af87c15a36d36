// How accurate wanwatch's measurements are, against the system tools on the same emulated link
// (needs root: run with `npx tsx bench/accuracy.ts`). Two sites A and B of the lab, `wanwatch reflector`
// in B; for every link of 5, 40 and 60 ms one-way delay × 2, 5 and 20 Mbps (the full 3 × 3 grid):
//   RTT        median of `wanwatch probe` (icmp, tcp, udp) next to iputils ping's median   target ±0.5 ms
//   goodput    `wanwatch throughput` next to the iperf3 command line, same server, options  target ±5 %
// and, on the 40 ms / 5 Mbps link with 1 % and 5 % loss configured from A to B:
//   loss       1,000 probes 5 ms apart, each method and ping, next to the configured loss  target ±1 point
// (the relay's own count of dropped probe packets is printed beside it).
import { cpus, release } from 'node:os';
import { measurePing } from '../lab/check.ts';
import {
  iperf3Goodput,
  median,
  pingSamples,
  startSiteResponder,
  wanwatchProbe,
  wanwatchThroughput,
} from '../lab/compare.ts';
import { labUnavailable, startLab } from '../lab/lab.ts';
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

try {
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
          '±0.5 ms',
          verdict(Math.abs(diff) <= 0.5),
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
console.log(
  `RTT: median of ${RTT_PROBES} probes ${RTT_SPACING_MS} ms apart, A → B; reference: iputils ping, ${RTT_PROBES} single pings`,
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
console.log(misses === 0 ? '\nevery row met its target' : `\n${misses} row(s) missed the target`);
