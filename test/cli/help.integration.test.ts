// `wanwatch <command> --help` as a user reads it: defaults in the units the option takes, lines wrapped once
// at 80 columns (what commander uses when stdout is not a terminal).
import { describe, expect, it } from 'vitest';
import { wanwatch } from '../support/cli.ts';

const WIDTH = 80;

/** The help text of the program and of every command it lists (and of `notify test`). */
async function everyHelp(): Promise<Map<string, string>> {
  const root = await wanwatch(['--help']);
  expect(root.exitCode).toBe(0);
  const commands = root.stdout
    .split('\nCommands:\n')[1]
    ?.split('\n\n')[0]
    ?.split('\n')
    .filter((line) => /^ {2}\S/.test(line))
    .map((line) => line.trim().split(' ')[0] ?? '')
    .filter((name) => name !== 'help');
  expect(commands?.length).toBeGreaterThanOrEqual(10);
  const all = [...(commands ?? []).map((c) => [c]), ['notify', 'test']];
  const helps = new Map<string, string>([['wanwatch', root.stdout]]);
  for (const [args, r] of await Promise.all(
    all.map(async (args) => [args, await wanwatch([...args, '--help'])] as const),
  )) {
    expect(r.exitCode, `${args.join(' ')} --help`).toBe(0);
    helps.set(args.join(' '), r.stdout);
  }
  return helps;
}

/**
 * Lines that a single greedy wrap at WIDTH would not have produced: a line whose next line continues it
 * (the same paragraph at the margin, or an option's description indented under it) although that next
 * line's first word would have fitted on it. That is what a description broken by hand looks like once
 * commander wraps it again.
 */
function raggedBreaks(text: string): string[] {
  const lines = text.split('\n');
  const found: string[] = [];
  for (let i = 1; i < lines.length; i++) {
    const prev = lines[i - 1] ?? '';
    const line = lines[i] ?? '';
    if (prev.trim() === '' || line.trim() === '') continue;
    const indent = line.length - line.trimStart().length;
    const prevIndent = prev.length - prev.trimStart().length;
    const continues = indent > 2 || (indent === 0 && prevIndent === 0);
    const firstWord = line.trim().split(/\s+/)[0] ?? '';
    if (continues && prev.length + 1 + firstWord.length <= WIDTH) found.push(`${prev}⏎${line}`);
  }
  return found;
}

describe('wanwatch --help', () => {
  it('shows defaults as a user writes them and wraps every line once at 80 columns', async () => {
    const helps = await everyHelp();
    for (const [command, text] of helps) {
      const long = text.split('\n').filter((line) => line.length > WIDTH);
      expect(long, `${command}: lines over ${WIDTH} columns`).toEqual([]);
      expect(raggedBreaks(text), `${command}: lines broken by hand`).toEqual([]);
      // A number is shown as a number (or a duration), never as a quoted string.
      expect(text, `${command}: a default shown as a quoted number`).not.toMatch(/default: "\d+(\.\d+)?"/);
    }
    // Options given in seconds or as a duration show their default that way, not in milliseconds.
    const flat = (command: string) => (helps.get(command) ?? '').replace(/\s+/g, ' ');
    // The default in the option's own description: no other option's flags in between.
    const shown = (flags: string, value: string) =>
      new RegExp(`${flags} (?:(?!--).)*\\(default: ${value}[,)]`);
    expect(flat('throughput')).toMatch(shown('--duration <s>', '10s'));
    expect(flat('throughput')).toMatch(shown('--omit <s>', '1s'));
    expect(flat('throughput')).toMatch(shown('--rate <rate>', '5M'));
    expect(flat('throughput')).not.toMatch(/default: (10000|1000)\b/);
    expect(flat('qualify')).toMatch(shown('--duration <time>', '5m'));
    expect(flat('qualify')).not.toContain('300000');
    expect(flat('agent')).toMatch(shown('--batch-max-results <n>', '500'));
  });

  it('names the environment variable of every agent and collector option', async () => {
    const env = async (command: string) =>
      [...(await wanwatch([command, '--help'])).stdout.replace(/\s+/g, ' ').matchAll(/env: (\w+)\)/g)].map(
        (m) => m[1],
      );
    expect(await env('agent')).toEqual([
      'WANWATCH_SITE',
      'WANWATCH_COLLECTOR',
      'WANWATCH_TOKEN',
      'WANWATCH_TOKEN_FILE',
      'WANWATCH_DATA_DIR',
      'WANWATCH_SPOOL_MAX_RESULTS',
      'WANWATCH_BATCH_MAX_RESULTS',
      'WANWATCH_BATCH_MAX_DELAY',
      'WANWATCH_METRICS_LISTEN',
      'WANWATCH_CA',
      'WANWATCH_CLIENT_CERT',
      'WANWATCH_CLIENT_KEY',
    ]);
    expect(await env('collector')).toEqual([
      'WANWATCH_CONFIG',
      'WANWATCH_LISTEN',
      'WANWATCH_DATA_DIR',
      'WANWATCH_TLS_CERT',
      'WANWATCH_TLS_KEY',
      'WANWATCH_EVALUATE_INTERVAL',
    ]);
    expect(await env('status')).toContain('WANWATCH_COLLECTOR');
  });
});
