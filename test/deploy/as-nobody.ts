// Runs wanwatch as the units in deploy/systemd/ run it, without systemd: as the unprivileged user
// nobody through setpriv, holding only the capabilities given, with no way to gain more, in an
// environment of nothing but PATH and what the unit sets. For tests that run as root.
import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, mkdirSync } from 'node:fs';
import { execa, type ResultPromise } from 'execa';
import { setprivCaps } from './units.ts';

const WANWATCH_BIN = new URL('../../bin/wanwatch.js', import.meta.url).pathname;

/** nobody's user id (`-u`) or group id (`-g`). */
export const nobodyId = (flag: '-u' | '-g') =>
  Number(execFileSync('id', [flag, 'nobody'], { encoding: 'utf8' }).trim());

/** What StateDirectory= makes of `dir`: its parents root's, the directory itself nobody's (0700). */
export function nobodyStateDirectory(dir: string): string {
  mkdirSync(dir, { recursive: true, mode: 0o755 });
  chmodSync(dir, 0o700);
  chownSync(dir, nobodyId('-u'), nobodyId('-g'));
  return dir;
}

/**
 * `wanwatch …args` as nobody through setpriv, holding `caps` (systemd's spelling, e.g. the unit's
 * `CAP_NET_RAW`; '' for none) as inheritable, ambient and bounding capabilities, with no way to gain
 * more (no_new_privs), and only PATH and `env` in its environment.
 */
export function wanwatchAsNobody(caps: string, env: Record<string, string>, args: string[]): ResultPromise {
  const set = caps === '' ? '-all' : `-all,${setprivCaps(caps)}`;
  return execa(
    'setpriv',
    [
      '--reuid=nobody',
      '--regid=nogroup',
      '--init-groups',
      `--inh-caps=${set}`,
      `--ambient-caps=${set}`,
      `--bounding-set=${set}`,
      '--no-new-privs',
      '--',
      'env',
      '-i',
      `PATH=${process.env.PATH ?? '/usr/bin:/bin'}`,
      ...Object.entries(env).map(([k, v]) => `${k}=${v}`),
      'node',
      WANWATCH_BIN,
      ...args,
    ],
    { reject: false },
  );
}
