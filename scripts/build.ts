// Builds what an installed wanwatch runs: dist/wanwatch.js, an ES module bundled by esbuild from
// cli/main.ts with every dependency inside except the native ones (better-sqlite3, net-ping and its
// raw-socket), which node-gyp builds at install time and Node loads from node_modules; each command's
// code is a chunk beside it (dist/<command>-<hash>.js, dist/chunk-<hash>.js), loaded when that command
// runs. Starting it costs a fraction of compiling the TypeScript with tsx at every start
// (bench/startup.ts). `bin/wanwatch.js` runs it when the package has no TypeScript sources beside it.
//
// A source file that finds a file of the package relative to itself (`new URL('../../package.json',
// import.meta.url)`, the native addon, an asset) would look in the wrong place from dist/; each such
// URL is rewritten to point at the same file from dist/, and the build fails when that file is not in
// package.json's `files` list, so the package never ships code that looks for a file it does not carry.
//
// The web console (`npm run build:console`, scripts/build-console.ts, into dist/console/) is built first,
// so `npm run build` and `npm pack` make the whole package.
// Run: npm run build   (also run by `npm pack` through `prepack`)
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, type Plugin } from 'esbuild';
import { execa } from 'execa';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const OUT_DIR = join(ROOT, 'dist');
const ENTRY = join(ROOT, 'cli', 'main.ts');

/** Packages with compiled addons: loaded at run time from node_modules, never bundled. */
export const EXTERNAL = ['better-sqlite3', 'net-ping', 'raw-socket'];

interface PackageJson {
  files?: string[];
  scripts?: Record<string, string>;
}

const FILE_URL = /new URL\(\s*(['"])(\.{1,2}\/[^'"$]+)\1\s*,\s*import\.meta\.url\s*\)/g;

/** Whether a path of the package (relative to its root, with `/`) is covered by the `files` list. */
export function inFiles(path: string, files: string[]): boolean {
  if (path === 'package.json' || /^(README|LICENSE)(\.|$)/i.test(path)) return true;
  // An addon node-gyp builds at install time: its binding.gyp must be in the package.
  const addon = /^(.*)\/build\/Release\/[^/]+\.node$/.exec(path);
  if (addon) return inFiles(`${addon[1]}/binding.gyp`, files);
  return files.some((f) => {
    const entry = f.replace(/^\.?\//, '').replace(/\/$/, '');
    const glob = new RegExp(`^${entry.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*')}(/|$)`);
    return glob.test(path);
  });
}

/** Rewrites file URLs relative to a source file into URLs relative to the bundle in dist/. */
function packageFileUrls(files: string[], found: Set<string>): Plugin {
  return {
    name: 'package-file-urls',
    setup(b) {
      b.onLoad({ filter: /\.ts$/ }, (args) => {
        if (args.path.includes(`${sep}node_modules${sep}`)) return undefined;
        const text = readFileSync(args.path, 'utf8');
        const errors: { text: string }[] = [];
        const contents = text.replace(FILE_URL, (_m, q: string, spec: string) => {
          const target = relative(ROOT, resolve(dirname(args.path), spec))
            .split(sep)
            .join('/');
          found.add(target);
          if (!inFiles(target, files))
            errors.push({
              text: `${relative(ROOT, args.path)} reads ${target} at run time, which package.json "files" leaves out of the package: add it there`,
            });
          return `new URL(${q}../${target}${q}, import.meta.url)`;
        });
        return { contents, loader: 'ts', errors };
      });
    },
  };
}

export async function buildDist(): Promise<{ files: string[] }> {
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as PackageJson;
  if (pkg.scripts?.['build:console'])
    await execa('npm', ['run', '--silent', 'build:console'], { cwd: ROOT, stdio: 'inherit' });

  // Only this build's own files (the entry and its chunks): dist/console/ is the console build's.
  if (existsSync(OUT_DIR))
    for (const f of readdirSync(OUT_DIR)) if (f.endsWith('.js')) rmSync(join(OUT_DIR, f), { force: true });
  const found = new Set<string>();
  await build({
    entryPoints: { wanwatch: ENTRY },
    outdir: OUT_DIR,
    bundle: true,
    platform: 'node',
    format: 'esm',
    // Each command's module (cli/main.ts imports it when that command runs) becomes a chunk of its own:
    // `wanwatch --version` compiles only what it runs.
    splitting: true,
    // Beside the entry: every file of the bundle sits one folder below the package's root, which the
    // file URLs rewritten below count on.
    chunkNames: '[name]-[hash]',
    target: 'node20.18',
    external: EXTERNAL,
    // Bundled CommonJS dependencies call require() for Node's own modules; an ES module has none.
    banner: {
      js: "import { createRequire as wanwatchRequire } from 'node:module';\nconst require = wanwatchRequire(import.meta.url);",
    },
    plugins: [packageFileUrls(pkg.files ?? [], found)],
    legalComments: 'eof',
    logLevel: 'warning',
  });
  return { files: [...found].sort() };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === resolve(process.argv[1])) {
  const { files } = await buildDist().catch((err: Error & { errors?: unknown[] }) => {
    // esbuild has printed each of its errors with its file and line; anything else is said here.
    if (!err.errors) console.error(`build: ${err.message}`);
    process.exit(1);
  });
  const out = join(OUT_DIR, 'wanwatch.js');
  if (!existsSync(out)) throw new Error(`build: ${out} was not written`);
  console.log(
    `build: ${relative(ROOT, out)}; files it reads from the package: ${files.join(', ') || 'none'}`,
  );
}
