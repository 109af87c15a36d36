// How agents and the CLI reach a collector over HTTPS that is not signed by a public CA: `--ca FILE`
// (or WANWATCH_CA) adds a private CA to the ones Node trusts, and `--tls-cert/--tls-key` present a
// client certificate for collectors that check one (mTLS). The result is a fetch for shared/http.ts.
//
// Why undici: Node's global fetch takes no CA or client certificate, and the alternative, the process-
// wide NODE_EXTRA_CA_CERTS, must be set before Node starts. undici is the library behind Node's fetch;
// its own fetch with an Agent carries the TLS options per client.
import { readFileSync } from 'node:fs';
import { rootCertificates } from 'node:tls';
import type { Agent } from 'undici';

export interface ClientTlsFiles {
  /** PEM file of the CA (or the self-signed certificate) that signed the collector's certificate. */
  ca?: string;
  /** PEM client certificate and key, for a collector that checks agents' certificates. */
  cert?: string;
  key?: string;
}

/** The files from the options, with WANWATCH_CA as the default CA. */
export function clientTlsFiles(
  opts: { ca?: string; tlsCert?: string; tlsKey?: string },
  env: NodeJS.ProcessEnv,
): ClientTlsFiles {
  const ca = opts.ca ?? (env.WANWATCH_CA || undefined);
  return {
    ...(ca === undefined ? {} : { ca }),
    ...(opts.tlsCert === undefined ? {} : { cert: opts.tlsCert }),
    ...(opts.tlsKey === undefined ? {} : { key: opts.tlsKey }),
  };
}

function readPem(what: string, path: string, option: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    throw new Error(
      `cannot read the ${what} ${path} (${option}): ${(err as NodeJS.ErrnoException).code ?? err}`,
    );
  }
}

/**
 * A fetch that trusts `files.ca` as well as the public CAs and presents the client certificate, or
 * undefined when no TLS option is set (the caller then uses the global fetch). Throws, naming the file
 * and the option, when a file cannot be read or the certificate and key are given apart.
 */
export function tlsFetch(files: ClientTlsFiles): typeof fetch | undefined {
  if (files.ca === undefined && files.cert === undefined && files.key === undefined) return undefined;
  if ((files.cert === undefined) !== (files.key === undefined)) {
    throw new Error(
      '--tls-cert and --tls-key go together: give both to present a client certificate, or neither',
    );
  }
  const ca =
    files.ca === undefined ? undefined : [...rootCertificates, readPem('CA certificate', files.ca, '--ca')];
  const cert = files.cert === undefined ? undefined : readPem('client certificate', files.cert, '--tls-cert');
  const key = files.key === undefined ? undefined : readPem('client key', files.key, '--tls-key');
  const connect = { ...(ca ? { ca } : {}), ...(cert ? { cert } : {}), ...(key ? { key } : {}) };
  // undici is loaded at the first request, not when wanwatch starts: most runs set no TLS option, and
  // it is a twentieth of an agent's memory.
  let client: Promise<{ fetch: typeof import('undici').fetch; dispatcher: Agent }> | undefined;
  // undici's Response and RequestInit are the classes Node's own fetch is built from; only their
  // TypeScript declarations differ, hence the casts at this one seam.
  return (async (input: string | URL, init?: RequestInit) => {
    client ??= import('undici').then((u) => ({ fetch: u.fetch, dispatcher: new u.Agent({ connect }) }));
    const { fetch, dispatcher } = await client;
    return fetch(input, { ...(init as object), dispatcher });
  }) as unknown as typeof fetch;
}
