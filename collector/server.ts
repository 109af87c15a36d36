// The collector's HTTP(S) server: the listen address, TLS, timeouts, and a JSON error body even for
// requests node:http cannot parse. What each route does is in api/routes.ts and handlers.ts.
import { createServer as createHttpServer, type RequestListener, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { Logger } from '../shared/log.ts';
import {
  clientCertificateOptions,
  loadCertificate,
  TLS_POLICY,
  type TlsFiles,
  watchCertificate,
} from './tls.ts';

export interface ListenAddress {
  host: string;
  port: number;
}

export function parseListen(listen: string): ListenAddress {
  const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d{1,5})$/.exec(listen.trim());
  const port = m ? Number(m[3]) : Number.NaN;
  if (!m || port > 65535) {
    throw new Error(
      `listen address "${listen}" is not HOST:PORT (e.g. 127.0.0.1:8080, [::1]:8080, 0.0.0.0:8080)`,
    );
  }
  return { host: (m[1] ?? m[2]) as string, port };
}

export interface Serving {
  /** Base URL, e.g. http://127.0.0.1:41234 */
  url: string;
  port: number;
  /** Stops listening and drops every open connection. */
  close(): Promise<void>;
}

/**
 * Serves `handler` on `listen` (HTTPS with `tls`, its certificate reloaded until `shutdown`, asking for
 * client certificates with `tls.client_ca`; see tls.ts).
 * `onServerError` runs at the server's first error, which before listening means the address could not
 * be bound; the promise then rejects.
 */
export async function serve(
  handler: RequestListener,
  listen: ListenAddress,
  tls: TlsFiles | undefined,
  onServerError: () => void,
  watch: { log: Logger; shutdown: AbortSignal },
): Promise<Serving> {
  let server: Server;
  if (tls) {
    const https = createHttpsServer(
      { ...loadCertificate(tls), ...TLS_POLICY, ...clientCertificateOptions(tls) },
      handler,
    );
    watchCertificate(
      tls,
      (pair) => https.setSecureContext({ ...pair, ...TLS_POLICY }),
      watch.log,
      watch.shutdown,
    );
    server = https;
  } else {
    server = createHttpServer(handler);
  }
  server.requestTimeout = 60_000;
  server.headersTimeout = 30_000;
  server.on('clientError', (err: NodeJS.ErrnoException, socket) => {
    const tooBig = err.code === 'HPE_HEADER_OVERFLOW';
    const body = JSON.stringify({
      error: tooBig ? 'request headers too large' : `malformed HTTP request: ${err.code ?? err.message}`,
    });
    if (!socket.writable) return socket.destroy();
    socket.end(
      `HTTP/1.1 ${tooBig ? '431 Request Header Fields Too Large' : '400 Bad Request'}\r\n` +
        `content-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => {
      onServerError();
      reject(
        new Error(
          `cannot listen on ${listen.host}:${listen.port}: ${err.code ?? err.message}; choose another with --listen`,
        ),
      );
    });
    server.listen(listen.port, listen.host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const hostInUrl = listen.host.includes(':') ? `[${listen.host}]` : listen.host;
  return {
    url: `${tls ? 'https' : 'http'}://${hostInUrl}:${port}`,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
