import tls from 'node:tls';
import type { Readable } from 'node:stream';
import type * as Undici from 'undici';
import type { Agent, RequestInit, Response } from 'undici';

// undici is loaded on the first request, not at import: an idle edge agent that has nothing to pull does not
// pay its ~8 MiB of resident memory.
let undiciModule: Promise<typeof Undici> | undefined;
const loadUndici = () => (undiciModule ??= import('undici'));
import { networkError, ociError } from './errors.js';
import { isLoopbackHost } from './reference.js';

/** A fetch-shaped function (undici's `fetch`, or the global one); tests or hosts may pass their own. */
export type FetchLike = (url: string, init: RequestInit) => Promise<Response>;

export interface TransportOptions {
  /** Speak plain HTTP to these registries (all when `true`). Non-loopback hosts also need `forcePlainHttp`. */
  plainHttp?: boolean | ((host: string) => boolean);
  /** Allow plain HTTP to hosts that are not loopback. Credentials and content then travel unencrypted. */
  forcePlainHttp?: boolean;
  /** PEM of a private CA (one or more certificates), trusted in addition to the system roots. */
  ca?: string;
  /** A TLS client certificate (PEM, leaf first) and its key, presented when a registry asks (the site registry: a node SVID). */
  clientCertificate?: { certPem: string; keyPem: string };
  /** Connect timeout, time to response headers, and the longest pause between body chunks. Default 30 s. */
  timeoutMs?: number;
  userAgent?: string;
  /** Replaces the HTTP stack (then `ca` and `timeoutMs` are the caller's business). */
  fetch?: FetchLike;
  /**
   * The HTTP stack: undici (the default) or node:http/https, which a long-lived process that pulls now
   * and then prefers (no undici and WebAssembly parser kept in memory; the edge agent, ADR 0543).
   */
  http?: 'undici' | 'node';
}

export type RequestBody = Readable | Uint8Array | string;

export interface TransportRequest {
  method: 'GET' | 'HEAD' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  url: string;
  headers?: Record<string, string>;
  /** Called for every attempt (a 401 retry or a redirect needs a fresh body). */
  body?: () => RequestBody;
  signal?: AbortSignal;
  /** Names the operation in error messages, e.g. the reference. */
  what: string;
}

/** The part of an HTTP response the client uses, whichever HTTP stack produced it. */
export interface HttpResponse {
  readonly status: number;
  readonly ok: boolean;
  readonly headers: { get(name: string): string | null };
  /** The body, to be iterated once. */
  readonly body: AsyncIterable<Uint8Array>;
  /** Drops the rest of the body. */
  discard(): Promise<void>;
}

export interface Transport {
  /** `https://host:port` or, when allowed, `http://host:port`; throws `oci/plain-http-refused`. */
  baseUrl(registry: string, what?: string): string;
  /** Whether a URL may be contacted (https always; http only under the plain-HTTP rules). */
  checkUrl(url: string, what: string): void;
  send(req: TransportRequest): Promise<HttpResponse>;
  close(): Promise<void>;
}

type Sender = (
  url: string,
  init: { method: string; headers: Record<string, string>; body?: RequestBody; signal?: AbortSignal },
) => Promise<HttpResponse>;

const EMPTY: AsyncIterable<Uint8Array> = { async *[Symbol.asyncIterator]() {} };

/** Adapts a fetch-shaped function (manual redirects, streamed request bodies). */
function fetchSender(fetchImpl: FetchLike): Sender {
  return async (url, init) => {
    const r = await fetchImpl(url, {
      method: init.method,
      headers: init.headers,
      redirect: 'manual',
      signal: init.signal,
      ...(init.body === undefined ? {} : { body: init.body as RequestInit['body'], duplex: 'half' }),
    } as RequestInit);
    const body = (r.body as AsyncIterable<Uint8Array> | null) ?? EMPTY;
    return {
      status: r.status,
      ok: r.ok,
      headers: r.headers,
      body,
      discard: async () => {
        try {
          await r.body?.cancel();
        } catch {
          // already consumed or broken
        }
      },
    };
  };
}

/** undici's `request` on a private Agent: no fetch-spec port blocking, no web-stream overhead. */
function undiciSender(getAgent: () => Promise<Agent>): Sender {
  return async (url, init) => {
    const { request } = await loadUndici();
    const r = await request(url, {
      method: init.method as 'GET',
      headers: init.headers,
      body: init.body,
      signal: init.signal,
      dispatcher: await getAgent(),
    });
    const headers = r.headers;
    return {
      status: r.statusCode,
      ok: r.statusCode >= 200 && r.statusCode < 300,
      headers: {
        get(name) {
          const v = headers[name.toLowerCase()];
          return v === undefined ? null : Array.isArray(v) ? v.join(', ') : String(v);
        },
      },
      body: r.body,
      discard: async () => {
        try {
          await r.body.dump({ limit: 64 * 1024 });
        } catch {
          // the connection is closed instead
        }
      },
    };
  };
}

