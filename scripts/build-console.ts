// Builds the web console (console/) into dist/console/ with esbuild: one JavaScript file and one
// stylesheet, each named by its content's hash so the collector can let browsers keep them
// (collector/console/static.ts), index.html naming them, and the icon. Run: npm run build:console.
// Tests that open the console build it first (test/console/console.ts); the package ships it built.
import { createHash } from 'node:crypto';
import {
  copyFileSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
export const CONSOLE_OUT = join(ROOT, 'dist', 'console');

export async function buildConsole(out = CONSOLE_OUT): Promise<{ js: string; css: string; bytes: number }> {
  // Built in place: new assets get new names (their content's hash), index.html is replaced at once
  // (rename), and the previous build's assets are removed a minute later, so a collector serving the
  // folder (or a test, or a second build) never sees it half written.
  mkdirSync(out, { recursive: true });
  const result = await build({
    entryPoints: [join(ROOT, 'console', 'main.ts')],
    bundle: true,
    format: 'esm',
    target: ['chrome110', 'firefox110', 'safari16'],
    minify: true,
    sourcemap: 'linked',
    outdir: out,
    entryNames: 'console-[hash]',
    legalComments: 'linked',
    metafile: true,
    logLevel: 'warning',
  });
  const outputs = Object.keys(result.metafile.outputs).map((p) => basename(p));
  const js = outputs.find((f) => f.endsWith('.js'));
  const css = outputs.find((f) => f.endsWith('.css'));
  if (!js || !css) throw new Error(`esbuild wrote ${outputs.join(', ')}: expected one .js and one .css`);
  const html = readFileSync(join(ROOT, 'console', 'index.html'), 'utf8')
    .replace('%JS%', js)
    .replace('%CSS%', css);
  copyFileSync(join(ROOT, 'console', 'favicon.svg'), join(out, 'favicon.svg'));
  const tmp = join(out, `.index.html.${process.pid}`);
  writeFileSync(tmp, html);
  renameSync(tmp, join(out, 'index.html'));
  const keep = new Set(outputs);
  const old = Date.now() - 60_000;
  for (const f of readdirSync(out)) {
    if (!/^console-/.test(f) || keep.has(f)) continue;
    if (statSync(join(out, f)).mtimeMs < old) rmSync(join(out, f), { force: true });
  }
  const bytes = [js, css].reduce((n, f) => n + readFileSync(join(out, f)).length, 0);
  writeFileSync(join(out, 'sources.sha256'), consoleSourceDigest());
  return { js, css, bytes };
}

/** Builds unless dist/console/ was built from the console's sources as they are now. */
export async function ensureConsoleBuilt(out = CONSOLE_OUT): Promise<void> {
  let built = '';
  try {
    built = readFileSync(join(out, 'sources.sha256'), 'utf8');
  } catch {}
  if (built !== consoleSourceDigest()) await buildConsole(out);
}

/** A digest of every console source, so tests rebuild only when something changed. */
export function consoleSourceDigest(): string {
  const h = createHash('sha256');
  const walk = (dir: string) => {
    for (const name of readdirSync(dir).sort()) {
      const p = join(dir, name);
      if (name.includes('.')) h.update(name).update(readFileSync(p));
      else walk(p);
    }
  };
  walk(join(ROOT, 'console'));
  return h.digest('hex');
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const r = await buildConsole();
  console.log(
    `console built into ${CONSOLE_OUT}: ${r.js}, ${r.css} (${Math.round(r.bytes / 1024)} KB before compression)`,
  );
}
