// What a user would pick instead of wanwatch to be paged about a slow link: Debian's prometheus,
// prometheus-blackbox-exporter and prometheus-alertmanager, with their common settings: a 15 s scrape
// and rule evaluation, the blackbox exporter's ICMP module, an alert on the ping's round trip with
// `for: 1m`, and Alertmanager's default grouping (group_wait 30s, group_interval 5m). All three run in a
// lab site's namespace on its loopback, so the exporter pings the peer over the emulated link; Alertmanager
// posts its webhooks to `webhookUrl` (a server in the root namespace, reached over the management link).
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ResultPromise } from 'execa';
import type { Lab } from '../lab/lab.ts';

export interface PrometheusStack {
  /** The command lines, for the bench's header. */
  describe: string;
  stop(): Promise<void>;
}

const BLACKBOX_PORT = 9115;
const PROMETHEUS_PORT = 9090;
const ALERTMANAGER_PORT = 9093;

/**
 * Starts the stack in `site`'s namespace, probing `target` (an address) and alerting `alertname` when
 * its ICMP round trip exceeds `maxRttMs`.
 */
export async function startPrometheusStack(
  lab: Lab,
  site: string,
  opts: { dir: string; target: string; maxRttMs: number; alertname: string; webhookUrl: string },
): Promise<PrometheusStack> {
  const { dir } = opts;
  mkdirSync(join(dir, 'prometheus-data'), { recursive: true });
  mkdirSync(join(dir, 'alertmanager-data'), { recursive: true });
  writeFileSync(
    join(dir, 'blackbox.yml'),
    `modules:
  icmp:
    prober: icmp
    timeout: 5s
    icmp:
      preferred_ip_protocol: ip4
`,
  );
  writeFileSync(
    join(dir, 'rules.yml'),
    `groups:
  - name: wan
    rules:
      - alert: ${opts.alertname}
        expr: probe_icmp_duration_seconds{phase="rtt"} > ${opts.maxRttMs / 1000}
        for: 1m
        labels: {severity: warning}
        annotations: {summary: "round trip to {{ $labels.instance }} above ${opts.maxRttMs} ms"}
`,
  );
  writeFileSync(
    join(dir, 'prometheus.yml'),
    `global:
  scrape_interval: 15s
  evaluation_interval: 15s
rule_files: [${join(dir, 'rules.yml')}]
alerting:
  alertmanagers:
    - static_configs: [{targets: ['127.0.0.1:${ALERTMANAGER_PORT}']}]
scrape_configs:
  - job_name: blackbox
    metrics_path: /probe
    params: {module: [icmp]}
    static_configs: [{targets: ['${opts.target}']}]
    relabel_configs:
      - {source_labels: [__address__], target_label: __param_target}
      - {source_labels: [__param_target], target_label: instance}
      - {target_label: __address__, replacement: '127.0.0.1:${BLACKBOX_PORT}'}
`,
  );
  // Alertmanager's defaults for grouping, spelled out: group_wait 30s, group_interval 5m.
  writeFileSync(
    join(dir, 'alertmanager.yml'),
    `route:
  receiver: hook
  group_by: [alertname]
receivers:
  - name: hook
    webhook_configs:
      - url: '${opts.webhookUrl}'
        send_resolved: true
`,
  );
  const quiet = { reject: false, stdio: 'ignore' } as const;
  const procs: ResultPromise[] = [
    lab.spawn(
      site,
      '/usr/bin/prometheus-blackbox-exporter',
      [`--config.file=${join(dir, 'blackbox.yml')}`, `--web.listen-address=127.0.0.1:${BLACKBOX_PORT}`],
      quiet,
    ),
    lab.spawn(
      site,
      '/usr/bin/prometheus-alertmanager',
      [
        `--config.file=${join(dir, 'alertmanager.yml')}`,
        `--storage.path=${join(dir, 'alertmanager-data')}`,
        `--web.listen-address=127.0.0.1:${ALERTMANAGER_PORT}`,
        '--cluster.listen-address=',
      ],
      quiet,
    ),
    lab.spawn(
      site,
      '/usr/bin/prometheus',
      [
        `--config.file=${join(dir, 'prometheus.yml')}`,
        `--storage.tsdb.path=${join(dir, 'prometheus-data')}`,
        `--web.listen-address=127.0.0.1:${PROMETHEUS_PORT}`,
      ],
      quiet,
    ),
  ];
  // Ready when Prometheus answers its readiness endpoint from inside the namespace.
  const deadline = Date.now() + 60_000;
  for (;;) {
    const r = await lab.exec(
      site,
      'curl',
      ['-sf', `http://127.0.0.1:${PROMETHEUS_PORT}/-/ready`, `http://127.0.0.1:${ALERTMANAGER_PORT}/-/ready`],
      { reject: false },
    );
    if (r.exitCode === 0) break;
    if (Date.now() > deadline) {
      for (const p of procs) p.kill('SIGTERM');
      throw new Error('Prometheus or Alertmanager was not ready within 60 s');
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  return {
    describe:
      `prometheus ${PROMETHEUS_PORT} (scrape and evaluation 15s, rule probe_icmp_duration_seconds{phase="rtt"} > ` +
      `${opts.maxRttMs / 1000} for 1m) + blackbox_exporter (icmp module) + alertmanager (group_wait 30s, group_interval 5m), in site ${site}'s namespace`,
    stop: async () => {
      for (const p of procs) p.kill('SIGTERM');
      await Promise.allSettled(procs);
    },
  };
}
