import https from 'node:https';
import tls from 'node:tls';
import type { IncomingHttpHeaders } from 'node:http';
import { createGunzip, createInflate, createBrotliDecompress } from 'node:zlib';
import type { Readable } from 'node:stream';
import { OutpostError } from '../../lib/errors/index.js';
import type { Clock } from '../../lib/base/index.js';
import type { MtlsClientOptions } from '../../lib/identity/index.js';
import {
  MANIFEST_MEDIA_TYPE,
  type DeploymentStatus,
  type DeviceCapabilities,
} from '../../lib/model/index.js';
import { STATUS_EVENT_AT_HEADER, STATUS_SENT_AT_HEADER } from '../../lib/mmi/index.js';
import { problemError, problemFrom } from './problem.js';

/**
 * The agent's side of the Margo Management Interface (rc.3): every request over mutual TLS with the
 * node's SVID, the server accepted only when its SVID is exactly the WFM of the node's own trust domain
 * (`mtlsClientOptions` from lib/identity), bodies decoded from gzip/deflate/br so digests are computed over
 * the decoded bytes, sizes capped, problems turned into `agent/mmi-problem` errors carrying type,
 * retryable and Retry-After.
 */

export interface MmiResponse {
  status: number;
  headers: IncomingHttpHeaders;
  /** The decoded body. */
  body: Buffer;
}

export interface MmiRequest {
  headers?: Record<string, string>;
  json?: unknown;
  /** Largest decoded body accepted (default 4 MiB). */
  maxBytes?: number;
  signal?: AbortSignal;
  /**
   * A POST that may be sent twice (a status report: after a network error the outbox sends it again
   * anyway). Such a POST, like
   * every GET, PUT and DELETE, is sent again once on a new connection when a kept one was reset before
   * any answer (ADR 0503).
   */
  repeatable?: boolean;
}

export interface MmiHttpClientOptions {
  /** The MMI base URL (`https://lo:7443` plus any base path). */
  baseUrl: string;
  tls: MtlsClientOptions;
  timeoutMs: number;
  clock: Clock;
  userAgent?: string;
}

export type ManifestResult =
  { kind: 'not-modified' } | { kind: 'manifest'; bytes: Buffer; etag: string | undefined };

export interface MmiClient {
  readonly baseUrl: string;
  /** An absolute URL for a path or URL from a manifest; refuses other origins. */
  resolve(pathOrUrl: string): URL;
  request(method: string, pathOrUrl: string, req?: MmiRequest): Promise<MmiResponse>;
  getManifest(etag: string | undefined, signal?: AbortSignal): Promise<ManifestResult>;
  /** The bytes of a content-addressed resource (YAML or bundle); a non-200 is an error. */
  getContent(url: string, what: string, maxBytes: number, signal?: AbortSignal): Promise<Buffer>;
  putCapabilities(deviceId: string, caps: DeviceCapabilities, signal?: AbortSignal): Promise<number>;
  /** `eventAt`: when the report was made (the outbox time), sent with the send time (ADR 0169). */
  postStatus(status: DeploymentStatus, signal?: AbortSignal, eventAt?: number): Promise<number>;
  close(): void;
}

const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;

