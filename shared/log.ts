// The one logger: structured JSON lines on stderr (stdout stays for command output), or a readable
// line when stderr is a terminal. Level from WANWATCH_LOG (debug, info, warn, error; default info).
type Level = 'debug' | 'info' | 'warn' | 'error';
const ORDER: Record<Level, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export type Fields = Record<string, unknown>;

export interface Logger {
  debug(msg: string, fields?: Fields): void;
  info(msg: string, fields?: Fields): void;
  warn(msg: string, fields?: Fields): void;
  error(msg: string, fields?: Fields): void;
  child(fields: Fields): Logger;
}

function threshold(): number {
  const env = process.env.WANWATCH_LOG as Level | undefined;
  return ORDER[env ?? 'info'] ?? ORDER.info;
}

export function createLogger(
  base: Fields = {},
  write: (line: string) => void = (l) => process.stderr.write(l),
): Logger {
  const min = threshold();
  const pretty = process.stderr.isTTY === true;
  const emit = (level: Level, msg: string, fields?: Fields) => {
    if (ORDER[level] < min) return;
    const record = { time: new Date().toISOString(), level, msg, ...base, ...fields };
    if (pretty) {
      const extra = Object.entries({ ...base, ...fields })
        .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
        .join(' ');
      write(`${record.time} ${level.toUpperCase().padEnd(5)} ${msg}${extra ? ` ${extra}` : ''}\n`);
    } else {
      write(`${JSON.stringify(record, (_k, v) => (v instanceof Error ? v.message : v))}\n`);
    }
  };
  return {
    debug: (m, f) => emit('debug', m, f),
    info: (m, f) => emit('info', m, f),
    warn: (m, f) => emit('warn', m, f),
    error: (m, f) => emit('error', m, f),
    child: (fields) => createLogger({ ...base, ...fields }, write),
  };
}

export const log = createLogger();
