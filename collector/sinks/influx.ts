// The InfluxDB sink: copies the collector's store into InfluxDB 1.x, 2.x or 3.x (or anything that takes
// /api/v2/write, such as VictoriaMetrics) as line protocol (schema in ./influx-schema.ts).
//
// The store is the source of truth, not the client. @influxdata/influxdb-client keeps failed writes only
// in memory and drops the oldest past maxBufferLines, so its own retrying is switched off (maxRetries 0)
// and this sink does it instead: for each stream it reads the rows after its stored cursor, writes them,
// awaits flush(), and only then advances the cursor. When a write fails nothing advances; the sink backs
// off and tries again from the same cursor, so an outage of any length loses nothing. A replayed point
// has the same series and timestamp as before, so InfluxDB overwrites it instead of counting it twice.
//
// A row InfluxDB refuses for good (a 400 for its batch, found by bisect.ts) or that cannot be written as
// line protocol at all is set aside (refused.ts), logged as an error and counted, and the cursor moves
// past it: one bad row never stops its stream or the streams after it.
import { InfluxDB, type WriteApi } from '@influxdata/influxdb-client';
import { type InfluxOutputConfig, outputName } from '../../shared/config/schema.ts';
import type { Logger } from '../../shared/log.ts';
import type { OutputJson } from '../../shared/outputs-wire.ts';
import { errorText, type RowLines, writeBisecting } from './bisect.ts';
import {
  alertEventLines,
  heartbeatLines,
  linkStatusLines,
  resultLines,
  UnwritableRow,
} from './influx-schema.ts';
import { type RefusedRow, RefusedRows } from './refused.ts';
import type { SinkSource, SinkStream } from './source.ts';

const LINES_PER_ROW = 2;

export interface SinkOptions {
  /** Backoff after a failed write: starts at min_ms, doubles up to max_ms. */
  backoff?: { min_ms: number; max_ms: number };
  env?: NodeJS.ProcessEnv;
  /** Where refused rows are set aside (the collector's store); default: in memory. */
  refused?: RefusedRows;
}

interface StreamReader {
  stream: SinkStream;
  read(after: number, limit: number): { seq: number; value: unknown }[];
  render(value: unknown): string[];
}

/** The cursor name of an output: its `name`, or its URL and database/bucket. */
export const sinkName = outputName;

/** The write API for one output, with the client's own retry buffer switched off. */
export function createWriteApi(cfg: InfluxOutputConfig, env: NodeJS.ProcessEnv = process.env): WriteApi {
  const secret = (name: string | undefined, what: string): string | undefined => {
    if (name === undefined) return undefined;
    const value = env[name];
    if (value === undefined || value === '')
      throw new Error(
        `InfluxDB output ${sinkName(cfg)}: environment variable ${name} (${what}) is not set in the collector's environment`,
      );
    return value;
  };
  const headers: Record<string, string> = {};
  let token: string | undefined;
  if (cfg.version === 1) {
    const password = secret(cfg.password_env, 'the InfluxDB 1.x password');
    if (cfg.username !== undefined && password !== undefined)
      headers.Authorization = `Basic ${Buffer.from(`${cfg.username}:${password}`).toString('base64')}`;
  } else {
    token = secret(cfg.token_env, 'the InfluxDB API token');
  }
  const client = new InfluxDB({ url: cfg.url, timeout: cfg.timeout, headers, ...(token ? { token } : {}) });
  const api = client.getWriteApi(cfg.org ?? '', cfg.bucket ?? cfg.db ?? '', 'ms', {
    // One request per flush(): the sink decides when to send, and a batch never splits on its own
    // (a row renders to at most LINES_PER_ROW lines; the client allocates a buffer of batchSize).
    batchSize: cfg.batch_size * LINES_PER_ROW + 1,
    maxBatchBytes: 1 << 30,
    flushInterval: 0,
    maxRetries: 0,
    // Hand the failure to flush()'s caller instead of letting the client log and retry it.
    writeFailed: (error) => Promise.reject(error),
  });
  if (cfg.version === 1) {
    const q = new URLSearchParams({ db: cfg.db ?? '', precision: 'ms' });
    if (cfg.retention_policy !== undefined) q.set('rp', cfg.retention_policy);
    api.path = `/write?${q.toString()}`;
  }
  return api;
}

