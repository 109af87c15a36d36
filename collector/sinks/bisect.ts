// Finding the rows InfluxDB refuses. A write request is all or nothing to the sink: InfluxDB answers one
// status for the batch, even when it wrote every point but one ("partial write"). So when it refuses a
// batch (400, 413, 422), the batch is halved and each half written again, down to single rows; a single
// row it still refuses is refused for good and set aside by the caller. Points written twice on the way
// are the same series and time, so InfluxDB overwrites them. Any other failure (no answer, 5xx, 401) is
// not about the rows: it is thrown, and the sink retries the whole batch later.

/** One stored row as line protocol. */
export interface RowLines {
  seq: number;
  lines: string[];
}

/** InfluxDB's statuses for "these points cannot be written", as opposed to "not now" or "not you". */
const REFUSED_STATUSES = new Set([400, 413, 422]);

/** The status of a refusal of the points themselves, or undefined for any other failure. */
export function refusalStatus(err: unknown): number | undefined {
  const status = (err as { statusCode?: unknown } | null)?.statusCode;
  return typeof status === 'number' && REFUSED_STATUSES.has(status) ? status : undefined;
}

/** What InfluxDB said (its JSON `error` or `message` when it sent one), on one line, not too long. */
export function errorText(err: unknown): string {
  const json = (err as { json?: { error?: unknown; message?: unknown } } | null)?.json;
  const said = typeof json?.error === 'string' ? json.error : json?.message;
  const raw = typeof said === 'string' ? said : err instanceof Error ? err.message : String(err);
  const text = raw.replace(/\s+/g, ' ').trim();
  return text.length > 500 ? `${text.slice(0, 500)}…` : text;
}

/**
 * Writes the rows, bisecting a refused batch; calls `refused` for each row refused on its own, with
 * InfluxDB's reason. Returns the points written. Throws what `write` throws for anything but a refusal.
 */
export async function writeBisecting(
  rows: readonly RowLines[],
  write: (lines: string[]) => Promise<void>,
  refused: (row: RowLines, reason: string) => void,
): Promise<number> {
  if (rows.length === 0) return 0;
  const lines = rows.flatMap((r) => r.lines);
  try {
    await write(lines);
    return lines.length;
  } catch (err) {
    const status = refusalStatus(err);
    if (status === undefined) throw err;
    if (rows.length === 1) {
      refused(rows[0] as RowLines, `InfluxDB answered ${status}: ${errorText(err)}`);
      return 0;
    }
  }
  const half = Math.ceil(rows.length / 2);
  const first = await writeBisecting(rows.slice(0, half), write, refused);
  return first + (await writeBisecting(rows.slice(half), write, refused));
}
