import type { Command } from 'commander';
import { startResponder } from '../../responder/index.ts';
import { DEFAULT_IPERF3_PORT, DEFAULT_REFLECTOR_PORT } from '../../shared/ports.ts';
import { CliError } from '../errors.ts';
import { portOption } from '../options.ts';

export function registerReflector(program: Command): void {
  program
    .command('reflector')
    .summary("run a site's responder alone: UDP echo reflector (+ TCP) and an iperf3 server")
    .description(
      [
        'Runs what peers measure against until Ctrl-C (SIGINT) or SIGTERM: the UDP echo reflector for',
        '`probe --method udp`, accepting TCP connections on the same port for `--method tcp`, and a managed',
        '`iperf3 -s` for `throughput`, restarted if it dies. Port 0 picks a free port; the ports in use are',
        'printed on the first line. Without iperf3 the reflector still runs (a warning says how to install it).',
      ].join(' '),
    )
    .option('-a, --address <address>', 'address to listen on', '0.0.0.0')
    .option('-p, --port <port>', 'UDP echo and TCP port', portOption('--port', 0), DEFAULT_REFLECTOR_PORT)
    .option('--iperf3-port <port>', 'iperf3 server port', portOption('--iperf3-port', 0), DEFAULT_IPERF3_PORT)
    .action(async (opts: { address: string; port: number; iperf3Port: number }) => {
      let responder: Awaited<ReturnType<typeof startResponder>>;
      try {
        responder = await startResponder({
          address: opts.address,
          reflector_port: opts.port,
          iperf3_port: opts.iperf3Port,
        });
      } catch (err) {
        throw new CliError(
          `cannot start the reflector: ${err instanceof Error ? err.message : String(err)}`,
          1,
        );
      }
      const { reflector, iperf3 } = responder;
      process.stdout.write(
        `wanwatch reflector: UDP echo and TCP on ${opts.address}:${reflector.port}, ` +
          (iperf3 ? `iperf3 server on ${opts.address}:${iperf3.port}` : 'no iperf3 server') +
          ' (Ctrl-C to stop)\n',
      );
      if (!iperf3) process.stderr.write(`wanwatch: warning: ${responder.iperf3_error}\n`);
      await new Promise<void>((resolve) => {
        process.once('SIGINT', resolve);
        process.once('SIGTERM', resolve);
      });
      await responder.close();
      process.stdout.write(
        `wanwatch reflector: stopped after answering ${reflector.answered} echo requests\n`,
      );
    });
}
