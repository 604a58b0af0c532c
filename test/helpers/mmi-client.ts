import type { IncomingHttpHeaders } from 'node:http';
import https from 'node:https';
import type { ConnectionOptions, TLSSocket } from 'node:tls';
import { brotliDecompressSync, gunzipSync, inflateSync } from 'node:zlib';
import { mtlsClientOptions, PinnedCaAgent } from '../../lib/identity/index.js';

/**
 * A tiny Margo MMI client for tests (the MMI conformance suite, the agent's tests): node:https presenting
 * an X.509-SVID, returning the body both as received on the wire and decoded (so digests can be checked
 * against the exact decoded bytes, with or without gzip on the wire), plus which TLS connection carried the
 * request (to prove keep-alive behaviour).
 *
 *   const c = createMmiClient({ baseUrl, certPem, keyPem, anchorsPem: [ca.certPem] });
 *   const r = await c.get('/api/v1/deployments');  r.status, r.headers.etag, r.json()
 *   c.close();
 */

export type ServerCheck =
  /** The server chain must end in `anchorsPem` and its SVID must be this client's WFM (derived from certPem). */
  | 'spiffe'
  /** Only the chain against `anchorsPem` (use with certificates that are not proper client SVIDs). */
  | 'chain'
  /** Enrollment: trust the server by the site CA's fingerprint (ADR 0142); no client certificate. */
  | { pinnedCaFingerprint: string }
  /** No check at all. */
  | 'none';

export interface MmiClientOptions {
  /** Base URL of the MMI (`https://127.0.0.1:<port>` plus any base path); request paths are appended. */
  baseUrl: string;
  /** Client certificate (leaf first) and key; omit both to connect without a client certificate. */
  certPem?: string;
  keyPem?: string;
  /** Anchors for the server's chain (not needed for 'none' and pinned checks). */
  anchorsPem?: readonly string[];
  /** Default 'spiffe' when a certificate is given, else 'chain'. */
  serverCheck?: ServerCheck;
  /** Reuse one connection across requests (default false: a fresh handshake per request). */
  keepAlive?: boolean;
  /** Extra TLS options (e.g. `maxVersion`). */
  tls?: ConnectionOptions;
  /** Per-request timeout; default 10 s. */
  timeoutMs?: number;
}

export interface MmiReply {
  status: number;
  headers: IncomingHttpHeaders;
  /** The body exactly as received (still content-encoded). */
  wire: Buffer;
  /** The body after removing Content-Encoding (gzip, deflate, br). */
  body: Buffer;
  text(): string;
  json<T = Record<string, unknown>>(): T;
  /** Local port of the TCP connection that carried the request: equal ports mean the same connection. */
  connection: number;
  tlsProtocol: string | null;
}

export interface MmiRequestOptions {
  headers?: Record<string, string>;
  /** Raw body, or a value sent as JSON (with `content-type: application/json` unless given). */
  body?: Buffer | string;
  json?: unknown;
}

export interface MmiTestClient {
  request(method: string, path: string, options?: MmiRequestOptions): Promise<MmiReply>;
  get(path: string, headers?: Record<string, string>): Promise<MmiReply>;
  put(path: string, json: unknown, headers?: Record<string, string>): Promise<MmiReply>;
  post(path: string, json: unknown, headers?: Record<string, string>): Promise<MmiReply>;
  delete(path: string, headers?: Record<string, string>): Promise<MmiReply>;
  /** Destroys the agent and its sockets. */
  close(): void;
}

function decode(wire: Buffer, encoding: string | undefined): Buffer {
  switch ((encoding ?? 'identity').trim().toLowerCase()) {
    case 'identity':
    case '':
      return wire;
    case 'gzip':
    case 'x-gzip':
      return gunzipSync(wire);
    case 'deflate':
      return inflateSync(wire);
    case 'br':
      return brotliDecompressSync(wire);
    default:
      throw new Error(`unsupported Content-Encoding ${encoding}`);
  }
}

function agentFor(options: MmiClientOptions): https.Agent {
  const keepAlive = options.keepAlive ?? false;
  const common = { keepAlive, maxSockets: keepAlive ? 1 : Infinity, maxCachedSessions: 0, ...options.tls };
  const check = options.serverCheck ?? (options.certPem ? 'spiffe' : 'chain');
  if (typeof check === 'object') {
    return new PinnedCaAgent({ fingerprint: check.pinnedCaFingerprint });
  }
  const own = options.certPem && options.keyPem ? { cert: options.certPem, key: options.keyPem } : {};
  if (check === 'spiffe') {
    if (!options.certPem || !options.keyPem) throw new Error("serverCheck 'spiffe' needs certPem and keyPem");
    const tls = mtlsClientOptions({
      certPem: options.certPem,
      keyPem: options.keyPem,
      anchorsPem: options.anchorsPem ?? [],
    });
    return new https.Agent({ ...common, ...tls });
  }
  if (check === 'chain') {
    return new https.Agent({
      ...common,
      ...own,
      ca: [...(options.anchorsPem ?? [])],
      checkServerIdentity: () => undefined,
    });
  }
  return new https.Agent({ ...common, ...own, rejectUnauthorized: false });
}

export function createMmiClient(options: MmiClientOptions): MmiTestClient {
  const agent = agentFor(options);
  const base = options.baseUrl.replace(/\/+$/, '');
  const timeoutMs = options.timeoutMs ?? 10_000;

  function request(method: string, path: string, opts: MmiRequestOptions = {}): Promise<MmiReply> {
    const url = new URL(/^https:\/\//.test(path) ? path : base + path);
    const headers: Record<string, string> = { ...opts.headers };
    let body: Buffer | undefined;
    if (opts.json !== undefined) {
      body = Buffer.from(JSON.stringify(opts.json), 'utf8');
      if (!Object.keys(headers).some((h) => h.toLowerCase() === 'content-type')) {
        headers['content-type'] = 'application/json';
      }
    } else if (opts.body !== undefined) {
      body = Buffer.isBuffer(opts.body) ? opts.body : Buffer.from(opts.body, 'utf8');
    }
    if (body !== undefined) headers['content-length'] = String(body.length);
    return new Promise((resolve, reject) => {
      const req = https.request(
        {
          method,
          host: url.hostname.replace(/^\[|\]$/g, ''),
          port: url.port,
          path: url.pathname + url.search,
          headers,
          agent,
        },
        (res) => {
          const chunks: Buffer[] = [];
          const socket = res.socket as TLSSocket;
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('error', reject);
          res.on('end', () => {
            const wire = Buffer.concat(chunks);
            let decoded: Buffer;
            try {
              decoded = decode(wire, res.headers['content-encoding']);
            } catch (err) {
              reject(err as Error);
              return;
            }
            resolve({
              status: res.statusCode ?? 0,
              headers: res.headers,
              wire,
              body: decoded,
              text: () => decoded.toString('utf8'),
              json: <T>() => JSON.parse(decoded.toString('utf8')) as T,
              connection: socket.localPort ?? -1,
              tlsProtocol: socket.getProtocol?.() ?? null,
            });
          });
        },
      );
      req.setTimeout(timeoutMs, () => req.destroy(new Error(`${method} ${url.pathname} timed out`)));
      req.on('error', reject);
      req.end(body);
    });
  }

  return {
    request,
    get: (path, headers) => request('GET', path, { headers }),
    put: (path, json, headers) => request('PUT', path, { json, headers }),
    post: (path, json, headers) => request('POST', path, { json, headers }),
    delete: (path, headers) => request('DELETE', path, { headers }),
    close: () => agent.destroy(),
  };
}
