import { constants as cryptoConstants } from 'node:crypto';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import type { Logger } from '../../lib/log/index.js';

/**
 * The site registry's listeners (ADR 0421): HTTPS with a server certificate from the site CA on the
 * configured address (client certificates requested, never required: node SVIDs authenticate, tokens
 * work without one), and plain HTTP bound to 127.0.0.1 only, for tools on the LO's own machine.
 */

export interface RegistryTls {
  certPem: string;
  keyPem: string;
  /** Client certificates are requested for these CAs (the site CA). */
  anchorsPem: readonly string[];
}

export interface RegistryListenInput {
  handle: (req: IncomingMessage, res: ServerResponse) => Promise<void>;
  tls: RegistryTls;
  host: string;
  port: number;
  /** Port of the loopback plain-HTTP listener; null: none. */
  loopbackPort: number | null;
  /** URL advertised for the HTTPS listener (a wildcard host is not reachable); default from host and port. */
  publicUrl?: string | undefined;
  logger: Logger;
}

export interface RegistryListeners {
  /** `https://host:port` (or the configured public URL). */
  readonly url: string;
  /** `http://127.0.0.1:port`, or null. */
  readonly loopbackUrl: string | null;
  setTls(tls: RegistryTls): void;
  close(): Promise<void>;
}

function hostForUrl(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}

function tlsContext(tls: RegistryTls) {
  return {
    cert: tls.certPem,
    key: tls.keyPem,
    ca: [...tls.anchorsPem],
    minVersion: 'TLSv1.2' as const,
    secureOptions: cryptoConstants.SSL_OP_NO_TICKET,
  };
}

function listen(server: http.Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

function close(server: http.Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

export async function listenRegistry(input: RegistryListenInput): Promise<RegistryListeners> {
  const log = input.logger;
  const onRequest = (req: IncomingMessage, res: ServerResponse) => {
    input.handle(req, res).catch((err: unknown) => {
      log.error({ err }, 'registry request handler failed');
      res.destroy();
    });
  };
  const secure = https.createServer(
    { ...tlsContext(input.tls), requestCert: true, rejectUnauthorized: false },
    onRequest,
  );
  // Big blobs take long: only the wait for headers is bounded, not the transfer.
  secure.headersTimeout = 30_000;
  secure.requestTimeout = 0;
  secure.on('tlsClientError', (err, socket) =>
    log.debug({ err: err.message, remote: socket.remoteAddress }, 'registry TLS handshake failed'),
  );
  const plain = input.loopbackPort === null ? undefined : http.createServer(onRequest);
  if (plain) {
    plain.headersTimeout = 30_000;
    plain.requestTimeout = 0;
  }
  const port = await listen(secure, input.port, input.host);
  let loopbackPort: number | undefined;
  try {
    if (plain) loopbackPort = await listen(plain, input.loopbackPort!, '127.0.0.1');
  } catch (err) {
    await close(secure);
    throw err;
  }
  const url = input.publicUrl?.replace(/\/+$/, '') ?? `https://${hostForUrl(input.host)}:${port}`;
  const loopbackUrl = loopbackPort === undefined ? null : `http://127.0.0.1:${loopbackPort}`;
  log.info({ url, loopbackUrl }, 'site registry listening');
  return {
    url,
    loopbackUrl,
    setTls(tls) {
      secure.setSecureContext(tlsContext(tls));
    },
    async close() {
      await Promise.all([close(secure), ...(plain ? [close(plain)] : [])]);
    },
  };
}
