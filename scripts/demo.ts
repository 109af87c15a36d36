// `npm run demo`: wanwatch on one machine, within a minute. Starts a collector (embedded SQLite, in a
// temp dir) with examples/loopback.yaml, one agent per site on 127.0.0.1, 127.0.0.2, 127.0.0.3, and a
// local webhook receiver that prints each alert; then prints `wanwatch status` every few seconds. One
// link's round-trip limit is impossibly tight, so it alerts. Ctrl-C stops everything.
//
//   npm run demo [-- --for SECONDS]     (--for: stop by itself after that long)

import { createSocket } from 'node:dgram';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { createServer as createTcpServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa, type ResultPromise } from 'execa';
import { parse, stringify } from 'yaml';

const root = new URL('..', import.meta.url).pathname;
const wanwatch = join(root, 'bin/wanwatch.js');
const forIndex = process.argv.indexOf('--for');
const runForS = forIndex > 0 ? Number(process.argv[forIndex + 1]) : undefined;
const STATUS_EVERY_MS = 5000;

interface SiteYaml {
  address: string;
  token_env: string;
  reflector_port: number;
  iperf3_port: number;
}
interface TopologyYaml {
  sites: Record<string, SiteYaml>;
  probes: { rtt: { method: string } };
  notify: { type: string; url: string }[];
  collector: { listen: string; data_dir: string };
}

const dir = mkdtempSync(join(tmpdir(), 'wanwatch-demo-'));
const say = (line: string) => process.stdout.write(`${line}\n`);

// The webhook receiver: prints what the collector's webhook notifier sends.
const hook = createServer((req, res) => {
  let body = '';
  req.on('data', (c: Buffer) => {
    body += c.toString();
  });
  req.on('end', () => {
    try {
      const p = JSON.parse(body) as { status: string; summary: string; reminder: boolean };
      say(`\n>>> WEBHOOK ${p.status.toUpperCase()}${p.reminder ? ' (reminder)' : ''}: ${p.summary}\n`);
    } catch {
      say(`\n>>> WEBHOOK (unreadable body): ${body.slice(0, 200)}\n`);
    }
    res.writeHead(200).end();
  });
});
await new Promise<void>((resolve) => hook.listen(0, '127.0.0.1', resolve));
const hookPort = (hook.address() as { port: number }).port;

// The topology: the example, with free ports so the demo runs beside anything else on the machine.
const topo = parse(readFileSync(join(root, 'examples/loopback.yaml'), 'utf8')) as TopologyYaml;
const env: Record<string, string> = {};
for (const [name, site] of Object.entries(topo.sites)) {
  // The reflector listens on UDP and TCP on its port; iperf3 on another TCP port.
  do site.reflector_port = await freePort('udp', site.address);
  while (!(await tcpFree(site.address, site.reflector_port)));
  do site.iperf3_port = await freePort('tcp', site.address);
  while (site.iperf3_port === site.reflector_port);
  env[site.token_env] = `demo-token-${name}`;
}
// As root, ICMP: the kernel answers at once, while a UDP echo round to a peer whose agent is still
// starting would count as loss. Without root, UDP echo against the peers' reflectors.
const isRoot = process.getuid?.() === 0;
topo.probes.rtt.method = isRoot ? 'icmp' : 'udp';
const collectorPort = await freePort('tcp', '127.0.0.1');
topo.collector.listen = `127.0.0.1:${collectorPort}`;
topo.collector.data_dir = join(dir, 'collector');
topo.notify = [{ type: 'webhook', url: `http://127.0.0.1:${hookPort}/demo-webhook` }];
const configPath = join(dir, 'loopback.yaml');
writeFileSync(configPath, stringify(topo));
const url = `http://127.0.0.1:${collectorPort}`;

const children: ResultPromise[] = [];
const logFile = (name: string) => join(dir, `${name}.log`);
const spawn = (name: string, args: string[], extraEnv: Record<string, string>) => {
  const child = execa('node', [wanwatch, ...args], {
    env: { ...extraEnv, WANWATCH_LOG: 'info' },
    reject: false,
    stdout: { file: logFile(name) },
    stderr: { file: logFile(name) },
  });
  children.push(child);
  return child;
};

say(`wanwatch demo: a collector and ${Object.keys(topo.sites).length} agents on loopback (files in ${dir})`);
say(
  `  collector ${url}, topology ${configPath}, RTT by ${topo.probes.rtt.method}${isRoot ? '' : ' (not root: no ICMP)'}`,
);
spawn('collector', ['collector', '-c', configPath, '--evaluate-interval', '1s'], env);
for (const [name, site] of Object.entries(topo.sites)) {
  say(`  agent ${name} at ${site.address} (log: ${logFile(`agent-${name}`)})`);
  spawn(
    `agent-${name}`,
    [
      'agent',
      '--site',
      name,
      '--collector',
      url,
      '--data-dir',
      join(dir, `agent-${name}`),
      '--batch-max-delay',
      '500',
    ],
    { WANWATCH_TOKEN: env[site.token_env]! },
  );
}
say('  the hq – branch2 link has a 0.001 ms round-trip limit: it will alert. Ctrl-C stops everything.\n');

let stopping = false;
const stop = async () => {
  if (stopping) return;
  stopping = true;
  clearInterval(statusTimer);
  say('\nstopping the agents and the collector …');
  for (const c of children) c.kill('SIGTERM');
  await Promise.allSettled(children);
  hook.close();
  rmSync(dir, { recursive: true, force: true });
  say('stopped.');
};
process.on('SIGINT', () => void stop());
process.on('SIGTERM', () => void stop());

const started = Date.now();
const statusTimer = setInterval(async () => {
  const r = await execa('node', [wanwatch, 'status', '--collector', url], { reject: false });
  if (stopping) return;
  say(`--- wanwatch status (${Math.round((Date.now() - started) / 1000)} s) ---`);
  say(r.stdout === '' ? `(collector not answering yet) ${r.stderr.trim()}` : r.stdout);
  if (runForS !== undefined && Date.now() - started >= runForS * 1000) await stop();
}, STATUS_EVERY_MS);

function tcpFree(address: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createTcpServer();
    s.once('error', () => resolve(false));
    s.listen(port, address, () => s.close(() => resolve(true)));
  });
}

/** A port free now on `address`, for a server the demo starts as a child process. */
function freePort(kind: 'tcp' | 'udp', address: string): Promise<number> {
  return new Promise((resolve, reject) => {
    if (kind === 'udp') {
      const s = createSocket('udp4');
      s.once('error', reject);
      s.bind(0, address, () => {
        const { port } = s.address();
        s.close(() => resolve(port));
      });
      return;
    }
    const s = createTcpServer();
    s.once('error', reject);
    s.listen(0, address, () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}
