// The agent's data directory (--data-dir): its disk spool (spool/) and its iperf3 server's pid file
// (iperf3.pid) live there. It is checked at start: an agent that cannot write there would lose every
// result the collector has not acknowledged, so it refuses to start, saying what is wrong. That
// includes a directory an earlier run as another user (root, typically) left behind: its files are
// named, with the chown that gives them to this user, instead of an EACCES halfway through the spool.
//
// The default follows where a service keeps its state: systemd's $STATE_DIRECTORY (StateDirectory=
// in deploy/systemd/wanwatch-agent@.service), else /var/lib/wanwatch/agent-<site> for root, else the
// user's XDG state directory (~/.local/state/wanwatch/agent-<site>). Never the working directory.
import { randomUUID } from 'node:crypto';
import { constants, readFileSync } from 'node:fs';
import { access, mkdir, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { homedir, userInfo } from 'node:os';
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

/** Where the agent of `site` keeps its data when --data-dir (WANWATCH_DATA_DIR) is not given. */
export function defaultDataDir(
  site: string,
  env: NodeJS.ProcessEnv = process.env,
  uid: number | undefined = process.getuid?.(),
  home: () => string = homedir,
): string {
  // systemd sets a colon-separated list when a unit has several StateDirectory= entries.
  const state = env.STATE_DIRECTORY?.split(':')[0];
  if (state) return state;
  if (uid === 0) return `/var/lib/wanwatch/agent-${site}`;
  const xdg = env.XDG_STATE_HOME;
  return join(xdg?.startsWith('/') ? xdg : join(home(), '.local', 'state'), 'wanwatch', `agent-${site}`);
}

/** The rule of defaultDataDir in words, for --help, with what it is for this user here. */
export function defaultDataDirHelp(): string {
  return (
    '$STATE_DIRECTORY under systemd, else /var/lib/wanwatch/agent-<site> for root, else ' +
    `~/.local/state/wanwatch/agent-<site> ($XDG_STATE_HOME for ~/.local/state); here: ${defaultDataDir('<site>')}`
  );
}

/** Creates `<dataDir>/spool` if needed and writes a file there; a DataDirError saying why when it cannot. */
export async function checkDataDir(dataDir: string): Promise<void> {
  const dir = spoolDir(dataDir);
  const foreign = await firstForeignEntry(dataDir);
  if (foreign !== undefined) throw foreignError(dataDir, foreign);
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

interface Foreign {
  path: string;
  uid: number;
  gid: number;
  why: string;
}

/**
 * The first entry of the data directory, its spool directory or the spool's files that this user
 * cannot use as the agent does (directories: enter and write; files: read and write), with its owner.
 * Root passes every check; a directory that does not exist yet is the probe's business.
 */
async function firstForeignEntry(dataDir: string): Promise<Foreign | undefined> {
  const check = async (path: string, isDir: boolean): Promise<Foreign | undefined> => {
    const mode = isDir ? constants.W_OK | constants.X_OK : constants.R_OK | constants.W_OK;
    const denied = await access(path, mode).then(
      () => undefined,
      (err: NodeJS.ErrnoException) => (err.code === 'EACCES' || err.code === 'EPERM' ? err : undefined),
    );
    if (denied === undefined) return undefined;
    const st = await stat(path);
    return {
      path,
      uid: st.uid,
      gid: st.gid,
      why: isDir ? 'cannot write into it' : 'cannot read and write it',
    };
  };
  const walk = async (dir: string, depth: number): Promise<Foreign | undefined> => {
    const here = await check(dir, true);
    if (here !== undefined) return here;
    const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
    for (const e of entries) {
      const path = join(dir, e.name);
      const found = e.isDirectory()
        ? depth > 0 && e.name === 'spool'
          ? await walk(path, 0)
          : await check(path, true)
        : e.isFile()
          ? await check(path, false)
          : undefined;
      if (found !== undefined) return found;
    }
    return undefined;
  };
  const exists = await stat(dataDir).then(
    (st) => st.isDirectory(),
    () => false,
  );
  return exists ? walk(resolve(dataDir), 1) : undefined;
}

function foreignError(dataDir: string, f: Foreign): DataDirError {
  const me = currentUser();
  const dir = resolve(dataDir);
  const owner = userName(f.uid) ?? `uid ${f.uid}`;
  const what = f.path === dir ? `is owned by ${owner}` : `holds ${f.path}, owned by ${owner},`;
  const chown = me.name === undefined ? `${me.uid}:${me.gid}` : `${me.name}:`;
  return new DataDirError(
    `the data directory ${dir} ${what} and this agent (running as ${me.name ?? `uid ${me.uid}`}) ${f.why}: ` +
      `probably left by an earlier run as another user. Give the directory to this user with \`sudo chown -R ` +
      `${chown} ${dir}\` (the spool’s results are kept and sent at the next start), or give --data-dir another ` +
      'directory. Under systemd, StateDirectory= does that chown at start when the directory itself is another user’s.',
  );
}

function currentUser(): { uid: number; gid: number; name: string | undefined } {
  const uid = process.getuid?.() ?? -1;
  const gid = process.getgid?.() ?? -1;
  try {
    return { uid, gid, name: userInfo().username };
  } catch {
    // A uid with no passwd entry (a container, DynamicUser=): numbers only.
    return { uid, gid, name: undefined };
  }
}

/** The name of `uid` from /etc/passwd, if it has one. */
function userName(uid: number): string | undefined {
  try {
    for (const line of readFileSync('/etc/passwd', 'utf8').split('\n')) {
      const [name, , id] = line.split(':');
      if (id !== undefined && Number(id) === uid) return name;
    }
  } catch {
    // no passwd file: the number says it
  }
  return undefined;
}
