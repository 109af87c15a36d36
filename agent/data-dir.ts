// The agent's data directory (--data-dir): its disk spool (spool/) and its iperf3 server's pid file
// (iperf3.pid) live there. It is checked at start: an agent that cannot write there would lose every
// result the collector has not acknowledged, so it refuses to start, saying what is wrong.
import { randomUUID } from 'node:crypto';
import { constants } from 'node:fs';
import { access, mkdir, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';

/** The data directory cannot be created or written: the agent does not start (the CLI exits 2). */
export class DataDirError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DataDirError';
  }
}

export const spoolDir = (dataDir: string) => join(dataDir, 'spool');
export const iperf3PidFile = (dataDir: string) => join(dataDir, 'iperf3.pid');

/** Creates `<dataDir>/spool` if needed and writes a file there; a DataDirError saying why when it cannot. */
export async function checkDataDir(dataDir: string): Promise<void> {
  const dir = spoolDir(dataDir);
  // Named like the spool's temporary files, so a crash right here leaves nothing the spool keeps.
  const probe = join(dir, `.tmp-check-${randomUUID()}`);
  try {
    await mkdir(dir, { recursive: true }).catch(async (err: unknown) => {
      // A recursive mkdir on a read-only disk says ENOENT; the parent that exists says why.
      throw (await whyNotWritable(dir)) ?? err;
    });
    await writeFile(probe, 'wanwatch agent: checking that the data directory is writable\n');
    await rm(probe, { force: true });
  } catch (err) {
    await rm(probe, { force: true }).catch(() => undefined);
    throw dataDirError(dataDir, err);
  }
}

/** The error that writing into the nearest existing ancestor of `path` meets, if any. */
async function whyNotWritable(path: string): Promise<unknown> {
  let dir = resolve(path);
  while (
    !(await stat(dir).then(
      () => true,
      () => false,
    ))
  ) {
    if (dirname(dir) === dir) return undefined;
    dir = dirname(dir);
  }
  return access(dir, constants.W_OK).then(
    () => undefined,
    (err: unknown) => err,
  );
}

export function dataDirError(dataDir: string, err: unknown): DataDirError {
  const why = err instanceof Error ? err.message : String(err);
  return new DataDirError(
    `cannot write the data directory ${resolve(dataDir)} (${why}). The agent keeps its spool of results ` +
      'not yet acknowledged by the collector there: give --data-dir a directory that the user running the ' +
      'agent can write, on a disk with free space.',
  );
}
