// Debian's real prometheus-alertmanager on a free loopback port, for the tests that send it alerts.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa, type ResultPromise } from 'execa';
import { eventually } from '../../../testbed/collector.ts';
import { freePort } from '../../../testbed/ports.ts';

export interface AmAlert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startsAt: string;
  endsAt: string;
  status: { state: string };
}

export interface Alertmanager {
  url: string;
  /** Every alert it lists: active, silenced, inhibited and unprocessed (never the resolved ones). */
  alerts(): Promise<AmAlert[]>;
  /** Stops it and starts it again on the same port; it forgets every alert (it keeps them in memory). */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

export async function startAlertmanager(dir: string): Promise<Alertmanager> {
  mkdirSync(dir, { recursive: true });
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const config = join(dir, 'alertmanager.yml');
  writeFileSync(config, 'route:\n  receiver: none\nreceivers:\n  - name: none\n');
  let proc: ResultPromise | undefined;
  const start = async () => {
    proc = execa(
      'prometheus-alertmanager',
      [
        `--config.file=${config}`,
        `--storage.path=${join(dir, 'am-data')}`,
        `--web.listen-address=127.0.0.1:${port}`,
        '--cluster.listen-address=',
      ],
      { reject: false },
    );
    await eventually(
      async () =>
        (await fetch(`${url}/-/ready`).then(
          (r) => r.ok,
          () => false,
        )) || undefined,
      20_000,
      'Alertmanager to be ready',
    );
  };
  const stop = async () => {
    proc?.kill('SIGTERM');
    await proc;
    proc = undefined;
  };
  await start();
  return {
    url,
    alerts: async () =>
      (await (
        await fetch(`${url}/api/v2/alerts?active=true&silenced=true&inhibited=true&unprocessed=true`)
      ).json()) as AmAlert[],
    restart: async () => {
      await stop();
      await start();
    },
    stop,
  };
}
