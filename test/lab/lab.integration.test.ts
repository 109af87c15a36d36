// The emulated WAN lab, measured from inside its sites with the system ping and iperf3.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { measurePing, measureRate } from '../../lab/check.ts';
import { type Lab, startLab } from '../../lab/lab.ts';
import { loadLabFile } from '../../lab/spec.ts';
import { readState } from '../../lab/state.ts';
import { describeLab } from '../support/lab.ts';

const LAB_CLI = new URL('../../bin/lab.js', import.meta.url).pathname;
const uniqueName = () => `t${randomBytes(4).toString('hex')}`;

async function namespaces(prefix: string): Promise<string[]> {
  const r = await execa('ip', ['netns', 'list']);
  return r.stdout
    .split('\n')
    .map((l) => l.split(' ')[0] ?? '')
    .filter((n) => n.startsWith(prefix));
}

describeLab('the emulated WAN lab (three-site example)', () => {
  let lab: Lab;
  beforeAll(async () => {
    lab = await startLab(loadLabFile('lab/examples/three-sites.yaml'), { name: uniqueName() });
  });
  afterAll(async () => {
    await lab?.stop();
  });

  it('delays each link by its configured one-way delay both ways: RTT within 1 ms over 1,000 pings', async () => {
    const [ab, ac] = await Promise.all([measurePing(lab, 'A', 'B'), measurePing(lab, 'A', 'C')]);
    expect(ab.received).toBe(1000);
    expect(Math.abs(ab.rtt_avg_ms - 2 * 10)).toBeLessThanOrEqual(1);
    expect(ab.rtt_min_ms).toBeGreaterThanOrEqual(20);
    expect(ac.received).toBe(1000);
    expect(Math.abs(ac.rtt_avg_ms - 2 * 45)).toBeLessThanOrEqual(1);
  });

  it('limits each rate-limited link to its rate within 5 % (iperf3 TCP, IP bytes)', async () => {
    const ab = await measureRate(lab, 'A', 'B');
    expect(Math.abs(ab.ip_rate_mbps - 20)).toBeLessThanOrEqual(0.05 * 20);
    const cb = await measureRate(lab, 'C', 'B');
    expect(Math.abs(cb.ip_rate_mbps - 8)).toBeLessThanOrEqual(0.05 * 8);
    // Goodput is what wanwatch's throughput probe reports: TCP payload, a little under the link rate.
    expect(cb.goodput_mbps).toBeLessThan(cb.ip_rate_mbps);
  });

  it('loses the configured share of packets in one direction: exactly 3 in every 100 at 3 %', async () => {
    await lab.set({ between: ['C', 'B'], a_to_b: { loss_percent: 3 } });
    const m = await measurePing(lab, 'B', 'C');
    expect(m.sent).toBe(1000);
    expect(Math.abs(m.loss_percent - 3)).toBeLessThanOrEqual(1);
    const stats = await lab.stats();
    const cToB = stats.find((s) => s.from === 'C' && s.to === 'B');
    const bToC = stats.find((s) => s.from === 'B' && s.to === 'C');
    expect(cToB?.lost).toBe(m.sent - m.received);
    // The relay drops exactly 3 of every 100 packets (at random positions), and the only packets C → B
    // since the loss was set are the 1,000 echo replies: exactly 30, not 30 give or take chance.
    expect(cToB?.lost).toBe(30);
    expect(bToC?.lost).toBe(0);
    await lab.set({ between: ['B', 'C'], loss_percent: 0 });
  });

  it('changes a link while the lab runs: a new delay applies to the next packet', async () => {
    await lab.set({ between: ['B', 'A'], delay_ms: 30 });
    expect(lab.params('A', 'B').a_to_b.delay_ms).toBe(30);
    const m = await measurePing(lab, 'A', 'B', { count: 100 });
    expect(Math.abs(m.rtt_avg_ms - 60)).toBeLessThanOrEqual(1);
    await lab.set({ between: ['A', 'B'], delay_ms: 10, b_to_a: { delay_ms: 20 } });
    const asymmetric = await measurePing(lab, 'A', 'B', { count: 100 });
    expect(Math.abs(asymmetric.rtt_avg_ms - 30)).toBeLessThanOrEqual(1);
    await lab.set({ between: ['A', 'B'], delay_ms: 10 });
  });

  it('varies the delay by the jitter, never below delay − jitter', async () => {
    await lab.set({ between: ['A', 'C'], jitter_ms: 5 });
    const m = await measurePing(lab, 'A', 'C', { count: 100, interval_ms: 10 });
    expect(m.rtt_mdev_ms).toBeGreaterThan(1);
    expect(m.rtt_min_ms).toBeGreaterThanOrEqual(80);
    await lab.set({ between: ['A', 'C'], jitter_ms: 0 });
  });

  it('routes site-to-site traffic over the emulated link, not the management path', async () => {
    const r = await lab.exec('A', 'ip', ['route', 'get', lab.siteAddress('B')]);
    expect(r.stdout).toContain('dev to-B');
    expect(r.stdout).toContain(`src ${lab.siteAddress('A')}`);
  });

  it('lets a process in a site reach a server in the root namespace at collectorAddress, unimpaired', async () => {
    const server: Server = createServer((req, res) => res.end(`hello ${req.socket.remoteAddress}`));
    await new Promise<void>((resolve) => server.listen(0, lab.collectorAddress('C'), resolve));
    const port = (server.address() as { port: number }).port;
    try {
      const url = `http://${lab.collectorAddress('C')}:${port}/`;
      const r = await lab.exec('C', process.execPath, [
        '-e',
        `fetch(${JSON.stringify(url)}).then((r) => r.text()).then((t) => console.log(t))`,
      ]);
      // The request comes from C's end of its management link (C is site 3: 198.19.<slot>.10).
      expect(r.stdout).toMatch(/^hello 198\.19\.\d+\.10$/);
    } finally {
      server.close();
    }
    // The root namespace reaches each site's own address directly, without the WAN's 45 ms.
    const ping = await execa('ping', ['-n', '-q', '-c', '3', '-i', '0.2', lab.siteAddress('C')]);
    const avg = Number(/= [\d.]+\/([\d.]+)\//.exec(ping.stdout)?.[1]);
    expect(avg).toBeLessThan(1);
  });
});

describeLab('bringing the lab up and down', () => {
  it('up, set and down from the command line; a crashed run’s leftovers are removed at the next start', async () => {
    const name = uniqueName();
    const dir = mkdtempSync(join(tmpdir(), 'wanwatch-lab-'));
    const file = join(dir, `${name}.yaml`);
    const text = 'sites: [X, Y]\nlinks:\n  - between: [X, Y]\n    delay_ms: 5\n';
    writeFileSync(file, text);
    const up = await execa('node', [LAB_CLI, 'up', file], { reject: false });
    expect(up.exitCode, up.stderr).toBe(0);
    expect(up.stdout).toContain(`lab ${name} is up`);
    expect(await namespaces(`ww-${name}-`)).toEqual(expect.arrayContaining([`ww-${name}-X`, `ww-${name}-Y`]));

    writeFileSync(file, text.replace('delay_ms: 5', 'delay_ms: 15'));
    const set = await execa('node', [LAB_CLI, 'set', file], { reject: false });
    expect(set.exitCode, set.stderr).toBe(0);
    const state = readState(name);
    const y = `198.18.${state?.slot}.2`;
    const ping = await execa('ip', [
      'netns',
      'exec',
      `ww-${name}-X`,
      'ping',
      '-n',
      '-q',
      '-c',
      '5',
      '-i',
      '0.2',
      y,
    ]);
    // The fastest of five: the new delay is there, whatever else the machine is busy with.
    const min = Number(/= ([\d.]+)\//.exec(ping.stdout)?.[1]);
    expect(Math.abs(min - 30)).toBeLessThanOrEqual(1);

    // A crash: the relay dies, the namespaces stay behind.
    process.kill(state?.relay?.pid as number, 'SIGKILL');
    await new Promise((r) => setTimeout(r, 200));
    expect(await namespaces(`ww-${name}-`)).toHaveLength(2);
    const again = await startLab(loadLabFile(file));
    const slot = readState(name)?.slot;
    try {
      expect(again.name).toBe(name);
      const r = await again.exec('X', 'ping', ['-n', '-q', '-c', '2', '-i', '0.2', again.siteAddress('Y')]);
      expect(r.stdout).toContain('2 received');
    } finally {
      const down = await execa('node', [LAB_CLI, 'down', file], { reject: false });
      expect(down.stdout).toContain(`lab ${name} is down`);
    }
    expect(await namespaces(`ww-${name}-`)).toEqual([]);
    expect(readState(name)).toBeUndefined();
    const links = await execa('ip', ['-o', 'link', 'show']);
    expect(links.stdout).not.toMatch(new RegExp(`: ww${slot}m\\d`));
  });

  it('refuses a lab file with problems, exit code 2, naming the path', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wanwatch-lab-'));
    const file = join(dir, 'bad.yaml');
    writeFileSync(file, 'sites: [A]\nlinks: []\n');
    const r = await execa('node', [LAB_CLI, 'up', file], { reject: false });
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain(`${file}:1: sites: a lab needs at least two sites`);
  });
});
