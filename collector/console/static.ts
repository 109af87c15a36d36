// The web console's files (built from console/ by scripts/build-console.ts), served at / on the API's own
// port and TLS. Everything the page needs is one of these files: it loads nothing from anywhere else, and
// the Content-Security-Policy says so to the browser (no inline script or style, no other origin, no
// framing of the console; its only frames are the collector's own report pages). The page itself needs
// no credential; the API reads it makes do (collector/api/access.ts).
//
// Where the files are: $WANWATCH_CONSOLE_DIR if set; else dist/console/ beside the bundled command
// (an installed package, dist/wanwatch.js) or at the top of the checkout (running from source).
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { extname, join, normalize, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

export const CONSOLE_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "font-src 'self'",
  // The qualification reports the collector serves (collector/api/report.ts), in a sandboxed frame.
  "frame-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.map': 'application/json; charset=utf-8',
};

/** Candidate folders, first match wins. */
export function consoleDirs(env: NodeJS.ProcessEnv = process.env): string[] {
  const here = fileURLToPath(new URL('.', import.meta.url));
  return [
    ...(env.WANWATCH_CONSOLE_DIR ? [env.WANWATCH_CONSOLE_DIR] : []),
    join(here, 'console'),
    join(here, '..', '..', 'dist', 'console'),
  ];
}

export function findConsoleDir(env: NodeJS.ProcessEnv = process.env): string | null {
  return consoleDirs(env).find((d) => existsSync(join(d, 'index.html'))) ?? null;
}

interface File {
  body: Buffer;
  etag: string;
  mtimeMs: number;
}

/** Is this path the console's (and not the API's)? */
export function isConsolePath(path: string): boolean {
  return path === '/' || path === '/index.html' || path.startsWith('/console/');
}

export class ConsoleFiles {
  private readonly files = new Map<string, File>();

  constructor(private readonly dir: () => string | null = () => findConsoleDir()) {}

  /** Answers a GET or HEAD of a console path. */
  serve(req: IncomingMessage, res: ServerResponse, path: string): void {
    const dir = this.dir();
    const security = {
      'content-security-policy': CONSOLE_CSP,
      'x-content-type-options': 'nosniff',
      'referrer-policy': 'no-referrer',
      'x-frame-options': 'DENY',
      'cross-origin-opener-policy': 'same-origin',
      'cross-origin-resource-policy': 'same-origin',
    };
    if (dir === null) {
      const text =
        'The wanwatch console is not built. Run `npm run build:console` in the checkout (an installed package ships it built), or set WANWATCH_CONSOLE_DIR to its folder.\n';
      res.writeHead(503, {
        'content-type': 'text/plain; charset=utf-8',
        'cache-control': 'no-store',
        ...security,
      });
      res.end(req.method === 'HEAD' ? undefined : text);
      return;
    }
    const rel = path === '/' || path === '/index.html' ? 'index.html' : path.slice('/console/'.length);
    const full = normalize(join(dir, rel));
    const type = TYPES[extname(full)];
    const file =
      type !== undefined && full.startsWith(dir.endsWith(sep) ? dir : dir + sep) ? this.read(full) : null;
    if (file === null || type === undefined) {
      res.writeHead(404, {
        'content-type': 'text/plain; charset=utf-8',
        'cache-control': 'no-store',
        ...security,
      });
      res.end(req.method === 'HEAD' ? undefined : `no console file ${path}\n`);
      return;
    }
    // index.html names the other files by their content's hash (scripts/build-console.ts): they never
    // change under one name and may be kept; the page itself is checked every time.
    const immutable = rel !== 'index.html' && /-[A-Z0-9]{8}\./.test(rel);
    const headers = {
      'content-type': type,
      etag: file.etag,
      'cache-control': immutable ? 'public, max-age=31536000, immutable' : 'no-cache',
      ...security,
    };
    if (req.headers['if-none-match'] === file.etag) {
      res.writeHead(304, headers);
      res.end();
      return;
    }
    res.writeHead(200, { ...headers, 'content-length': file.body.length });
    res.end(req.method === 'HEAD' ? undefined : file.body);
  }

  /** The file, read again when it changed on disk (a rebuild while the collector runs). */
  private read(full: string): File | null {
    let mtimeMs: number;
    try {
      const st = statSync(full);
      if (!st.isFile()) return null;
      mtimeMs = st.mtimeMs;
    } catch {
      return null;
    }
    const cached = this.files.get(full);
    if (cached?.mtimeMs === mtimeMs) return cached;
    const body = readFileSync(full);
    const file = {
      body,
      mtimeMs,
      etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"`,
    };
    this.files.set(full, file);
    return file;
  }
}
