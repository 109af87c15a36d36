// A disk that fails on purpose, for the spool's tests: a small tmpfs mounted on a temp dir (root only;
// chmod would not stop root), remounted read-only, or filled up. `unmountAll` in afterAll.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const mounted: string[] = [];

/** A fresh temp dir with a tmpfs of `sizeKb` on it. */
export function tmpfs(sizeKb: number, prefix = 'wanwatch-disk-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${sizeKb}k,mode=0755`, 'tmpfs', dir]);
  mounted.push(dir);
  return dir;
}

export function remount(dir: string, mode: 'ro' | 'rw'): void {
  execFileSync('mount', ['-o', `remount,${mode}`, dir]);
}

/**
 * Fills the tmpfs at `dir` until it has no space left; returns the filler file (delete it to free the
 * space). `more`: add to the filler already there, taking up what was freed since (the spool deletes
 * the batches the collector acknowledged, which would otherwise make room for the next ones).
 */
export function fill(dir: string, more = false): string {
  const filler = join(dir, 'filler');
  const chunk = Buffer.alloc(4096);
  let size = 0;
  for (;;) {
    try {
      writeFileSync(filler, chunk, { flag: size === 0 && !more ? 'w' : 'a' });
      size += chunk.length;
    } catch {
      return filler;
    }
  }
}

export function unmountAll(): void {
  for (const dir of mounted.splice(0)) {
    try {
      execFileSync('umount', ['-l', dir]);
    } catch {
      // already gone
    }
    rmSync(dir, { recursive: true, force: true });
  }
}
