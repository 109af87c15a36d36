// TLS material for tests of wanwatch over HTTPS, made by the real openssl.
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

/**
 * A self-signed certificate for 127.0.0.1 (its subjectAltName), valid for a day, and its unencrypted
 * key, written into `dir` as cert.pem and key.pem; `key`: an EC P-256 or an RSA 2048 key.
 */
export function selfSignedCert(dir: string, key: 'ec' | 'rsa'): { cert: string; key: string } {
  const out = { cert: join(dir, 'cert.pem'), key: join(dir, 'key.pem') };
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      ...(key === 'ec' ? ['ec', '-pkeyopt', 'ec_paramgen_curve:P-256'] : ['rsa:2048']),
      '-nodes',
      '-keyout',
      out.key,
      '-out',
      out.cert,
      '-days',
      '1',
      '-subj',
      '/CN=127.0.0.1',
      '-addext',
      'subjectAltName=IP:127.0.0.1',
    ],
    { stdio: 'ignore' },
  );
  return out;
}
