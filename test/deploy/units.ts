// Reads the systemd units in deploy/systemd/ the way the deploy tests need them: each directive's
// values (a directive may repeat), with the instance specifier %i filled in. Not a full parser of
// systemd's syntax: the units use none of line continuations, quoting or drop-ins.
import { readFileSync } from 'node:fs';

export const DEPLOY_DIR = new URL('../../deploy/', import.meta.url).pathname;
export const UNITS_DIR = `${DEPLOY_DIR}systemd/`;
export const AGENT_UNIT = 'wanwatch-agent@.service';
export const COLLECTOR_UNIT = 'wanwatch-collector.service';

/** Every `Key=value` of the unit's [Service] section (or another), in order; values of repeated keys kept. */
export function unitDirectives(
  unit: string,
  opts: { section?: string; instance?: string } = {},
): Map<string, string[]> {
  const section = opts.section ?? 'Service';
  const out = new Map<string, string[]>();
  let current = '';
  for (const raw of readFileSync(UNITS_DIR + unit, 'utf8').split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    const head = /^\[(.+)\]$/.exec(line);
    if (head) {
      current = head[1] ?? '';
      continue;
    }
    if (current !== section) continue;
    const eq = line.indexOf('=');
    const key = line.slice(0, eq);
    let value = line.slice(eq + 1);
    if (opts.instance !== undefined) value = value.replaceAll('%i', opts.instance);
    out.set(key, [...(out.get(key) ?? []), value]);
  }
  return out;
}

/**
 * The environment a unit's `Environment=` lines set, with the specifiers the tests stand in for
 * replaced: %i (instance), %d (credentials directory), %S (state directory root).
 */
export function unitEnvironment(
  unit: string,
  o: { instance?: string; credentialsDir?: string; stateRoot?: string },
): Record<string, string> {
  const env: Record<string, string> = {};
  for (const line of unitDirectives(unit, o.instance === undefined ? {} : { instance: o.instance }).get(
    'Environment',
  ) ?? []) {
    for (const pair of line.split(/\s+/)) {
      const eq = pair.indexOf('=');
      let value = pair.slice(eq + 1);
      if (o.credentialsDir !== undefined) value = value.replaceAll('%d', o.credentialsDir);
      if (o.stateRoot !== undefined) value = value.replaceAll('%S', o.stateRoot);
      env[pair.slice(0, eq)] = value;
    }
  }
  return env;
}

/** `CAP_NET_RAW CAP_X` → `+net_raw,+cap_x`, as setpriv's --ambient-caps and --bounding-set take them. */
export function setprivCaps(systemdCaps: string): string {
  return systemdCaps
    .split(/\s+/)
    .filter((c) => c !== '')
    .map((c) => `+${c.replace(/^CAP_/, '').toLowerCase()}`)
    .join(',');
}

/** `KEY=value` lines of an environment file in deploy/etc/; with `commented`, the `#KEY=…` examples too. */
export function envFile(name: string, opts: { commented?: boolean } = {}): Record<string, string> {
  const out: Record<string, string> = {};
  for (const raw of readFileSync(`${DEPLOY_DIR}etc/${name}`, 'utf8').split('\n')) {
    const m = /^(#)?([A-Z][A-Z0-9_]*)=(.*)$/.exec(raw.trim());
    if (m === null || (m[1] !== undefined && !opts.commented)) continue;
    out[m[2] ?? ''] = m[3] ?? '';
  }
  return out;
}
