// Runs Debian's InfluxDB 1.6.7 (`influxd`) privately on loopback for tests and benchmarks: its own temp
// folder for meta, data and WAL, free ports for HTTP and the RPC service, no usage reporting. It can be
// stopped and started again on the same folder and port, to play an outage.
import { createWriteStream, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa, type ResultPromise } from 'execa';
import { freePort, waitFor } from './ports.ts';

export interface InfluxSeries {
  name: string;
  tags?: Record<string, string>;
  columns: string[];
  values: unknown[][];
}
export interface InfluxStatement {
  statement_id: number;
  series?: InfluxSeries[];
  error?: string;
}

export interface Influxd {
  url: string;
  dir: string;
  /** Runs InfluxQL through /query (epoch=ms); throws on an HTTP or statement error. */
  query(q: string, db?: string): Promise<InfluxStatement[]>;
  createDatabase(db: string): Promise<void>;
  stop(): Promise<void>;
  start(): Promise<void>;
  close(): Promise<void>;
}

/** `influxd config` with the changes the brief of wanwatch's tests needs: private dirs and ports. */
export async function influxdConfig(dir: string, httpPort: number, rpcPort: number): Promise<string> {
  const { stdout } = await execa('influxd', ['config'], { reject: true });
  let section = '';
  const out = ['reporting-disabled = true'];
  for (const raw of stdout.split('\n')) {
    const l = raw.trimEnd();
    const head = /^\s*\[+([^\]]+)\]+/.exec(l);
    if (head) section = head[1] as string;
    const set = (key: string, value: string) =>
      new RegExp(`^\\s*${key}\\s*=`).test(l) ? `${l.match(/^\s*/)?.[0]}${key} = ${value}` : undefined;
    let next: string | undefined;
    if (/^reporting-(enabled|disabled)\s*=/.test(l)) continue;
    if (section === '') next = set('bind-address', `"127.0.0.1:${rpcPort}"`);
    else if (section === 'meta') next = set('dir', JSON.stringify(join(dir, 'meta')));
    else if (section === 'data')
      next =
        set('dir', JSON.stringify(join(dir, 'data'))) ?? set('wal-dir', JSON.stringify(join(dir, 'wal')));
    else if (section === 'http')
      next = set('bind-address', `"127.0.0.1:${httpPort}"`) ?? set('log-enabled', 'false');
    else if (section === 'monitor') next = set('store-enabled', 'false');
    out.push(next ?? l);
  }
  return `${out.join('\n')}\n`;
}

export async function startInfluxd(): Promise<Influxd> {
  const dir = mkdtempSync(join(tmpdir(), 'wanwatch-influxd-'));
  const [httpPort, rpcPort] = [await freePort(), await freePort()];
  const configFile = join(dir, 'influxdb.conf');
  writeFileSync(configFile, await influxdConfig(dir, httpPort, rpcPort));
  const url = `http://127.0.0.1:${httpPort}`;
  const logFile = join(dir, 'influxd.log');
  let child: ResultPromise | undefined;

  const start = async () => {
    const logStream = createWriteStream(logFile, { flags: 'a' });
    const c = execa('influxd', ['-config', configFile], { reject: false, stdin: 'ignore', buffer: false });
    c.stdout?.pipe(logStream);
    c.stderr?.pipe(logStream);
    child = c;
    try {
      await waitFor(`influxd on ${url}/ping`, async () => {
        if (c.exitCode !== null) throw new Error('influxd exited');
        return (await fetch(`${url}/ping`)).status === 204;
      });
    } catch (err) {
      const tail = readFileSync(logFile, 'utf8').split('\n').slice(-20).join('\n');
      throw new Error(`influxd did not start (${String(err)}); its log ends:\n${tail}`);
    }
  };
  const stop = async () => {
    const c = child;
    child = undefined;
    if (!c || c.exitCode !== null) return;
    c.kill('SIGTERM');
    const timer = setTimeout(() => c.kill('SIGKILL'), 10_000);
    await c;
    clearTimeout(timer);
  };
  const query = async (q: string, db?: string): Promise<InfluxStatement[]> => {
    const params = new URLSearchParams({ q, epoch: 'ms' });
    if (db) params.set('db', db);
    const res = await fetch(`${url}/query`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: params.toString(),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`InfluxQL ${q} → HTTP ${res.status}: ${text}`);
    const body = JSON.parse(text) as { results: InfluxStatement[]; error?: string };
    if (body.error) throw new Error(`InfluxQL ${q} → ${body.error}`);
    for (const r of body.results) if (r.error) throw new Error(`InfluxQL ${q} → ${r.error}`);
    return body.results;
  };
  await start();
  return {
    url,
    dir,
    query,
    createDatabase: async (db) => {
      await query(`CREATE DATABASE "${db.replace(/"/g, '\\"')}"`);
    },
    stop,
    start,
    close: async () => {
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
