import type { Agent } from 'undici';
import type { GitHttpRequest, GitHttpResponse, HttpClient } from 'isomorphic-git';
import { OutpostError } from '../../lib/errors/index.js';
import { publicOnlyDispatcher, refusePrivateLiteral } from './host-policy.js';

/**
 * The HTTP plugin isomorphic-git uses, on undici, with bounded time: a connect/headers timeout per
 * request and an idle-body timeout, so an unreachable or stalled server fails with a message instead
 * of hanging. Redirects are followed (a few).
 */
export function createGitHttpClient(options: {
  timeoutMs: number;
  userAgent?: string;
  /**
   * Connect only to public addresses (ADR 0483), and answer every failure to connect (refused, reset,
   * timed out, no such host, a private host) with one message, so the answer tells nothing about what
   * listens where. For URLs an API caller gives.
   */
  publicOnly?: boolean;
}): HttpClient {
  // undici (and the public-only dispatcher) are loaded on the first request, not at start (ADR 0542).
  let dispatcher: Promise<Agent> | undefined;
  const unreachable = (url: string, cause: unknown) =>
    new OutpostError(
      'network-error',
      `cannot reach a git repository at ${redactUrl(url)} (nothing answered; hosts on loopback, link-local and private networks are not fetched from unless catalog.privateGitHosts allows it)`,
      { cause },
    );
  return {
    async request(req: GitHttpRequest): Promise<GitHttpResponse> {
      let body: Buffer | undefined;
      if (req.body) {
        const chunks: Uint8Array[] = [];
        for await (const c of req.body) chunks.push(c);
        body = Buffer.concat(chunks);
      }
      let url = req.url;
      for (let hop = 0; hop < 5; hop++) {
        let res;
        try {
          if (options.publicOnly) refusePrivateLiteral(url);
          const { request } = await import('undici');
          if (options.publicOnly) dispatcher ??= publicOnlyDispatcher();
          res = await request(url, {
            ...(dispatcher ? { dispatcher: await dispatcher } : {}),
            method: (req.method ?? 'GET') as 'GET' | 'POST',
            headers: { 'user-agent': options.userAgent ?? 'outpost-git', ...req.headers },
            body,
            headersTimeout: options.timeoutMs,
            bodyTimeout: options.timeoutMs,
            signal: req.signal,
          });
        } catch (cause) {
          if (options.publicOnly && !req.signal?.aborted) throw unreachable(url, cause);
          throw new OutpostError('network-error', `cannot reach ${redactUrl(url)}: ${describe(cause)}`, {
            cause,
          });
        }
        if ([301, 302, 303, 307, 308].includes(res.statusCode) && res.headers.location) {
          await res.body.dump();
          url = new URL(String(res.headers.location), url).toString();
          continue;
        }
        const headers: Record<string, string> = {};
        for (const [k, v] of Object.entries(res.headers))
          if (v !== undefined) headers[k] = Array.isArray(v) ? v.join(', ') : v;
        const iter = res.body[Symbol.asyncIterator]() as AsyncIterableIterator<Uint8Array>;
        return {
          url,
          method: req.method,
          statusCode: res.statusCode,
          statusMessage: '',
          headers,
          body: iter,
        };
      }
      throw new OutpostError('network-error', `too many redirects from ${redactUrl(req.url)}`);
    },
  };
}

/** Removes any user:password@ from a URL for messages and records. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    u.username = '';
    u.password = '';
    const s = u.toString();
    return !url.endsWith('/') && s.endsWith('/') ? s.slice(0, -1) : s;
  } catch {
    return url.replace(/\/\/[^@/]*@/, '//');
  }
}

function describe(err: unknown): string {
  const e = err as { code?: string; message?: string; cause?: { code?: string; message?: string } };
  const code = e.code ?? e.cause?.code;
  switch (code) {
    case 'ECONNREFUSED':
      return 'connection refused';
    case 'ENOTFOUND':
      return 'host not found';
    case 'UND_ERR_HEADERS_TIMEOUT':
    case 'UND_ERR_CONNECT_TIMEOUT':
      return 'timed out waiting for the server';
    case 'UND_ERR_BODY_TIMEOUT':
      return 'the server stopped sending data';
    case 'ECONNRESET':
      return 'connection reset';
    default:
      return e.message ?? String(err);
  }
}
