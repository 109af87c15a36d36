// What a running lab leaves on the machine, so that `lab down`, `lab set` (from another process) and the
// next start can find it, and so a crashed run's leftovers can be recognised and removed.
//
//   /run/wanwatch-lab/labs/<name>/state.json   the lab (owner process, slot, namespaces, parameters)
//   /run/wanwatch-lab/labs/<name>/control.sock the relay's control socket
//   /run/wanwatch-lab/slots/<n>                claims address slot n (198.18.n.0/24, 198.19.n.0/24)
//
// A lab is alive while its owner (the relay once started, before that the starting process) runs; the
// owner is recorded with its kernel start time, so a recycled pid is not mistaken for it.
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import type { LabSpec } from './spec.ts';

export const STATE_ROOT = process.env.WANWATCH_LAB_STATE_DIR ?? '/run/wanwatch-lab';
const LABS = join(STATE_ROOT, 'labs');
const SLOTS = join(STATE_ROOT, 'slots');
export const SLOT_COUNT = 256;

export interface ProcessRef {
  pid: number;
  /** Kernel start time (clock ticks after boot), from /proc/<pid>/stat. */
  start: string;
}

export interface LabState {
  name: string;
  slot: number;
  owner: ProcessRef;
  relay?: ProcessRef;
  controlSocket: string;
  /** Current parameters: `lab set` updates them. */
  spec: LabSpec;
  namespaces: string[];
  rootLinks: string[];
}

export function labDir(name: string): string {
  return join(LABS, name);
}

export function processRef(pid: number): ProcessRef | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Field 22 is the start time; the command name (field 2) may hold spaces, so count after its ")".
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (fields[0] === 'Z') return undefined; // exited, not yet reaped
    return { pid, start: fields[19] ?? '' };
  } catch {
    return undefined;
  }
}

export function isAlive(ref: ProcessRef | undefined): boolean {
  if (!ref) return false;
  const now = processRef(ref.pid);
  return now !== undefined && now.start === ref.start;
}

export function readState(name: string): LabState | undefined {
  try {
    return JSON.parse(readFileSync(join(labDir(name), 'state.json'), 'utf8')) as LabState;
  } catch {
    return undefined;
  }
}

export function writeState(state: LabState): void {
  const file = join(labDir(state.name), 'state.json');
  writeFileSync(`${file}.${process.pid}.tmp`, JSON.stringify(state, null, 2));
  // rename is atomic: a reader never sees half a file
  renameSync(`${file}.${process.pid}.tmp`, file);
}

/** Claims the lab's name: false if another lab of that name holds it. */
export function claimName(name: string): boolean {
  mkdirSync(LABS, { recursive: true });
  try {
    mkdirSync(labDir(name));
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  }
}

/** Claims the first free address slot (mkdir is atomic, so two starting labs never share one). */
export function claimSlot(name: string): number {
  mkdirSync(SLOTS, { recursive: true });
  for (let n = 0; n < SLOT_COUNT; n++) {
    try {
      mkdirSync(join(SLOTS, String(n)));
    } catch {
      continue;
    }
    writeFileSync(join(SLOTS, String(n), 'lab'), name);
    return n;
  }
  throw new Error(`all ${SLOT_COUNT} lab address slots are taken (${SLOTS}); run \`npm run lab -- down\``);
}

export function listLabNames(): string[] {
  try {
    return readdirSync(LABS);
  } catch {
    return [];
  }
}

async function namespacesWithPrefix(prefix: string): Promise<string[]> {
  const r = await execa('ip', ['netns', 'list'], { reject: false });
  return r.stdout
    .split('\n')
    .map((l) => l.split(' ')[0] ?? '')
    .filter((n) => n.startsWith(prefix));
}

function kill(ref: ProcessRef | undefined, signal: NodeJS.Signals): void {
  if (!isAlive(ref) || !ref) return;
  try {
    process.kill(ref.pid, signal);
  } catch {}
}

async function waitGone(ref: ProcessRef | undefined, ms: number): Promise<boolean> {
  const until = Date.now() + ms;
  while (isAlive(ref)) {
    if (Date.now() > until) return false;
    await new Promise((r) => setTimeout(r, 20));
  }
  return true;
}

/**
 * Removes everything a lab made: its relay (which takes the TUN devices with it), every process still
 * inside its namespaces, the namespaces, the management links, its slot and its state.
 */
export async function removeLab(name: string, state: LabState | undefined): Promise<void> {
  if (state?.relay) {
    kill(state.relay, 'SIGTERM');
    if (!(await waitGone(state.relay, 1000))) kill(state.relay, 'SIGKILL');
  }
  for (const link of state?.rootLinks ?? []) {
    await execa('ip', ['link', 'del', link], { reject: false });
  }
  const namespaces = new Set([...(state?.namespaces ?? []), ...(await namespacesWithPrefix(`ww-${name}-`))]);
  for (const ns of namespaces) {
    const pids = await execa('ip', ['netns', 'pids', ns], { reject: false });
    for (const pid of pids.stdout.split('\n').filter((p) => /^\d+$/.test(p))) {
      try {
        process.kill(Number(pid), 'SIGKILL');
      } catch {}
    }
    await execa('ip', ['netns', 'del', ns], { reject: false });
  }
  if (state) {
    const slotDir = join(SLOTS, String(state.slot));
    try {
      if (readFileSync(join(slotDir, 'lab'), 'utf8') === name)
        rmSync(slotDir, { recursive: true, force: true });
    } catch {}
  }
  rmSync(labDir(name), { recursive: true, force: true });
}

/**
 * Removes what crashed runs left: every lab whose owner is gone, and slots claimed by no lab for over
 * a minute (a start that died between claiming the slot and writing its state).
 */
export async function removeStaleLabs(): Promise<string[]> {
  const removed: string[] = [];
  for (const name of listLabNames()) {
    const state = readState(name);
    if (state ? isAlive(state.owner) : youngerThan(labDir(name), 60_000)) continue;
    await removeLab(name, state);
    removed.push(name);
  }
  let slots: string[] = [];
  try {
    slots = readdirSync(SLOTS);
  } catch {}
  for (const n of slots) {
    const dir = join(SLOTS, n);
    let owner = '';
    try {
      owner = readFileSync(join(dir, 'lab'), 'utf8');
    } catch {}
    if (readState(owner)?.slot === Number(n) || youngerThan(dir, 60_000)) continue;
    rmSync(dir, { recursive: true, force: true });
  }
  return removed;
}

function youngerThan(path: string, ms: number): boolean {
  try {
    return Date.now() - statSync(path).mtimeMs < ms;
  } catch {
    return false;
  }
}
