import { createSocket } from 'node:dgram';
import { createServer } from 'node:net';
import type { Command } from 'commander';
import { execa } from 'execa';
import { checkIcmpPrivilege, closeIcmpSessions } from '../../probes/icmp.ts';
import { IPERF3_INSTALL_HINT } from '../../probes/iperf3.ts';
import { kernelTimestamps } from '../../probes/timestamps.ts';
import { DEFAULT_IPERF3_PORT, DEFAULT_REFLECTOR_PORT } from '../../shared/ports.ts';

import { EXIT } from '../errors.ts';
import { portOption } from '../options.ts';

interface Check {
  name: string;
  ok: boolean;
  detail: string;
  fix?: string;
}

/** iperf3 3.7 added --connect-timeout, which the throughput client uses. */
const MIN_IPERF3: [number, number] = [3, 7];

export function registerDoctor(program: Command): void {
  program
    .command('doctor')
    .summary('check what measuring needs here: iperf3, ICMP privilege, free reflector/iperf3 ports')
    .description(
      [
        "Checks that iperf3 is installed (3.7 or later), that wanwatch's kernel timestamps addon is built",
        '(without it probes are timed in JavaScript, up to milliseconds high on a busy host), that this',
        'process may send ICMP echo (root or CAP_NET_RAW), and that the reflector port (UDP and TCP) and the',
        'iperf3 port are free on the address.',
        'Says how to fix each problem. Exit code 1 when something is missing.',
      ].join(' '),
    )
    .option('-a, --address <address>', 'address the reflector would listen on', '0.0.0.0')
    .option(
      '--reflector-port <port>',
      'reflector port to check (UDP and TCP)',
      portOption('--reflector-port'),
      DEFAULT_REFLECTOR_PORT,
    )
    .option(
      '--iperf3-port <port>',
      'iperf3 server port to check',
      portOption('--iperf3-port'),
      DEFAULT_IPERF3_PORT,
    )
    .action(async (opts: { address: string; reflectorPort: number; iperf3Port: number }) => {
      const checks: Check[] = [await checkIperf3(), checkTimestamps(), checkIcmp()];
      checks.push(await checkPort('reflector', opts.address, opts.reflectorPort, ['udp', 'tcp']));
      checks.push(await checkPort('iperf3', opts.address, opts.iperf3Port, ['tcp']));
      for (const c of checks) {
        process.stdout.write(`${c.ok ? 'ok  ' : 'FAIL'}  ${c.name}: ${c.detail}\n`);
        if (!c.ok && c.fix) process.stdout.write(`      fix: ${c.fix}\n`);
      }
      const bad = checks.filter((c) => !c.ok).length;
      process.stdout.write(
        bad === 0
          ? 'Everything wanwatch measures with is in place.\n'
          : `${bad} problem${bad === 1 ? '' : 's'} found.\n`,
      );
      process.exitCode = bad === 0 ? EXIT.ok : EXIT.failed;
    });
}

async function checkIperf3(): Promise<Check> {
  const r = await execa('iperf3', ['--version'], { reject: false, timeout: 10_000 });
  if (r.failed && r.exitCode === undefined)
    return {
      name: 'iperf3',
      ok: false,
      detail: 'not found on PATH',
      fix: IPERF3_INSTALL_HINT.replace(/^iperf3 is not installed \(or not on PATH\): /, ''),
    };
  const m = /iperf (\d+)\.(\d+)/.exec(`${r.stdout}\n${r.stderr}`);
  if (!m)
    return {
      name: 'iperf3',
      ok: false,
      detail: `cannot read its version: ${r.stdout.slice(0, 100)}`,
      fix: 'reinstall: apt-get install --reinstall iperf3',
    };
  const major = Number(m[1]);
  const minor = Number(m[2]);
  const recent = major > MIN_IPERF3[0] || (major === MIN_IPERF3[0] && minor >= MIN_IPERF3[1]);
  return recent
    ? { name: 'iperf3', ok: true, detail: `version ${major}.${minor}` }
    : {
        name: 'iperf3',
        ok: false,
        detail: `version ${major}.${minor} is too old (3.7 or later needed)`,
        fix: 'install a newer iperf3 (apt-get install iperf3 on Debian 11 or later)',
      };
}

function checkTimestamps(): Check {
  const { native, why } = kernelTimestamps();
  return native
    ? { name: 'kernel timestamps', ok: true, detail: 'probes are timed by the kernel' }
    : {
        name: 'kernel timestamps',
        ok: false,
        detail: `probes are timed in JavaScript, up to milliseconds high on a busy host: ${why}`,
        fix: 'install g++, make and python3, then reinstall wanwatch (or npm rebuild in a checkout)',
      };
}

function checkIcmp(): Check {
  const r = checkIcmpPrivilege();
  closeIcmpSessions();
  if (!r.ok && r.unavailable)
    return { name: 'ICMP echo', ok: false, detail: r.message, fix: 'see the kernel timestamps fix' };
  return r.ok
    ? { name: 'ICMP echo', ok: true, detail: 'raw sockets allowed' }
    : {
        name: 'ICMP echo',
        ok: false,
        detail: 'raw sockets not allowed for this process (the icmp method will report permission_denied)',
        fix:
          'the agent: run it as wanwatch-agent@SITE.service does (CAP_NET_RAW alone, docs/deploying.md) or as ' +
          'root; tcp and udp probes work without it; last resort: `setcap cap_net_raw+ep $(readlink -f $(which ' +
          'node))`, which every node program on the host then shares',
      };
}

async function checkPort(
  what: string,
  address: string,
  port: number,
  protocols: ('udp' | 'tcp')[],
): Promise<Check> {
  const busy: string[] = [];
  for (const p of protocols) {
    const err = p === 'tcp' ? await tryTcp(address, port) : await tryUdp(address, port);
    if (err) busy.push(`${p.toUpperCase()} (${err})`);
  }
  const name = `${what} port ${port}`;
  const protos = protocols.map((p) => p.toUpperCase()).join(' and ');
  return busy.length === 0
    ? { name, ok: true, detail: `free on ${address} (${protos})` }
    : {
        name,
        ok: false,
        detail: `cannot listen on ${address}:${port}: ${busy.join(', ')}`,
        fix: `find what uses it (ss -lntup | grep :${port}) and stop it, or choose another port (sites.<name>.${what === 'iperf3' ? 'iperf3_port' : 'reflector_port'}); a running wanwatch reflector also holds it`,
      };
}

function tryTcp(address: string, port: number): Promise<string | null> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message));
    s.listen({ host: address, port }, () => s.close(() => resolve(null)));
  });
}

function tryUdp(address: string, port: number): Promise<string | null> {
  return new Promise((resolve) => {
    const s = createSocket(address.includes(':') ? 'udp6' : 'udp4');
    s.once('error', (e: NodeJS.ErrnoException) => {
      s.close();
      resolve(e.code ?? e.message);
    });
    s.bind(port, address, () => s.close(() => resolve(null)));
  });
}
