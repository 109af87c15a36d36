// The collector's TLS: protocol and cipher policy, and a certificate that can be renewed without a
// restart (re-read on SIGHUP and when the certificate or key file changes, as certbot and ACME clients
// replace them). A renewed pair that cannot be read or does not match is logged and the old one kept.
//
// Policy: TLS 1.2 and 1.3 only; for TLS 1.2 only ECDHE key exchange with AEAD ciphers, so every session
// has forward secrecy (Node's default list still offers plain-RSA suites such as AES128-SHA). TLS 1.3's
// suites are all forward-secret and stay at their defaults.
//
// Client certificates (mTLS, optional): with `client_ca` the server asks every client for a certificate
// and verifies it against that CA, but does not refuse the connection without one, so that readers and
// operators without a certificate still connect; api/access.ts requires agents' requests to carry a
// verified certificate naming their site. The CA is re-read with the certificate.
import { readFileSync, watch } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { createSecureContext, type SecureContextOptions } from 'node:tls';
import type { Logger } from '../shared/log.ts';

export const TLS_MIN_VERSION = 'TLSv1.2';
export const TLS12_CIPHERS = [
  'ECDHE-ECDSA-AES128-GCM-SHA256',
  'ECDHE-RSA-AES128-GCM-SHA256',
  'ECDHE-ECDSA-AES256-GCM-SHA384',
  'ECDHE-RSA-AES256-GCM-SHA384',
  'ECDHE-ECDSA-CHACHA20-POLY1305',
  'ECDHE-RSA-CHACHA20-POLY1305',
].join(':');

export interface TlsFiles {
  /** PEM certificate (chain) and private key. */
  cert: string;
  key: string;
  /** PEM CA whose certificates agents present (mTLS); none: no client certificates are asked for. */
  client_ca?: string | undefined;
}

type Loaded = Pick<SecureContextOptions, 'cert' | 'key' | 'ca'>;

/** Reads the pair (and client CA) and checks they make a usable context; the error names the file that failed. */
export function loadCertificate(files: TlsFiles): Loaded {
  const read = (what: string, path: string) => {
    try {
      return readFileSync(path);
    } catch (err) {
      throw new Error(`cannot read the TLS ${what} ${path}: ${(err as NodeJS.ErrnoException).code ?? err}`);
    }
  };
  const pair = { cert: read('certificate', files.cert), key: read('key', files.key) };
  try {
    createSecureContext(pair);
  } catch (err) {
    throw new Error(
      `the TLS certificate ${files.cert} and key ${files.key} do not make a usable pair: ${(err as Error).message}`,
    );
  }
  if (files.client_ca === undefined) return pair;
  const ca = read('client CA', files.client_ca);
  try {
    createSecureContext({ ca });
  } catch (err) {
    throw new Error(
      `the TLS client CA ${files.client_ca} is not a PEM certificate: ${(err as Error).message}`,
    );
  }
  return { ...pair, ca };
}

/** Server options for client certificates: asked for and verified, never required to connect. */
export const clientCertificateOptions = (files: TlsFiles) =>
  files.client_ca === undefined ? {} : ({ requestCert: true, rejectUnauthorized: false } as const);

/** The policy above, as secure-context options (for the server and for each reloaded certificate). */
export const TLS_POLICY = {
  minVersion: TLS_MIN_VERSION,
  ciphers: TLS12_CIPHERS,
  honorCipherOrder: true,
} as const;

/**
 * Calls `apply` with a freshly read certificate on SIGHUP and when either file changes, until `stop`
 * aborts. Several events for one renewal (write key, write cert) are folded into one reload.
 */
export function watchCertificate(
  files: TlsFiles,
  apply: (pair: Loaded) => void,
  log: Logger,
  stop: AbortSignal,
): void {
  let timer: NodeJS.Timeout | undefined;
  const reload = (why: string) => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      try {
        apply(loadCertificate(files));
        log.info('TLS certificate reloaded', { cert: files.cert, why });
      } catch (err) {
        log.error('kept the previous TLS certificate', { error: (err as Error).message, why });
      }
    }, 200);
  };
  const onHup = () => reload('SIGHUP');
  process.on('SIGHUP', onHup);
  const names = new Set(
    [files.cert, files.key, ...(files.client_ca === undefined ? [] : [files.client_ca])].map((f) =>
      resolve(f),
    ),
  );
  const watchers = [...new Set([...names].map((p) => dirname(p)))].flatMap((dir) => {
    try {
      const w = watch(dir, (_event, name) => {
        if (name !== null && names.has(resolve(dir, name.toString()))) reload('file changed');
      });
      w.on('error', () => w.close());
      return [w];
    } catch (err) {
      log.warn('cannot watch the TLS files; use SIGHUP to reload them', {
        dir,
        error: (err as Error).message,
      });
      return [];
    }
  });
  stop.addEventListener(
    'abort',
    () => {
      clearTimeout(timer);
      process.off('SIGHUP', onHup);
      for (const w of watchers) w.close();
    },
    { once: true },
  );
}
