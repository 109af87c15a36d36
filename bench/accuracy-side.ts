// One repetition of bench/accuracy.ts's side-by-side RTT comparison, run inside a lab site (spawned with
// `ip netns exec`): iputils ping, fping and wanwatch's icmp, udp and tcp probes all at the same time,
// each COUNT probes SPACING ms apart, their starts spread over one spacing. At the same time, so that
// every tool sees the same link: on this shared 2-core machine the lab's relay is itself a process, and
// a moment of load delays whatever crosses the link then (taking turns, fping's p95 differed from
// ping's by −0.8 to +7.3 ms between repetitions). wanwatch's probes are the functions `wanwatch probe`
// runs, loaded before anything starts (a CLI's start-up would load the machine in the first second).
// Prints one JSON object: tool -> samples in ms (null = lost).
// Usage: tsx bench/accuracy-side.ts ADDRESS PORT COUNT SPACING_MS
import { execa } from 'execa';
import { closeIcmpSessions } from '../probes/icmp.ts';
import { RTT_PROBES } from '../probes/index.ts';
import { kernelTimestamps } from '../probes/timestamps.ts';

const [address = '', portText = '', countText = '50', spacingText = '20'] = process.argv.slice(2);
const port = Number(portText);
const count = Number(countText);
const spacing = Number(spacingText);
const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function ping(): Promise<(number | null)[]> {
  const r = await execa(
    'ping',
    ['-n', '-c', String(count), '-i', String(spacing / 1000), '-W', '2', address],
    {
      reject: false,
    },
  );
  const out: (number | null)[] = new Array(count).fill(null);
  for (const m of r.stdout.matchAll(/icmp_seq=(\d+) .*time=([\d.]+) ms/g))
    out[Number(m[1]) - 1] = Number(m[2]);
  return out;
}

async function fping(): Promise<(number | null)[]> {
  const r = await execa('fping', ['-q', '-C', String(count), '-p', String(spacing), '-t', '2000', address], {
    reject: false,
  });
  const line = r.stderr.split('\n').find((l) => l.includes(' : ')) ?? '';
  const out = (line.split(' : ')[1] ?? '')
    .trim()
    .split(/\s+/)
    .map((x) => (x === '-' || x === '' ? null : Number(x)));
  if (out.length !== count) throw new Error(`fping printed ${out.length} samples: ${r.stderr}`);
  return out;
}

async function wanwatch(method: 'icmp' | 'udp' | 'tcp'): Promise<(number | null)[]> {
  const r = await RTT_PROBES[method](
    { src: 'A', dst: 'B', host: address, ...(method === 'icmp' ? {} : { port, reflector: true }) },
    { count, spacing_ms: spacing, timeout_ms: 2000 },
  );
  if (!r.rtt) throw new Error(`wanwatch ${method}: ${r.error?.message}`);
  return r.rtt.samples_ms;
}

const step = spacing / 5;
const [p, f, icmp, udp, tcp] = await Promise.all([
  ping(),
  pause(step).then(fping),
  pause(2 * step).then(() => wanwatch('icmp')),
  pause(3 * step).then(() => wanwatch('udp')),
  pause(4 * step).then(() => wanwatch('tcp')),
]);
closeIcmpSessions();
console.log(
  JSON.stringify({ clock: kernelTimestamps().native ? 'kernel' : 'node', ping: p, fping: f, icmp, udp, tcp }),
);
