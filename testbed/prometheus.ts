// Runs Debian's Prometheus (2.42) privately on loopback for tests and benchmarks: its own temp folder
// for the config and the TSDB, a free port, scraping every second and evaluating rules every second, so
// a test sees a change within seconds. `query` runs PromQL through the HTTP API (an instant query).
import { createWriteStream, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa, type ResultPromise } from 'execa';
import { freePort, waitFor } from './ports.ts';

export interface ScrapeTarget {
  job: string;
  /** host:port */
  target: string;
  /** Sent as `Authorization: Bearer …` (a viewer credential for the collector). */
  bearer?: string;
}

export interface PromSample {
  metric: Record<string, string>;
  /** The sample's value (Prometheus sends numbers as strings; NaN and ±Inf included). */
  value: number;
}

export interface Prometheus {
  url: string;
  dir: string;
  /** An instant PromQL query at now; throws on an HTTP or query error. Vectors and scalars. */
  query(promql: string): Promise<PromSample[]>;
  /** A range query (what a graph panel runs): each series' points, oldest first. */
  queryRange(
    promql: string,
    startS: number,
    endS: number,
    stepS: number,
  ): Promise<{ metric: Record<string, string>; values: number[] }[]>;
  /** The values of `label` among the series `match` selects (Grafana's label_values()). */
  labelValues(label: string, match: string): Promise<string[]>;
  /** The scrape targets' health as Prometheus sees it. */
  targets(): Promise<{ job: string; health: string; lastError: string }[]>;
  close(): Promise<void>;
}

/** The prometheus.yml the testbed writes: `targets` every second, `ruleFiles` evaluated every second. */
export function prometheusConfig(targets: ScrapeTarget[], ruleFiles: string[] = []): string {
  const jobs = targets.map(
    (t) => `  - job_name: ${JSON.stringify(t.job)}
    static_configs: [{targets: [${JSON.stringify(t.target)}]}]${
      t.bearer ? `\n    authorization: {credentials: ${JSON.stringify(t.bearer)}}` : ''
    }`,
  );
  return `global: {scrape_interval: 1s, scrape_timeout: 1s, evaluation_interval: 1s}
rule_files: ${JSON.stringify(ruleFiles)}
scrape_configs:
${jobs.join('\n')}
`;
}

export async function startPrometheus(
  targets: ScrapeTarget[],
  ruleFiles: string[] = [],
): Promise<Prometheus> {
  const dir = mkdtempSync(join(tmpdir(), 'wanwatch-prometheus-'));
  const port = await freePort();
  const configFile = join(dir, 'prometheus.yml');
  writeFileSync(configFile, prometheusConfig(targets, ruleFiles));
  const url = `http://127.0.0.1:${port}`;
  const logFile = join(dir, 'prometheus.log');
  const logStream = createWriteStream(logFile, { flags: 'a' });
  const child: ResultPromise = execa(
    'prometheus',
    [
      `--config.file=${configFile}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--log.level=warn',
    ],
    { reject: false, stdin: 'ignore', buffer: false },
  );
  child.stdout?.pipe(logStream);
  child.stderr?.pipe(logStream);
  const stop = async () => {
    if (child.exitCode !== null) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await child;
    clearTimeout(timer);
  };
  try {
    await waitFor(`prometheus on ${url}/-/ready`, async () => {
      if (child.exitCode !== null) throw new Error('prometheus exited');
      return (await fetch(`${url}/-/ready`)).status === 200;
    });
  } catch (err) {
    await stop();
    const tail = readFileSync(logFile, 'utf8').split('\n').slice(-20).join('\n');
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`prometheus did not start (${String(err)}); its log ends:\n${tail}`);
  }
  const api = async <T>(path: string): Promise<T> => {
    const res = await fetch(`${url}${path}`);
    const text = await res.text();
    const body = JSON.parse(text) as { status: string; data: T; error?: string };
    if (!res.ok || body.status !== 'success')
      throw new Error(`prometheus ${path} → HTTP ${res.status}: ${text}`);
    return body.data;
  };
  return {
    url,
    dir,
    query: async (promql) => {
      const data = await api<{
        resultType: string;
        result: { metric: Record<string, string>; value: [number, string] }[] | [number, string];
      }>(`/api/v1/query?${new URLSearchParams({ query: promql })}`);
      if (data.resultType === 'scalar') {
        const [, v] = data.result as [number, string];
        return [{ metric: {}, value: Number(v) }];
      }
      return (data.result as { metric: Record<string, string>; value: [number, string] }[]).map((s) => ({
        metric: s.metric,
        value: Number(s.value[1]),
      }));
    },
    queryRange: async (promql, startS, endS, stepS) => {
      const data = await api<{ result: { metric: Record<string, string>; values: [number, string][] }[] }>(
        `/api/v1/query_range?${new URLSearchParams({ query: promql, start: String(startS), end: String(endS), step: String(stepS) })}`,
      );
      return data.result.map((s) => ({ metric: s.metric, values: s.values.map(([, v]) => Number(v)) }));
    },
    labelValues: (label, match) =>
      api<string[]>(
        `/api/v1/label/${encodeURIComponent(label)}/values?${new URLSearchParams({ 'match[]': match })}`,
      ),
    targets: async () => {
      const data = await api<{
        activeTargets: { labels: Record<string, string>; health: string; lastError: string }[];
      }>('/api/v1/targets');
      return data.activeTargets.map((t) => ({
        job: t.labels.job ?? '',
        health: t.health,
        lastError: t.lastError,
      }));
    },
    close: async () => {
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