/** What to do about a failed write, from the error the client gave. */
export function adviceFor(cfg: InfluxOutputConfig, err: unknown): string {
  const status = (err as { statusCode?: unknown }).statusCode;
  if (status === 401 || status === 403)
    return cfg.version === 1
      ? `check username and the password in ${cfg.password_env ?? 'password_env'} (the user needs WRITE on "${cfg.db}")`
      : `check the API token in ${cfg.token_env ?? 'token_env'} (it needs write access to bucket "${cfg.bucket}")`;
  if (status === 404)
    return cfg.version === 1
      ? `create the database: influx -execute 'CREATE DATABASE "${cfg.db}"'`
      : `check that org "${cfg.org ?? ''}" and bucket "${cfg.bucket}" exist`;
  if (typeof status === 'number' && status >= 400 && status < 500)
    return 'the server refused the points; check the output settings and the server log';
  return `check that InfluxDB is running and reachable at ${cfg.url}`;
}

export class InfluxSink {
  readonly name: string;
  private readonly api: WriteApi;
  private readonly streams: StreamReader[];
  private readonly backoff: { min_ms: number; max_ms: number };
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  /** close() was called: nothing new is scheduled. */
  private stopping = false;
  private closing: Promise<void> | undefined;
  /** A poke arrived during a drain: drain again at once instead of after flush_interval. */
  private pokedWhileRunning = false;
  private failures = 0;
  private failingSince = 0;
  private lastError: string | null = null;
  /** Points written since start, for logs and benchmarks. */
  written = 0;
  /** Rows set aside since start. */
  refusedSinceStart = 0;
  readonly refused: RefusedRows;

  constructor(
    private readonly cfg: InfluxOutputConfig,
    private readonly source: SinkSource,
    private readonly log: Logger,
    options: SinkOptions = {},
  ) {
    this.name = sinkName(cfg);
    this.api = createWriteApi(cfg, options.env);
    this.backoff = options.backoff ?? { min_ms: 1000, max_ms: 60_000 };
    this.refused = options.refused ?? new RefusedRows();
    this.streams = [
      {
        stream: 'results',
        read: (a, l) => source.resultsAfter(a, l),
        render: (v) => resultLines(v as never),
      },
      {
        stream: 'link_status',
        read: (a, l) => source.linkStatusAfter(a, l),
        render: (v) => linkStatusLines(v as never),
      },
      {
        stream: 'alert_events',
        read: (a, l) => source.alertEventsAfter(a, l),
        render: (v) => alertEventLines(v as never),
      },
      {
        stream: 'agent_heartbeats',
        read: (a, l) => source.agentHeartbeatsAfter(a, l),
        render: (v) => heartbeatLines(v as never),
      },
    ];
  }

  /** How logs name the output: its name and URL, or the URL-based name alone. */
  private get label(): string {
    return this.cfg.name === undefined ? this.name : `"${this.name}" at ${this.cfg.url}`;
  }

  /** True while writes fail (between the first failure and the next successful drain). */
  get failing(): boolean {
    return this.failures > 0;
  }

  /** For the read API: whether it writes, since when it does not, and what it set aside. */
  status(): OutputJson {
    return {
      name: this.name,
      url: this.cfg.url,
      failing: this.failing,
      failing_since_ms: this.failing ? this.failingSince : null,
      last_error: this.failing ? this.lastError : null,
      points_written: this.written,
      refused_rows: this.refused.total(this.name),
      refused_since_start: this.refusedSinceStart,
      refused_recent: this.refused.recent(this.name, 20).map(({ sink: _, ...r }) => r),
    };
  }

  /**
   * Writes everything the store holds after the cursors, batch by batch, advancing each cursor only
   * after its batch is flushed. Returns the points written; throws on the first failed write.
   */
  async drain(): Promise<number> {
    let points = 0;
    for (const s of this.streams) {
      for (;;) {
        const after = this.source.getCursor(this.name, s.stream);
        const rows = s.read(after, this.cfg.batch_size);
        const last = rows[rows.length - 1];
        if (last === undefined) break;
        const refused: RefusedRow[] = [];
        const setAside = (seq: number, reason: string, lines: string[] | null) =>
          refused.push({
            sink: this.name,
            stream: s.stream,
            seq,
            time_ms: Date.now(),
            reason,
            line: lines === null ? null : lines.join('\n'),
          });
        const writable: RowLines[] = [];
        for (const r of rows) {
          const lines = this.render(s, r.value);
          if (typeof lines === 'string') setAside(r.seq, lines, null);
          else writable.push({ seq: r.seq, lines });
        }
        const n = await writeBisecting(
          writable,
          async (lines) => {
            this.api.writeRecords(lines);
            await this.api.flush();
          },
          (row, reason) => setAside(row.seq, reason, row.lines),
        );
        if (refused.length > 0) this.setAside(s.stream, refused);
        this.source.setCursor(this.name, s.stream, last.seq);
        points += n;
        this.written += n;
        if (rows.length < this.cfg.batch_size) break;
      }
    }
    return points;
  }

