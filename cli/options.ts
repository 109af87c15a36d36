// Argument parsers shared by the measuring commands. Each throws commander's InvalidArgumentError with
// a message naming the bad input; the CLI then exits with code 2.
import { readFileSync } from 'node:fs';
import { type Command, InvalidArgumentError, Option } from 'commander';
import { parseDuration } from '../shared/config/duration.ts';
import { parseRate } from '../shared/rate.ts';
import { clientTlsFiles, tlsFetch } from '../shared/tls-client.ts';
import { CliError } from './errors.ts';

export function intOption(name: string, min: number, max: number): (text: string) => number {
  return (text) => {
    const n = Number(text);
    if (!/^\d+$/.test(text.trim()) || !Number.isInteger(n) || n < min || n > max)
      throw new InvalidArgumentError(`${name} must be a whole number from ${min} to ${max} (got "${text}")`);
    return n;
  };
}

/** A whole number of at least `min`, with no upper bound. */
export function countOption(name: string, min = 1): (text: string) => number {
  return (text) => {
    const n = Number(text);
    if (!/^\d+$/.test(text.trim()) || !Number.isSafeInteger(n) || n < min)
      throw new InvalidArgumentError(`${name} must be a whole number ≥ ${min} (got "${text}")`);
    return n;
  };
}

export const portOption = (name: string, min = 1) => intOption(name, min, 65_535);

/** Milliseconds: a plain number, or a duration such as "200ms", "2s". */
export function msOption(name: string, min = 0): (text: string) => number {
  return (text) => {
    const ms = /^\d+(\.\d+)?$/.test(text.trim()) ? Number(text) : parseDuration(text);
    if (ms === undefined || ms < min)
      throw new InvalidArgumentError(
        `${name} must be milliseconds (e.g. 200 or 2s), at least ${min} (got "${text}")`,
      );
    return ms;
  };
}

/** Seconds: a plain number, or a duration such as "10s", "1m"; returned in milliseconds. */
export function secondsOption(name: string, min_ms = 0): (text: string) => number {
  return (text) => {
    const ms = /^\d+(\.\d+)?$/.test(text.trim()) ? Number(text) * 1000 : parseDuration(text);
    if (ms === undefined || ms < min_ms)
      throw new InvalidArgumentError(
        `${name} must be seconds (e.g. 10 or 1m), at least ${min_ms / 1000} s (got "${text}")`,
      );
    return ms;
  };
}

export function rateOption(name: string): (text: string) => number {
  return (text) => {
    const bps = parseRate(text);
    if (bps === undefined)
      throw new InvalidArgumentError(
        `${name} must be a bit rate such as 5M, 500k, 1G or 5000000 (got "${text}")`,
      );
    return bps;
  };
}

export function choiceOption<T extends string>(name: string, choices: readonly T[]): (text: string) => T {
  return (text) => {
    if (!(choices as readonly string[]).includes(text))
      throw new InvalidArgumentError(`${name} must be one of ${choices.join(', ')} (got "${text}")`);
    return text as T;
  };
}

/**
 * `--ca`, `--tls-cert`, `--tls-key`: how a command reaches a collector whose certificate is private. Each
 * can come from the environment (WANWATCH_CA, WANWATCH_CLIENT_CERT, WANWATCH_CLIENT_KEY): commander reads
 * them, so an empty variable counts as not set and the command line wins over the environment.
 */
export function withClientTls<T extends Command>(cmd: T): T {
  return cmd
    .addOption(
      new Option('--ca <file>', "PEM CA (or self-signed certificate) that signed the collector's").env(
        'WANWATCH_CA',
      ),
    )
    .addOption(
      new Option(
        '--tls-cert <file>',
        'PEM client certificate, for a collector that checks agents’ certificates',
      ).env('WANWATCH_CLIENT_CERT'),
    )
    .addOption(
      new Option('--tls-key <file>', 'PEM private key for --tls-cert').env('WANWATCH_CLIENT_KEY'),
    ) as T;
}

/** The fetch those options ask for (undefined: Node's own), or a CliError naming the bad file. */
export function clientFetch(opts: {
  ca?: string;
  tlsCert?: string;
  tlsKey?: string;
}): typeof fetch | undefined {
  // An empty variable (WANWATCH_CA=) counts as not set.
  const files = {
    ...(opts.ca ? { ca: opts.ca } : {}),
    ...(opts.tlsCert ? { tlsCert: opts.tlsCert } : {}),
    ...(opts.tlsKey ? { tlsKey: opts.tlsKey } : {}),
  };
  try {
    // withClientTls read the environment into the options already: no second place reads it.
    return tlsFetch(clientTlsFiles(files, {}));
  } catch (err) {
    throw new CliError((err as Error).message);
  }
}

/** Where the CLI finds a viewer's or operator's credential when --token-file is not given. */
export const CREDENTIAL_ENV = 'WANWATCH_CREDENTIAL';

/**
 * `--token-file`: the credential for the collector's API (collector.credentials). There is no option
 * that takes the credential itself: other users see command lines in the process list.
 */
export function withCredential<T extends Command>(cmd: T, role: 'viewer' | 'operator'): T {
  return cmd.option(
    '--token-file <file>',
    `read the collector credential (${role === 'viewer' ? 'a viewer or operator' : 'an operator'} credential of collector.credentials) from this file's first line (default: $${CREDENTIAL_ENV})`,
  ) as T;
}

/** The credential from --token-file or $WANWATCH_CREDENTIAL; undefined when neither is given. */
export function readCredential(
  opts: { tokenFile?: string },
  env: NodeJS.ProcessEnv = process.env,
): string | undefined {
  if (opts.tokenFile === undefined) {
    const value = env[CREDENTIAL_ENV]?.trim();
    return value === undefined || value === '' ? undefined : value;
  }
  let text: string;
  try {
    text = readFileSync(opts.tokenFile, 'utf8');
  } catch (err) {
    throw new CliError(
      `--token-file: cannot read "${opts.tokenFile}": ${(err as NodeJS.ErrnoException).code ?? err}`,
    );
  }
  const token = text.split('\n')[0]?.trim() ?? '';
  if (token === '')
    throw new CliError(`--token-file: "${opts.tokenFile}" is empty; put the credential on its first line`);
  return token;
}
