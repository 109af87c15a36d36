// wanwatch's measurements next to the system tools on one representative emulated link (40 ms one
// way, 5 Mbps): the quick form of bench/accuracy.ts. The probes run inside the lab's site A as
// `wanwatch probe` / `wanwatch throughput`, against `wanwatch reflector` in site B.
import { randomBytes } from 'node:crypto';
import { execa } from 'execa';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { measurePing } from '../../lab/check.ts';
import {
  iperf3Goodput,
  type SiteResponder,
  startSiteResponder,
  wanwatchProbe,
  wanwatchThroughput,
} from '../../lab/compare.ts';
import { type Lab, startLab } from '../../lab/lab.ts';
import { readState } from '../../lab/state.ts';
import { percentileSorted } from '../../shared/stats.ts';
import { describeLab } from '../support/lab.ts';

const SIDE = new URL('../../bench/accuracy-side.ts', import.meta.url).pathname;
const TSX = new URL('../../node_modules/tsx/dist/cli.mjs', import.meta.url).pathname;

describeLab('accuracy on a 40 ms, 5 Mbps link, against ping and iperf3', () => {
  let lab: Lab;
  let responder: SiteResponder;
  beforeAll(async () => {
    lab = await startLab(
      { sites: ['A', 'B'], links: [{ between: ['A', 'B'], delay_ms: 40, rate_mbps: 5 }] },
      { name: `t${randomBytes(4).toString('hex')}` },
    );
    responder = await startSiteResponder(lab, 'B');
  }, 30_000);
  afterAll(async () => {
    await responder?.stop();
    await lab?.stop();
  });

  // The bar (bench/accuracy.ts part 1 prints it over five repetitions): every method's median within
  // 0.3 ms of iputils ping's and its p95 within 1 ms, all tools measuring the same link at the same
  // time (bench/accuracy-side.ts), the lab's relay at real-time priority so that other work on the
  // machine does not become delay on the link. Kernel timestamps make this hold (docs/measuring.md,
  // "Where the time goes"); timed in JavaScript, p95 was 1 to 5 ms above ping's.
  it('icmp, udp and tcp: median within 0.3 ms of ping’s, p95 within 1 ms, measured side by side', async () => {
    const relay = readState(lab.name)?.relay?.pid;
    // Where real-time priority is not allowed (some containers) the tools still share the link's moments.
    const chrt = relay
      ? await execa('chrt', ['-f', '-p', '50', String(relay)], { reject: false })
      : undefined;
    if (chrt?.exitCode !== 0)
      process.stderr.write(`relay at normal priority: ${chrt?.stderr ?? 'no relay pid'}\n`);
    const r = await lab.exec(
      'A',
      process.execPath,
      [TSX, SIDE, lab.siteAddress('B'), String(responder.port), '50', '20'],
      { reject: false, timeout: 60_000 },
    );
    const side = JSON.parse(r.stdout || 'null') as Record<string, (number | null)[]> | null;
    expect(side, r.stderr).not.toBeNull();
    const stat = (xs: (number | null)[] | undefined, p: number) => {
      const got = (xs ?? []).filter((x): x is number => x !== null).sort((a, b) => a - b);
      expect(got.length).toBeGreaterThanOrEqual(48);
      return percentileSorted(got, p);
    };
    const ping = side?.ping;
    expect(stat(ping, 50)).toBeGreaterThan(80);
    for (const method of ['icmp', 'udp', 'tcp']) {
      const xs = side?.[method];
      expect(Math.abs(stat(xs, 50) - stat(ping, 50)), `${method} median − ping's`).toBeLessThanOrEqual(0.3);
      expect(Math.abs(stat(xs, 95) - stat(ping, 95)), `${method} p95 − ping's`).toBeLessThanOrEqual(1);
    }
  }, 60_000);

  it('loss over 1,000 probes is within 1 point of the configured 2 %; udp and icmp count exactly what the link dropped', async () => {
    await lab.set({ between: ['A', 'B'], a_to_b: { loss_percent: 2 } });
    try {
      const dropped = async () => (await lab.stats()).find((s) => s.from === 'A')?.lost ?? 0;
      for (const method of ['udp', 'icmp'] as const) {
        const before = await dropped();
        const r = await wanwatchProbe(lab, 'A', 'B', {
          method,
          count: 1000,
          interval_ms: 2,
          port: responder.port,
        });
        const lost = (r.rtt?.sent ?? 0) - (r.rtt?.received ?? 0);
        expect(r.rtt?.sent, method).toBe(1000);
        expect(Math.abs((r.rtt?.loss_percent ?? 100) - 2), method).toBeLessThanOrEqual(1);
        expect(lost, method).toBe((await dropped()) - before);
      }
      // A TCP probe whose SYN the link lost is lost, not answered 1 s later by the kernel's retransmitted SYN.
      const tcp = await wanwatchProbe(lab, 'A', 'B', {
        method: 'tcp',
        count: 1000,
        interval_ms: 2,
        port: responder.port,
      });
      expect(Math.abs((tcp.rtt?.loss_percent ?? 100) - 2)).toBeLessThanOrEqual(1);
      expect(tcp.rtt?.rtt_max_ms).toBeLessThan(1000);
      // The system ping on the same link sees the same share.
      const p = await measurePing(lab, 'A', 'B', { count: 1000, interval_ms: 2 });
      expect(Math.abs(p.loss_percent - 2)).toBeLessThanOrEqual(1);
    } finally {
      await lab.set({ between: ['A', 'B'], loss_percent: 0 });
    }
  }, 30_000);

  it('goodput of wanwatch throughput is within 5 % of the iperf3 command line’s', async () => {
    const opts = { port: responder.iperf3_port, seconds: 3, omit_s: 1 };
    const ww = await wanwatchThroughput(lab, 'A', 'B', opts);
    expect(ww.error).toBeNull();
    const reference = await iperf3Goodput(lab, 'A', 'B', opts);
    const got = ww.throughput?.goodput_bps ?? 0;
    expect(Math.abs(got - reference) / reference).toBeLessThanOrEqual(0.05);
    // Both are below what a 5 Mbps link can carry as TCP payload, give or take a little.
    expect(got).toBeLessThanOrEqual(5e6 * (1448 / 1500) * 1.05);
  }, 30_000);
});
