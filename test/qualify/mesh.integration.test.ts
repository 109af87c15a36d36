// `wanwatch qualify -c FILE --collector URL`: the collector has its agents (real probes, real iperf3, on
// 127.0.0.1–3) measure every link of the topology, one test per site at a time, and the command judges
// each link against the requirement `wanwatch plan` derives. During monitoring, the collector holds the
// monitoring plan's throughput tests at the sites under qualification, so no two tests share a site.
import { createServer, type Server } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { judgeMesh, qualifyMesh } from '../../qualify/mesh.ts';
import { buildReport, type QualifyReport } from '../../qualify/report/model.ts';
import { renderTerminal } from '../../qualify/report/text.ts';
import { parseTopology } from '../../shared/config/load.ts';
import type { ThroughputResult } from '../../shared/result.ts';
import { type Qualification, qualificationSchema } from '../../shared/wire.ts';
import { type Fleet, freeSitePorts, startFleet } from '../../testbed/agents.ts';
import { eventually, startTestCollector, type TestCollector } from '../../testbed/collector.ts';
import { freePort } from '../../testbed/ports.ts';
import { CREDENTIAL_ENV, OPERATOR_TOKEN, testAccess } from '../../testbed/topologies.ts';
import { wanwatch } from '../support/cli.ts';

const TOKENS = { WW_TOKEN_A: 'mesh-token-a', WW_TOKEN_B: 'mesh-token-b', WW_TOKEN_C: 'mesh-token-c' };
/** Starting a qualification takes an operator's credential (testAccess's, from CREDENTIAL_ENV). */
const AS_OPERATOR = { WANWATCH_CREDENTIAL: OPERATOR_TOKEN };

/** Sites A, B and C on 127.0.0.1–3 with free responder ports, one cluster, and these `probes:` lines. */
async function meshTopology(probes: string): Promise<string> {
  const ports = await Promise.all(['127.0.0.1', '127.0.0.2', '127.0.0.3'].map((a) => freeSitePorts(a)));
  const site = (name: string, i: number) =>
    `  ${name}: {address: 127.0.0.${i + 1}, token_env: WW_TOKEN_${name}, reflector_port: ${ports[i]?.reflector_port}, iperf3_port: ${ports[i]?.iperf3_port}}`;
  return `sites:
${site('A', 0)}
${site('B', 1)}
${site('C', 2)}
clusters:
  one: {subclusters: {sc1: {nodes: {a1: A, b1: B}}, sc2: {nodes: {c1: C, c2: C}}}}
probes:
${probes}${testAccess()}`;
}

/** The agents of A, B and C, real probes and iperf3, pushing to the collector. */
const startMeshFleet = (c: TestCollector) =>
  startFleet(
    ['A', 'B', 'C'].map((s) => ({ site: s, token: TOKENS[`WW_TOKEN_${s}` as keyof typeof TOKENS] })),
    { collector: c.url, dir: c.dir },
  );

