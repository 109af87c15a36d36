import { hostname } from 'node:os';
import { type Command, Option } from 'commander';
import { closeIcmpSessions } from '../../probes/icmp.ts';
import { runThroughput } from '../../probes/throughput.ts';
import { DEFAULT_IPERF3_PORT, DEFAULT_REFLECTOR_PORT } from '../../shared/ports.ts';

import { formatRate } from '../../shared/rate.ts';
import type { ProbeMethod, ThroughputResult } from '../../shared/result.ts';
import { EXIT } from '../errors.ts';
import { choiceOption, intOption, portOption, rateOption, secondsOption } from '../options.ts';

export function registerThroughput(program: Command): void {
  program
    .command('throughput')
    .summary('one iperf3 test to a host: goodput (TCP) or loss and jitter at a rate (UDP)')
    .description(
      [
        'Runs iperf3 against the iperf3 server on HOST (`wanwatch reflector` starts one) and prints the',
        'goodput (what arrived), TCP retransmits and sender RTT, or for --udp the loss and jitter at the',
        'given rate. A busy server is asked again a few times with backoff. With --loaded-rtt an RTT round',
        'runs during the test (latency under load). Exit code 1 when the test failed.',
      ].join(' '),
    )
    .argument('<host>', 'IP address or host name of the iperf3 server')
    .option('-p, --port <port>', 'iperf3 server port', portOption('--port'), DEFAULT_IPERF3_PORT)
    .option('-u, --udp', 'UDP at --rate instead of TCP', false)
    .addOption(
      new Option('-b, --rate <rate>', 'UDP rate: 5M, 500k, 1G or bits per second')
        .argParser(rateOption('--rate'))
        .default(5_000_000, '5M'),
    )
    .option('-R, --reverse', 'measure HOST → here instead of here → HOST', false)
    .addOption(
      new Option('-d, --duration <s>', 'test length in whole seconds (or 1m)')
        .argParser(secondsOption('--duration', 1000))
        .default(10_000, '10s'),
    )
    .addOption(
      new Option('-O, --omit <s>', 'warm-up seconds left out of the figures')
        .argParser(secondsOption('--omit'))
        .default(1000, '1s'),
    )
    .option('-P, --streams <n>', 'parallel TCP streams (1–128)', intOption('--streams', 1, 128), 1)
    .option(
      '--timeout <s>',
      'stop the test after this many seconds (default: duration + warm-up + 15 s)',
      secondsOption('--timeout', 1000),
    )
    .option(
      '--loaded-rtt <method>',
      'also run an RTT round during the test: icmp, tcp or udp (5 probes a second)',
      choiceOption('--loaded-rtt', ['icmp', 'tcp', 'udp'] as const),
    )
    .option(
      '--loaded-rtt-port <port>',
      `port for --loaded-rtt tcp/udp (default: ${DEFAULT_REFLECTOR_PORT})`,
      portOption('--loaded-rtt-port'),
    )
    .option('--json', 'print the Result as JSON (throughput.goodput_bps, …)', false)
    .action(
      async (
        host: string,
        opts: {
          port: number;
          udp: boolean;
          rate: number;
          reverse: boolean;
          duration: number;
          omit: number;
          streams: number;
          timeout?: number;
          loadedRtt?: ProbeMethod;
          loadedRttPort?: number;
          json: boolean;
        },
      ) => {
        const ac = new AbortController();
        const stop = () => ac.abort();
        process.once('SIGINT', stop);
        const count = Math.max(1, Math.floor((opts.duration - 1000) / 200));
        const result = await runThroughput(
          { src: hostname(), dst: host, host, port: opts.port },
          {
            protocol: opts.udp ? 'udp' : 'tcp',
            duration_ms: opts.duration,
            omit_ms: opts.omit,
            streams: opts.streams,
            reverse: opts.reverse,
            signal: ac.signal,
            ...(opts.udp ? { rate_bps: opts.rate } : {}),
            ...(opts.timeout !== undefined ? { timeout: opts.timeout } : {}),
            ...(opts.loadedRtt
              ? {
                  loadedRtt: {
                    probe: opts.loadedRtt,
                    count,
                    spacing_ms: 200,
                    ...(opts.loadedRtt !== 'icmp'
                      ? { port: opts.loadedRttPort ?? DEFAULT_REFLECTOR_PORT }
                      : {}),
                  },
                }
              : {}),
          },
        );
        process.off('SIGINT', stop);
        closeIcmpSessions();
        process.stdout.write(opts.json ? `${JSON.stringify(result)}\n` : renderThroughput(result));
        process.exitCode = result.error ? EXIT.failed : EXIT.ok;
      },
    );
}

export function renderThroughput(r: ThroughputResult): string {
  const t = r.throughput;
  if (!t) return `iperf3 to ${r.target}: error (${r.error?.code}): ${r.error?.message}\n`;
  const dir = t.direction === 'reverse' ? `${r.target} → here` : `here → ${r.target}`;
  const out = [
    `iperf3 ${t.protocol.toUpperCase()} ${dir}, ${t.streams} stream${t.streams === 1 ? '' : 's'}, ` +
      `${(t.duration_ms / 1000).toFixed(1)} s: goodput ${formatRate(t.goodput_bps)}` +
      (t.sent_bps !== null ? ` (sent ${formatRate(t.sent_bps)})` : ''),
  ];
  if (t.protocol === 'tcp') {
    out.push(
      `  retransmits ${t.retransmits ?? '-'}, sender RTT ${t.sender_rtt_ms === null ? '- (not the sender)' : `${t.sender_rtt_ms} ms`}`,
    );
  } else {
    out.push(
      `  target ${t.target_bps === null ? '-' : formatRate(t.target_bps)}, loss ${t.udp_loss_percent ?? '-'} %, ` +
        `jitter ${t.udp_jitter_ms === null ? '-' : t.udp_jitter_ms.toFixed(3)} ms (iperf3)`,
    );
  }
  if (t.intervals_bps.length > 0) out.push(`  per second: ${t.intervals_bps.map(formatRate).join(', ')}`);
  const l = r.loaded_rtt;
  if (l) {
    out.push(
      `  under load: ${l.received}/${l.sent} answered, rtt median ${l.rtt_median_ms ?? '-'} ms, ` +
        `p95 ${l.rtt_p95_ms ?? '-'} ms, jitter ${l.jitter_ms ?? '-'} ms (${l.jitter_method})`,
    );
  }
  return `${out.join('\n')}\n`;
}
