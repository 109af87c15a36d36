// `wanwatch agent --metrics-listen`: a real agent process against a real collector, measuring a peer
// agent (another process), serves its own /metrics: measurements by method, and failures by code once
// the peer is stopped; probes sent and lost, push latency, the plan it runs, its spool and the process,
// in a form `promtool check metrics` finds no fault with. A bad address stops it at once (exit 2).
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CliAgent, startCliAgent, twoLoopbackAgentSites } from '../../../testbed/agents.ts';
import { eventually, startTestCollector, type TestCollector, tempDir } from '../../../testbed/collector.ts';
import { freePort } from '../../../testbed/ports.ts';
import { startPrometheus } from '../../../testbed/prometheus.ts';
import { CREDENTIAL_ENV, TOKEN_A, TOKEN_B, TOKEN_ENV } from '../../../testbed/topologies.ts';
import { wanwatch } from '../../support/cli.ts';

let collector: TestCollector;
let agent: CliAgent;
let peer: CliAgent;
let metricsUrl: string;

beforeAll(async () => {
  const sites = await twoLoopbackAgentSites();
  collector = await startTestCollector(
    `${sites}probes:
  rtt: {method: udp, interval: 300ms, count: 3, spacing: 10ms, timeout: 200ms}
  throughput: {enabled: false}
  heartbeat: {interval: 500ms, timeout: 2s}
`,
    { env: { ...TOKEN_ENV, ...CREDENTIAL_ENV } },
  );
  const port = await freePort();
  metricsUrl = `http://127.0.0.1:${port}/metrics`;
  peer = startCliAgent({
    site: 'b',
    token: TOKEN_B,
    collector: collector.url,
    dataDir: `${tempDir('agent-metrics')}/b`,
  });
  agent = startCliAgent({
    site: 'a',
    token: TOKEN_A,
    collector: collector.url,
    dataDir: `${tempDir('agent-metrics')}/a`,
    env: { WANWATCH_METRICS_LISTEN: `127.0.0.1:${port}`, WANWATCH_BATCH_MAX_DELAY: '200' },
  });
}, 60_000);

afterAll(async () => {
  await agent?.kill('SIGTERM');
  await peer?.kill('SIGTERM');
  await collector?.dispose();
});

const value = (text: string, series: string): number | undefined => {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
};

describe('wanwatch agent --metrics-listen', () => {
  it('serves what it measured, what failed and how pushing went, in a form promtool accepts', async () => {
    const text = await eventually(
      async () => {
        const res = await fetch(metricsUrl).catch(() => undefined);
        const t = res?.ok ? await res.text() : undefined;
        return t &&
          (value(t, 'wanwatch_agent_push_duration_seconds_count{outcome="ok"}') ?? 0) > 0 &&
          (value(t, 'wanwatch_agent_probes_sent_total{method="udp"}') ?? 0) > 0
          ? t
          : undefined;
      },
      20_000,
      `a pushed batch in ${metricsUrl} (agent log: ${agent.stderr.slice(-500)})`,
    );
    const measured = value(text, 'wanwatch_agent_measurements_total{method="udp"}') ?? 0;
    expect(measured).toBeGreaterThan(0);
    expect(value(text, 'wanwatch_agent_probes_sent_total{method="udp"}')).toBeGreaterThan(0);
    expect(value(text, 'wanwatch_agent_probes_lost_total{method="udp"}')).toBeDefined();
    expect(text).toMatch(/^wanwatch_agent_build_info\{site="a",version="[^"]+"\} 1$/m);
    expect(text).toMatch(/^wanwatch_agent_spool_queued_results \d+$/m);
    expect(text).toMatch(/^process_cpu_seconds_total /m);
    // The plan it runs is the collector's plan for a.
    const plan = (await await fetch(`${collector.url}/api/v1/plan?site=a`, {
      headers: { authorization: `Bearer ${TOKEN_A}` },
    }).then((r) => r.json())) as { plan_version: string };
    expect(text).toContain(`wanwatch_agent_plan_info{plan_version="${plan.plan_version}"} 1`);

    const check = await execa('promtool', ['check', 'metrics'], { input: text, reject: false });
    expect(check.stdout + check.stderr).toBe('');
    expect(check.exitCode).toBe(0);
  });

  it('counts failed rounds by code once the peer stops', async () => {
    const failedLines = async () =>
      (await (await fetch(metricsUrl)).text())
        .split('\n')
        .filter((l) => l.startsWith('wanwatch_agent_measurements_failed_total{method="udp",code='));
    const total = (lines: string[]) => lines.reduce((n, l) => n + Number(l.split(' ').at(-1)), 0);
    // Rounds sent while the peer was starting may have failed already: count from now.
    const before = total(await failedLines());
    await peer.kill('SIGTERM');
    const failed = await eventually(
      async () => {
        const lines = await failedLines();
        return total(lines) >= before + 2 ? lines : undefined;
      },
      15_000,
      'failed udp rounds in the agent metrics',
    );
    // A stopped reflector refuses (port unreachable) or, once it is gone, does not answer.
    for (const l of failed) expect(l).toMatch(/code="(refused|timeout)"\} [1-9]\d*$/);
  });

  it('is scraped by a real Prometheus, which takes the OpenMetrics it asks for', async () => {
    const prometheus = await startPrometheus([{ job: 'wanwatch-agent', target: new URL(metricsUrl).host }]);
    try {
      const sent = await eventually(
        async () => {
          const s = await prometheus.query('wanwatch_agent_measurements_total{method="udp"}');
          return s.length > 0 ? s : undefined;
        },
        15_000,
        'the agent scraped by Prometheus',
      );
      expect(sent[0]?.value).toBeGreaterThan(0);
      const [target] = await prometheus.targets();
      expect(target).toMatchObject({ job: 'wanwatch-agent', health: 'up', lastError: '' });
      const push = await prometheus.query('sum(wanwatch_agent_push_duration_seconds_count)');
      expect(push[0]?.value).toBeGreaterThan(0);
    } finally {
      await prometheus.close();
    }
  });

  it('answers OpenMetrics when asked, and nothing but /metrics', async () => {
    const om = await fetch(metricsUrl, {
      headers: { accept: 'application/openmetrics-text; version=1.0.0' },
    });
    expect(om.headers.get('content-type')).toMatch(/^application\/openmetrics-text/);
    const text = await om.text();
    expect(text).toMatch(/^# TYPE wanwatch_agent_measurements counter$/m);
    expect(text).toMatch(/\n# EOF\n$/);
    expect((await fetch(metricsUrl.replace('/metrics', '/'))).status).toBe(404);
    // After OpenMetrics, the text format still names counters with _total.
    expect(await (await fetch(metricsUrl)).text()).toMatch(/^wanwatch_agent_measurements_total\{/m);
  });

  it('exits 2 naming --metrics-listen when the address is malformed or taken', async () => {
    const port = new URL(metricsUrl).port;
    for (const [listen, says] of [
      ['localhost', 'is not HOST:PORT'],
      [`127.0.0.1:${port}`, 'EADDRINUSE'],
    ] as const) {
      const r = await wanwatch(
        [
          'agent',
          '--site',
          'a',
          '--collector',
          collector.url,
          '--data-dir',
          `${tempDir('agent-metrics-bad')}/a`,
          '--metrics-listen',
          listen,
        ],
        { env: { WANWATCH_TOKEN: TOKEN_A }, timeout: 20_000 },
      );
      expect(r.exitCode, r.stderr).toBe(2);
      expect(r.stderr).toContain('--metrics-listen');
      expect(r.stderr).toContain(says);
    }
  });
});