  /** The row's lines, or why it cannot be written as line protocol. */
  private render(s: StreamReader, value: unknown): string[] | string {
    try {
      const lines = s.render(value);
      // The client's buffer holds batch_size × LINES_PER_ROW lines: a row must not overflow it.
      if (lines.length > LINES_PER_ROW) return `it renders to ${lines.length} lines (internal error)`;
      return lines;
    } catch (err) {
      if (err instanceof UnwritableRow) return `not written: ${err.message}`;
      return `cannot be written as line protocol (internal error): ${errorText(err)}`;
    }
  }

  /** Keeps refused rows in the store and says so, once per batch, at error level. */
  private setAside(stream: SinkStream, rows: RefusedRow[]): void {
    const added = rows.sort((x, y) => x.seq - y.seq).filter((r) => this.refused.add(r));
    if (added.length === 0) return;
    this.refusedSinceStart += added.length;
    const first = added[0] as RefusedRow;
    this.log.error(
      `InfluxDB output ${this.label} refused ${added.length} row${added.length === 1 ? '' : 's'} of ${stream} ` +
        `(seq ${first.seq}: ${first.reason}). ${added.length === 1 ? 'It is' : 'They are'} set aside in the ` +
        "collector's store and the output goes on with the rows after; GET /api/v1/outputs lists them",
      {
        sink: this.name,
        stream,
        refused: added.length,
        seqs: added.map((r) => r.seq).slice(0, 20),
        refused_total: this.refused.total(this.name),
      },
    );
  }

  /** Drains now and then every flush_interval; after a failure, backs off and retries from the cursor. */
  start(): void {
    if (this.timer || this.running || this.stopping) return;
    this.schedule(0);
  }

  /**
   * Asks for a drain as soon as possible (the collector calls it when new rows are stored). While the
   * output is failing it changes nothing: the backoff decides when to try again.
   */
  poke(): void {
    if (this.stopping || this.failures > 0) return;
    if (this.running) this.pokedWhileRunning = true;
    else this.schedule(0);
  }

  private schedule(delay: number): void {
    if (this.stopping) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.pokedWhileRunning = false;
      this.running = this.tick().finally(() => {
        this.running = undefined;
      });
    }, delay);
    this.timer.unref?.();
  }

  private async tick(): Promise<void> {
    try {
      const n = await this.drain();
      if (this.failures > 0)
        this.log.info(
          `InfluxDB output ${this.label} is writing again after ${Math.round((Date.now() - this.failingSince) / 1000)} s; the points stored meanwhile are being written`,
          { sink: this.name, url: this.cfg.url, points: n, failed_attempts: this.failures },
        );
      this.failures = 0;
      this.schedule(this.pokedWhileRunning ? 0 : this.cfg.flush_interval);
    } catch (err) {
      if (this.failures === 0) this.failingSince = Date.now();
      this.failures++;
      const delay = Math.min(this.backoff.max_ms, this.backoff.min_ms * 2 ** (this.failures - 1));
      const error = errorText(err);
      this.lastError = error;
      // Once per outage at warn; the retries that follow only at debug.
      if (this.failures === 1)
        this.log.warn(
          `InfluxDB output ${this.label} cannot be written (${error}): ${adviceFor(this.cfg, err)}. ` +
            'Nothing is lost: the collector keeps storing, and writes everything from where it stopped once the output takes writes again (retrying with backoff up to ' +
            `${Math.round(this.backoff.max_ms / 1000)} s; this is logged once per outage)`,
          { sink: this.name, url: this.cfg.url, error },
        );
      else
        this.log.debug(`InfluxDB output ${this.name}: still failing, retrying in ${delay} ms`, {
          sink: this.name,
          error,
          attempt: this.failures,
        });
      this.schedule(delay);
    }
  }

  /**
   * Stops the sink. What is stored but not yet written is written first, unless the output is failing
   * (that would only hold up the shutdown); either way the cursors keep the place for the next start.
   */
  close(): Promise<void> {
    this.closing ??= (async () => {
      this.stopping = true;
      if (this.timer) clearTimeout(this.timer);
      this.timer = undefined;
      await this.running;
      if (this.failures === 0) {
        try {
          await this.drain();
        } catch (err) {
          this.log.warn(
            `InfluxDB output ${this.name}: the last write before stopping failed; it is written at the next start`,
            { sink: this.name, error: err instanceof Error ? err.message : String(err) },
          );
        }
      }
      this.api.dispose();
    })();
    return this.closing;
  }
}
