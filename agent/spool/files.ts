// The spool's file operations: an atomic write that leaves no partial file behind, reading a batch file.
import { randomUUID } from 'node:crypto';
import { closeSync, fsyncSync, openSync } from 'node:fs';
import { type FileHandle, open, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { type ResultBatch, resultBatchSchema } from '../../shared/wire.ts';

/**
 * Writes `file` through a temporary name in `dir` (fsynced, then renamed over it), so a reader sees the
 * old file or the complete new one. On failure (a full disk, a read-only remount mid-write) the temporary
 * file is removed; if even that is refused, `leftover` gets its name to remove later. Throws the failure.
 */
export async function writeAtomic(
  dir: string,
  file: string,
  text: string,
  leftover: (tmp: string) => void,
): Promise<void> {
  const tmp = join(dir, `.tmp-${randomUUID()}`);
  let fh: FileHandle | undefined;
  try {
    fh = await open(tmp, 'w');
    await fh.writeFile(text);
    await fh.sync();
    await fh.close();
    fh = undefined;
    await rename(tmp, file);
  } catch (err) {
    await fh?.close().catch(() => undefined);
    await rm(tmp, { force: true }).catch(() => leftover(tmp));
    throw err;
  }
  syncDir(dir);
}

export async function readBatch(file: string): Promise<ResultBatch | undefined> {
  try {
    const parsed = resultBatchSchema.safeParse(JSON.parse(await readFile(file, 'utf8')));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

/** Makes a rename durable (the directory entry); cheap, and a no-op where directories cannot be opened. */
function syncDir(dir: string): void {
  try {
    const fd = openSync(dir, 'r');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch {
    // not supported on this platform: the rename is still atomic
  }
}