const MAX_REDIRECTS = 5;

export function createTransport(options: TransportOptions = {}): Transport {
  const timeoutMs = options.timeoutMs ?? 30_000;
  let agent: Promise<Agent> | undefined;
  const getAgent = () =>
    (agent ??= loadUndici().then(
      (undici) =>
        new undici.Agent({
          connect: {
            timeout: timeoutMs,
            ...(options.ca ? { ca: [...tls.rootCertificates, options.ca] } : {}),
            ...(options.clientCertificate
              ? { cert: options.clientCertificate.certPem, key: options.clientCertificate.keyPem }
              : {}),
          },
          headersTimeout: timeoutMs,
          bodyTimeout: timeoutMs,
        }),
    ));
  const nodeHttp =
    !options.fetch && options.http === 'node'
      ? import('./node-http.js').then((m) =>
          m.nodeHttpSender({
            timeoutMs,
            ...(options.ca ? { ca: options.ca } : {}),
            ...(options.clientCertificate ? { clientCertificate: options.clientCertificate } : {}),
          }),
        )
      : undefined;
  const sender: Sender = options.fetch
    ? fetchSender(options.fetch)
    : nodeHttp
      ? async (url, init) => (await nodeHttp).send(url, init)
      : undiciSender(getAgent);
  const userAgent = options.userAgent ?? 'outpost-oci';

  const wantsPlain = (host: string): boolean =>
    typeof options.plainHttp === 'function' ? options.plainHttp(host) : options.plainHttp === true;

  const refusePlain = (host: string, what: string | undefined) =>
    ociError(
      'oci/plain-http-refused',
      `${what && what !== host ? `${what}: ` : ''}refusing plain HTTP to ${host}: it is not a loopback address (use HTTPS, or force plain HTTP explicitly)`,
      { host },
    );

  const transport: Transport = {
    baseUrl(registry, what) {
      if (!wantsPlain(registry)) return `https://${registry}`;
      if (!isLoopbackHost(registry) && !options.forcePlainHttp) throw refusePlain(registry, what);
      return `http://${registry}`;
    },

    checkUrl(url, what) {
      const u = new URL(url);
      if (u.protocol === 'https:') return;
      if (u.protocol !== 'http:')
        throw ociError('network-error', `${what}: unsupported URL scheme in ${url}`);
      if (!isLoopbackHost(u.host) && !options.forcePlainHttp) throw refusePlain(u.host, what);
    },

    async send(req) {
      let url = req.url;
      const headers: Record<string, string> = { 'user-agent': userAgent, ...req.headers };
      const origin = new URL(url).origin;
      for (let hop = 0; ; hop++) {
        let res: HttpResponse;
        const scheme = url.startsWith('https:') ? 'https' : 'http';
        try {
          res = await sender(url, { method: req.method, headers, body: req.body?.(), signal: req.signal });
        } catch (err) {
          throw networkError(err, req.what, scheme);
        }
        const location = res.headers.get('location');
        if (
          ![301, 302, 303, 307, 308].includes(res.status) ||
          !location ||
          (req.method !== 'GET' && req.method !== 'HEAD')
        )
          return res;
        await discard(res);
        if (hop >= MAX_REDIRECTS) throw ociError('network-error', `${req.what}: too many redirects`);
        const next = new URL(location, url).toString();
        if (next.startsWith('http:') && url.startsWith('https:'))
          throw ociError(
            'network-error',
            `${req.what}: refusing a redirect from HTTPS to plain HTTP (${next})`,
          );
        transport.checkUrl(next, req.what);
        // Blob storage behind a redirect (S3, CDN) must never see the registry's credentials.
        if (new URL(next).origin !== origin) delete headers.authorization;
        url = next;
      }
    },

    async close() {
      const a = agent;
      agent = undefined;
      await (await a)?.close();
      (await nodeHttp)?.close();
    },
  };
  return transport;
}

/** Reads and drops a body so the connection can be reused. */
export async function discard(res: HttpResponse): Promise<void> {
  await res.discard();
}

/** Reads a body up to `max` bytes; more is `oci/size-exceeded`. */
export async function readLimited(res: HttpResponse, max: number, what: string): Promise<Buffer> {
  const declared = Number(res.headers.get('content-length') ?? NaN);
  if (Number.isFinite(declared) && declared > max) {
    await discard(res);
    throw ociError(
      'oci/size-exceeded',
      `${what}: the response is ${declared} bytes, more than the ${max} allowed`,
    );
  }
  const chunks: Buffer[] = [];
  let n = 0;
  try {
    for await (const chunk of res.body) {
      n += chunk.length;
      if (n > max) {
        await discard(res);
        throw ociError('oci/size-exceeded', `${what}: the response is more than the ${max} bytes allowed`);
      }
      chunks.push(Buffer.from(chunk));
    }
  } catch (err) {
    throw networkError(err, what, 'https');
  }
  return Buffer.concat(chunks);
}