export function createMmiClient(o: MmiHttpClientOptions): MmiClient {
  const base = new URL(o.baseUrl.replace(/\/+$/, '') + '/');
  if (base.protocol !== 'https:') {
    throw new OutpostError('invalid-config', `the LO URL ${o.baseUrl} must be https:// (mutual TLS)`);
  }
  // The connection is kept between polls (idle sockets close after 2 minutes, before the LO's 150 s, and
  // the poll period is 30 s by default), and a reconnect resumes the TLS session: a polling node does not
  // pay a handshake per poll (ADR 0540). The LO caps a connection's age; a renewed SVID gets a new client.
  // One secure context for every connection: the key, certificate and anchors are parsed once, not on
  // every handshake.
  const { cert, key, ca, minVersion, ...check } = o.tls;
  const secureContext = tls.createSecureContext({ cert, key, ca, minVersion });
  const agent = new https.Agent({
    ...check,
    secureContext,
    minVersion,
    keepAlive: true,
    maxSockets: 4,
    maxFreeSockets: 1,
    timeout: 120_000,
    maxCachedSessions: 1,
  });
  const origin = base.origin;

  const resolve = (pathOrUrl: string): URL => {
    const rel = pathOrUrl.startsWith('/') ? base.pathname.replace(/\/$/, '') + pathOrUrl : pathOrUrl;
    const u = pathOrUrl.startsWith('/') ? new URL(rel, origin) : new URL(pathOrUrl, base);
    if (u.origin !== origin) {
      throw new OutpostError(
        'agent/invalid-manifest',
        `the LO pointed to another server (${u.origin}); only ${origin} is trusted`,
      );
    }
    return u;
  };

  /** Manifest URLs are absolute paths that already carry the base path (the LO writes them so). */
  const resolveManifestUrl = (pathOrUrl: string): URL => {
    if (!pathOrUrl.startsWith('/')) return resolve(pathOrUrl);
    const u = new URL(pathOrUrl, origin);
    if (u.origin !== origin) throw new OutpostError('agent/invalid-manifest', `bad URL ${pathOrUrl}`);
    return u;
  };

  const request = (
    method: string,
    pathOrUrl: string,
    req: MmiRequest = {},
    manifestUrl = false,
    retried = false,
  ): Promise<MmiResponse> => {
    const url = manifestUrl ? resolveManifestUrl(pathOrUrl) : resolve(pathOrUrl);
    const body = req.json === undefined ? undefined : Buffer.from(JSON.stringify(req.json), 'utf8');
    const headers: Record<string, string> = {
      'user-agent': o.userAgent ?? 'outpost-agent',
      'accept-encoding': 'gzip, deflate, br',
      ...req.headers,
    };
    if (body) {
      headers['content-type'] = 'application/json';
      headers['content-length'] = String(body.length);
    }
    const max = req.maxBytes ?? MAX_MANIFEST_BYTES;
    return new Promise<MmiResponse>((resolvePromise, reject) => {
      const r = https.request(
        {
          method,
          host: url.hostname.replace(/^\[|\]$/g, ''),
          port: url.port || 443,
          path: url.pathname + url.search,
          headers,
          agent,
          signal: req.signal,
        },
        (res) => {
          const enc = String(res.headers['content-encoding'] ?? 'identity')
            .trim()
            .toLowerCase();
          let stream: Readable = res;
          if (enc === 'gzip' || enc === 'x-gzip') stream = res.pipe(createGunzip());
          else if (enc === 'deflate') stream = res.pipe(createInflate());
          else if (enc === 'br') stream = res.pipe(createBrotliDecompress());
          else if (enc !== 'identity' && enc !== '') {
            res.destroy();
            reject(
              new OutpostError(
                'network-error',
                `${method} ${url.pathname}: unsupported Content-Encoding ${enc}`,
              ),
            );
            return;
          }
          const chunks: Buffer[] = [];
          let size = 0;
          stream.on('data', (c: Buffer) => {
            size += c.length;
            if (size > max) {
              res.destroy();
              stream.destroy();
              reject(
                new OutpostError(
                  'payload-too-large',
                  `${method} ${url.pathname}: the response is larger than ${max} bytes`,
                ),
              );
              return;
            }
            chunks.push(c);
          });
          stream.on('error', (e: Error) => reject(networkError(method, url, e)));
          stream.on('end', () =>
            resolvePromise({
              status: res.statusCode ?? 0,
              headers: res.headers,
              body: Buffer.concat(chunks),
            }),
          );
        },
      );
      r.setTimeout(o.timeoutMs, () =>
        r.destroy(new OutpostError('timeout', `${method} ${url.pathname} timed out after ${o.timeoutMs} ms`)),
      );
      r.on('error', (e: NodeJS.ErrnoException) => {
        // A kept connection the LO (or the kernel) closed while the request was on its way: nothing of it
        // was answered, so it is sent once more on a new connection at once, instead of waiting a poll
        // period (the keep-alive race; ADR 0503). Only requests that may be repeated: reads, PUT, and the
        // status reports the outbox would send again anyway.
        const stale =
          !retried &&
          (r as unknown as { reusedSocket?: boolean }).reusedSocket === true &&
          (e.code === 'ECONNRESET' || e.code === 'EPIPE') &&
          (method !== 'POST' || req.repeatable === true) &&
          !req.signal?.aborted;
        if (stale) resolvePromise(request(method, pathOrUrl, req, manifestUrl, true));
        else reject(networkError(method, url, e));
      });
      r.end(body);
    });
  };

  const fail = (what: string, res: MmiResponse): never => {
    throw problemError(what, problemFrom(res.status, res.headers, res.body, o.clock.now()));
  };

  return {
    baseUrl: base.href.replace(/\/$/, ''),
    resolve,
    request: (m, p, r) => request(m, p, r),
    async getManifest(etag, signal) {
      const res = await request('GET', '/api/v1/deployments', {
        headers: { accept: MANIFEST_MEDIA_TYPE, ...(etag ? { 'if-none-match': etag } : {}) },
        maxBytes: MAX_MANIFEST_BYTES,
        signal,
      });
      if (res.status === 304) return { kind: 'not-modified' };
      if (res.status !== 200) return fail('GET /api/v1/deployments', res);
      const tag = res.headers.etag;
      return { kind: 'manifest', bytes: res.body, etag: typeof tag === 'string' ? tag : undefined };
    },
    async getContent(url, what, maxBytes, signal) {
      const res = await request('GET', url, { maxBytes, signal }, true);
      if (res.status !== 200) return fail(`GET ${what}`, res);
      return res.body;
    },
    async putCapabilities(deviceId, caps, signal) {
      const body = {
        properties: caps.properties,
        ...(caps.labels ? { labels: caps.labels } : {}),
        ...(caps.extensions ?? {}),
      };
      const res = await request(
        'PUT',
        `/api/v1/capabilities/${deviceId.split('/').map(encodeURIComponent).join('/')}`,
        {
          json: body,
          signal,
        },
      );
      if (res.status !== 200 && res.status !== 201) return fail(`PUT capabilities of ${deviceId}`, res);
      return res.status;
    },
    async postStatus(status, signal, eventAt) {
      const res = await request(
        'POST',
        `/api/v1/deployments/${encodeURIComponent(status.deploymentId)}/status`,
        {
          json: status,
          signal,
          repeatable: true,
          ...(eventAt !== undefined
            ? {
                headers: {
                  [STATUS_EVENT_AT_HEADER]: String(Math.round(eventAt)),
                  [STATUS_SENT_AT_HEADER]: String(Math.round(o.clock.now())),
                },
              }
            : {}),
        },
      );
      if (res.status !== 200 && res.status !== 201) return fail(`POST status of ${status.deploymentId}`, res);
      return res.status;
    },
    close() {
      agent.destroy();
    },
  };
}

function networkError(method: string, url: URL, e: unknown): OutpostError {
  if (e instanceof OutpostError) return e;
  const err = e as NodeJS.ErrnoException & { code?: string };
  if (err.name === 'AbortError')
    return new OutpostError('cancelled', `${method} ${url.pathname} was cancelled`);
  // checkServerIdentity's error (the WFM's SVID is not the expected one) keeps its identity code.
  const msg = `cannot reach the LO at ${url.origin} (${method} ${url.pathname}): ${err.code ? `${err.code} ` : ''}${err.message}`;
  return new OutpostError('network-error', msg, { cause: e, data: { errno: err.code } });
}
