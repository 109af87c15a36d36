import { hostname } from 'node:os';
import type { Command } from 'commander';
import { closeIcmpSessions } from '../../probes/icmp.ts';
import { RTT_PROBES } from '../../probes/index.ts';
import { DEFAULT_REFLECTOR_PORT } from '../../shared/ports.ts';

import type { ProbeMethod, RttResult } from '../../shared/result.ts';
import { EXIT } from '../errors.ts';
import { choiceOption, intOption, msOption, portOption } from '../options.ts';

const METHODS = ['icmp', 'tcp', 'udp'] as const;

export function registerProbe(program: Command): void {
  program
    .command('probe')
    .summary('one round of RTT probes to a host: loss, RTT statistics, jitter')
    .description(
      [
        'Sends --count probes to HOST, one every --interval ms without waiting for replies, and prints',
        'sent/received, loss, RTT min/median/p95/max/mean/stddev and jitter. Methods: icmp (echo; needs',
        'root or CAP_NET_RAW), tcp (connect time), udp (echo against `wanwatch reflector`, which also takes',
        'TCP connections on its port). Exit code 1 when no probe was answered.',
      ].join(' '),
    )
    .argument('<host>', 'IP address or host name to probe')
    .option(
      '-m, --method <method>',
      'icmp, tcp or udp',
      choiceOption('--method', METHODS),
      'icmp' as ProbeMethod,
    )
    .option('-n, --count <n>', 'probes in the round (1–100000)', intOption('--count', 1, 100_000), 5)
    .option('-i, --interval <ms>', 'gap between probe starts, ms (or 200ms, 1s)', msOption('--interval'), 200)
    .option(
      '-p, --port <port>',
      `tcp/udp port (default ${DEFAULT_REFLECTOR_PORT}, the reflector's)`,
      portOption('--port'),
    )
    .option(
      '-t, --timeout <ms>',
      'how long to wait for each reply, ms (or 2s); tcp waits at most 1 s (the kernel resends a lost SYN then)',
      msOption('--timeout', 1),
      2000,
    )
    .option('--json', 'print the Result as JSON (rtt.rtt_median_ms, rtt.loss_percent, …)', false)
    .action(
      async (
        host: string,
        opts: {
          method: ProbeMethod;
          count: number;
          interval: number;
          port?: number;
          timeout: number;
          json: boolean;
        },
      ) => {
        const ac = new AbortController();
        const stop = () => ac.abort();
        process.once('SIGINT', stop);
        const result = await RTT_PROBES[opts.method](
          {
            src: hostname(),
            dst: host,
            host,
            ...(opts.method !== 'icmp' ? { port: opts.port ?? DEFAULT_REFLECTOR_PORT } : {}),
          },
          { count: opts.count, spacing_ms: opts.interval, timeout_ms: opts.timeout, signal: ac.signal },
        );
        process.off('SIGINT', stop);
        closeIcmpSessions();
        process.stdout.write(opts.json ? `${JSON.stringify(result)}\n` : renderRtt(result));
        process.exitCode = result.error ? EXIT.failed : EXIT.ok;
      },
    );
}

const f = (n: number | null) => (n === null ? '-' : String(n));

export function renderRtt(r: RttResult): string {
  const out = [`${r.method} to ${r.target}`];
  const s = r.rtt;
  if (s) {
    out[0] += `: ${s.sent} sent, ${s.received} received, ${s.loss_percent} % loss`;
    if (s.received > 0) {
      out.push(
        `  rtt min/median/p95/max ${f(s.rtt_min_ms)}/${f(s.rtt_median_ms)}/${f(s.rtt_p95_ms)}/${f(s.rtt_max_ms)} ms, ` +
          `mean ${f(s.rtt_mean_ms)} ms, stddev ${f(s.rtt_stddev_ms)} ms`,
      );
      let jitter = `  jitter ${f(s.jitter_ms)} ms (${s.jitter_method})`;
      if (s.reordered !== undefined) jitter += `, ${s.reordered} reordered, ${s.duplicates ?? 0} duplicates`;
      out.push(jitter);
    }
  }
  if (r.error) out.push(`  error (${r.error.code}): ${r.error.message}`);
  return `${out.join('\n')}\n`;
}
