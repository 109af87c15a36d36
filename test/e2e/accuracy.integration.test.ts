// wanwatch's measurements next to the system tools on one representative emulated link (40 ms one
// way, 5 Mbps): the quick form of bench/accuracy.ts. The probes run inside the lab's site A as
// `wanwatch probe` / `wanwatch throughput`, against `wanwatch reflector` in site B.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { measurePing } from '../../lab/check.ts';
import {
  iperf3Goodput,
  median,
  pingSamples,
  type SiteResponder,
  startSiteResponder,
  wanwatchProbe,
  wanwatchThroughput,
} from '../../lab/compare.ts';
import { type Lab, startLab } from '../../lab/lab.ts';
import { describeLab } from '../support/lab.ts';

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

  // The target is 0.5 ms (bench/accuracy.ts reports every link against it). UDP echo gets 0.75 ms
  // here: wanwatch timestamps in user space, and a UDP echo round trip wakes two processes (the prober
  // and the peer's reflector), 0.1–0.25 ms each on this busy 2-core machine, so its median sits 0.2 to
  // 0.5 ms above ping's and met the 0.5 ms target too narrowly for a check on every run (0.514 once).
  // Always high, never low: a median below ping's by more than 0.5 ms is a bug too.
  it('icmp median within 0.5 ms of iputils ping’s median, udp echo within −0.5 / +0.75 ms', async () => {
    const ping = await pingSamples(lab, 'A', 'B', { count: 100, interval_ms: 20 });
    const reference = median(ping.filter((x): x is number => x !== null));
    expect(reference).toBeGreaterThan(80);
    for (const [method, above] of [
      ['udp', 0.75],
      ['icmp', 0.5],
    ] as const) {
      const r = await wanwatchProbe(lab, 'A', 'B', {
        method,
        count: 100,
        interval_ms: 20,
        port: responder.port,
      });
      expect(r.error, method).toBeNull();
      const diff = (r.rtt?.rtt_median_ms ?? 0) - reference;
      expect(diff, method).toBeGreaterThanOrEqual(-0.5);
      expect(diff, method).toBeLessThanOrEqual(above);
    }
  }, 30_000);

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