describe('wanwatch qualify, mesh mode, through a collector and its agents', () => {
  let collector: TestCollector;
  let fleet: Fleet;
  // probes.rtt.tcp_port: a plain TCP listener on every site's address that counts the connects it gets.
  let tcpPort: number;
  const tcpListeners: Server[] = [];
  const connects = new Map<string, number>();

  beforeAll(async () => {
    tcpPort = await freePort('127.0.0.2');
    for (const address of ['127.0.0.1', '127.0.0.2', '127.0.0.3']) {
      const srv = createServer((sock) => {
        connects.set(address, (connects.get(address) ?? 0) + 1);
        sock.destroy();
      });
      await new Promise<void>((resolve, reject) => {
        srv.once('error', reject);
        srv.listen(tcpPort, address, resolve);
      });
      tcpListeners.push(srv);
    }
    collector = await startTestCollector(
      await meshTopology(`  rtt: {method: udp, interval: 5s, count: 3, tcp_port: ${tcpPort}}
  throughput: {enabled: false}
`),
      { env: { ...TOKENS, ...CREDENTIAL_ENV } },
    );
    fleet = await startMeshFleet(collector);
  }, 60_000);

  afterAll(async () => {
    await fleet?.stop();
    await collector?.dispose();
    for (const srv of tcpListeners) srv.close();
  });

  it('qualifies every link of the topology against its derived requirement (exit 0)', async () => {
    const r = await wanwatch(
      [
        'qualify',
        '-c',
        collector.configPath,
        '--collector',
        collector.url,
        '--duration',
        '4s',
        '--test-duration',
        '1s',
        '--json',
      ],
      { env: { ...TOKENS, ...AS_OPERATOR }, timeout: 120_000 },
    );
    const report = JSON.parse(r.stdout) as QualifyReport;
    expect(
      r.exitCode,
      JSON.stringify(report.links.map((l) => l.checks.filter((c) => c.verdict !== 'PASS'))),
    ).toBe(0);
    expect(report.mode).toBe('mesh');
    expect(report.verdict).toBe('PASS');
    expect(
      report.links.map((l) => [l.link.from, l.link.to, l.link.required_mbps, l.link.subclusters]),
    ).toEqual([
      ['A', 'B', 5, ['sc1']],
      ['A', 'C', 10, ['sc1', 'sc2']],
      ['B', 'C', 10, ['sc1', 'sc2']],
    ]);
    for (const l of report.links) {
      expect(l.rtt_idle.received, `${l.link.from}-${l.link.to}`).toBeGreaterThan(0);
      expect(l.throughput.map((t) => t.error)).toEqual([null, null, null, null]);
      expect(l.checks.find((c) => c.name.startsWith('tcp '))?.reason).toMatch(
        /required \(\d subclusters?: sc1/,
      );
    }
  });

  it('runs only the listed links, and refuses a link the topology does not have (exit 2)', async () => {
    const one = await wanwatch(
      [
        'qualify',
        '-c',
        collector.configPath,
        '--collector',
        collector.url,
        '--links',
        'C-B',
        '--duration',
        '3s',
        '--no-throughput',
        '--json',
      ],
      { env: AS_OPERATOR, timeout: 60_000 },
    );
    expect(one.exitCode, one.stderr).toBe(0);
    expect((JSON.parse(one.stdout) as QualifyReport).links.map((l) => [l.link.from, l.link.to])).toEqual([
      ['B', 'C'],
    ]);

    const bad = await wanwatch(
      ['qualify', '-c', collector.configPath, '--collector', collector.url, '--links', 'A-Z'],
      { env: AS_OPERATOR },
    );
    expect(bad.exitCode).toBe(2);
    expect(bad.stderr).toContain('not a link of the topology: A-Z');
  });

  it('aims TCP probes at probes.rtt.tcp_port, as monitoring does, not at the reflector', async () => {
    const before = connects.get('127.0.0.2') ?? 0;
    const r = await wanwatch(
      [
        'qualify',
        '-c',
        collector.configPath,
        '--collector',
        collector.url,
        '--links',
        'A-B',
        '--method',
        'tcp',
        '--count',
        '3',
        '--duration',
        '3s',
        '--no-throughput',
        '--json',
      ],
      { env: AS_OPERATOR, timeout: 60_000 },
    );
    expect(r.exitCode, r.stderr).toBe(0);
    const [link] = (JSON.parse(r.stdout) as QualifyReport).links;
    expect(link?.rtt_idle.received).toBeGreaterThan(0);
    // A at 127.0.0.1 measures towards B at 127.0.0.2: every probe it received connected to tcp_port.
    expect((connects.get('127.0.0.2') ?? 0) - before).toBeGreaterThanOrEqual(link?.rtt_idle.received ?? 1);
  });

  it('says clearly when the collector cannot be reached (exit 2)', async () => {
    const r = await wanwatch(
      ['qualify', '-c', collector.configPath, '--collector', 'http://127.0.0.1:9', '--duration', '3s'],
      { env: AS_OPERATOR },
    );
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain('cannot reach the collector at http://127.0.0.1:9');
  });
});

describe('a mesh qualification while monitoring runs throughput tests on the same sites', () => {
  let collector: TestCollector;
  let fleet: Fleet;
  let yaml: string;

  beforeAll(async () => {
    // A short monitoring cycle: three rounds of one 1 s test each way (-R) and the 5 s margin, 21 s.
    yaml = await meshTopology(`  rtt: {method: udp, interval: 5s, count: 3}
  throughput: {enabled: true, interval: 1s, duration: 1s, omit: 0s, reverse: true, protocol: tcp}
`);
    collector = await startTestCollector(yaml, {
      env: { ...TOKENS, ...CREDENTIAL_ENV },
      planRefreshMs: 1000,
    });
    fleet = await startMeshFleet(collector);
  }, 60_000);

  afterAll(async () => {
    await fleet?.stop();
    await collector?.dispose();
  });

  const monitoringTests = () =>
    collector.store
      .resultsAfter(0, 1_000_000)
      .map((r) => r.value)
      .filter((r): r is ThroughputResult => r.kind === 'throughput' && r.error === null);

  it('holds the monitoring tests at the qualified sites: no test overlaps another on any site, and the report says so', async () => {
    // Monitoring runs its throughput tests before the qualification.
    await eventually(() => (monitoringTests().length >= 2 ? true : undefined), 40_000, 'monitoring tests');

    let last: Qualification | undefined;
    const recording: typeof fetch = async (input, init) => {
      const res = await fetch(input, init);
      if (String(input).includes('/qualifications')) {
        const parsed = qualificationSchema.safeParse(await res.clone().json());
        if (parsed.success) last = parsed.data;
      }
      return res;
    };
    const started = Date.now();
    const links = await qualifyMesh({
      collector: collector.url,
      topology: parseTopology(yaml),
      links: null,
      method: 'udp',
      count: 5,
      spacing_ms: 20,
      duration_ms: 4000,
      test_duration_ms: 1000,
      skip_throughput: false,
      signal: new AbortController().signal,
      pollMs: 200,
      fetch: recording,
      token: OPERATOR_TOKEN,
    });
    const q = last as Qualification;
    expect(q.state).toBe('done');
    expect(q.monitoring_paused).toEqual(['A', 'B', 'C']);

    // Monitoring resumes afterwards: a test starts after the qualification ended.
    const ended = Date.now();
    await eventually(
      () => (monitoringTests().some((r) => r.time_ms > ended) ? true : undefined),
      40_000,
      'monitoring tests after the qualification',
    );

    // Every test as [sites, start, end]: the monitoring plan's (stored results) and each task's run
    // (its RTT rounds and its four throughput tests).
    type Busy = { what: string; sites: string[]; from: number; to: number };
    const busy: Busy[] = monitoringTests().map((r) => ({
      what: `monitoring ${r.src}→${r.dst} ${r.throughput?.direction}`,
      sites: [r.src, r.dst],
      from: r.time_ms,
      to: r.time_ms + r.duration_ms,
    }));
    for (const t of q.tasks) {
      const m = t.measurements;
      const parts = [...(m?.rounds.map((r) => r.result) ?? []), ...(m?.tcp ?? []), ...(m?.udp ?? [])];
      expect(parts.length, `${t.site}-${t.peer} measured`).toBeGreaterThan(0);
      busy.push({
        what: `qualification ${t.site}-${t.peer}`,
        sites: [t.site, t.peer],
        from: Math.min(...parts.map((r) => r.time_ms)),
        to: Math.max(...parts.map((r) => r.time_ms + r.duration_ms)),
      });
    }
    expect(busy.filter((b) => b.what.startsWith('monitoring') && b.from > started).length).toBeGreaterThan(0);
    // Starts are whole milliseconds, durations fractional: one test may end a fraction past the next's start.
    const overlaps: string[] = [];
    for (const [i, x] of busy.entries())
      for (const y of busy.slice(i + 1))
        if (x.sites.some((s) => y.sites.includes(s)) && x.from < y.to - 1 && y.from < x.to - 1)
          overlaps.push(`${x.what} [${x.from}, ${x.to}] / ${y.what} [${y.from}, ${y.to}]`);
    expect(overlaps).toEqual([]);

    // Judged as the command does, the report says the monitoring tests were paused.
    const report = buildReport({
      version: 'test',
      mode: 'mesh',
      started_at_ms: started,
      finished_at_ms: ended,
      duration_ms: 4000,
      links,
    });
    expect(report.notes).toEqual(['monitoring throughput tests at A, B, C were paused during this run']);
    expect(renderTerminal(report)).toContain(
      'Note: monitoring throughput tests at A, B, C were paused during this run.',
    );
    expect(judgeMesh(q, parseTopology(yaml)).map((l) => l.verdict)).toEqual(
      report.links.map((l) => l.verdict),
    );
    expect(report.links.map((l) => [l.link.from, l.link.to, l.verdict])).toEqual([
      ['A', 'B', 'PASS'],
      ['A', 'C', 'PASS'],
      ['B', 'C', 'PASS'],
    ]);
  }, 180_000);
});
