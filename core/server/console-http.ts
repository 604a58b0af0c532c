import fs from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { Core } from '../create-core.js';
import { OutpostError } from '../../lib/errors/index.js';
import { EVENTS_PATH, RPC_PREFIX, TENANT_HEADER } from '../../lib/contract/index.js';
import type { Principal } from '../../lib/contract/index.js';

/**
 * The HTTP binder of the console contract plus the web portal:
 * - `POST /api/v1/rpc/<service>.<method>` (JSON in, JSON out; queries also answer GET with `?input=<json>`),
 * - `GET /api/v1/events` server-sent events,
 * - `GET /api/v1/health` (no token; liveness only),
 * - the console's static files at `/` (the same build the desktop window loads).
 * Every /api route except health needs `Authorization: Bearer <token>`. Errors are RFC 9457 problem+json.
 */
export interface ConsoleHttpOptions {
  core: Core;
  /** Folder with the built renderer (index.html); absent means API only. */
  staticDir?: string | undefined;
  maxBodyBytes: number;
}

const PROBLEM = 'application/problem+json';

export async function createConsoleHttp(options: ConsoleHttpOptions): Promise<FastifyInstance> {
  const { core } = options;
  const app = Fastify({
    logger: false,
    bodyLimit: options.maxBodyBytes,
    genReqId: () => crypto.randomUUID(),
    return503OnClosing: true,
    forceCloseConnections: 'idle',
  });

  const sendProblem = (reply: FastifyReply, req: FastifyRequest, err: OutpostError) => {
    void reply
      .code(err.status)
      .header('content-type', PROBLEM)
      .header('cache-control', 'no-store')
      .send(JSON.stringify(err.toProblem(req.url)));
  };

  app.setErrorHandler((error: unknown, req, reply) => {
    const e = error as { statusCode?: number; code?: string; message?: string };
    let out: OutpostError;
    if (error instanceof OutpostError) out = error;
    else if (e.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE')
      out = new OutpostError('unsupported-media-type', 'send the body as application/json');
    else if (e.code === 'FST_ERR_CTP_BODY_TOO_LARGE')
      out = new OutpostError(
        'payload-too-large',
        `the request body is larger than ${options.maxBodyBytes} bytes`,
      );
    else if (e.statusCode === 400 || e.code === 'FST_ERR_CTP_EMPTY_JSON_BODY' || error instanceof SyntaxError)
      out = new OutpostError('invalid-input', `malformed request body: ${e.message ?? 'not valid JSON'}`, {
        errors: [{ field: '(body)', message: e.message ?? 'not valid JSON' }],
      });
    else {
      core.logger.error({ err: error, url: req.url }, 'unhandled error in the console API');
      out = new OutpostError('internal', 'internal error');
    }
    sendProblem(reply, req, out);
  });

  // Authentication for /api (health is public; everything else needs a token).
  const principals = new WeakMap<FastifyRequest, Principal>();
  app.addHook('onRequest', async (req, reply) => {
    if (!req.url.startsWith('/api/')) return;
    if (req.url === '/api/v1/health') return;
    const header = req.headers.authorization;
    let token: string | undefined;
    if (header?.startsWith('Bearer ')) token = header.slice(7).trim();
    // EventSource cannot send headers: allow the token as a query parameter on the event stream only.
    if (!token && req.url.startsWith(EVENTS_PATH))
      token = new URL(req.url, 'http://x').searchParams.get('token') ?? undefined;
    const p = core.auth.authenticate(token);
    if (!p) {
      sendProblem(
        reply,
        req,
        new OutpostError(
          'unauthorized',
          token
            ? 'the API token is not valid'
            : 'this API needs a bearer token (Authorization: Bearer <token>)',
        ),
      );
      return reply;
    }
    principals.set(req, p);
  });

  app.get('/api/v1/health', async () => ({ ok: true }));

  const invoke = async (req: FastifyRequest, channel: string, input: unknown) => {
    const principal = principals.get(req);
    if (!principal) throw new OutpostError('unauthorized', 'not authenticated');
    const ctrl = new AbortController();
    req.raw.once('close', () => {
      if (!req.raw.complete) ctrl.abort();
    });
    const tenant = headerValue(req.headers[TENANT_HEADER]);
    const ctx = core.context(principal, 'http', { tenant, signal: ctrl.signal, requestId: req.id });
    return core.dispatcher.call(channel, input, ctx);
  };

  app.post<{ Params: { channel: string } }>(`${RPC_PREFIX}:channel`, async (req, reply) => {
    const out = await invoke(req, req.params.channel, req.body ?? {});
    void reply.header('cache-control', 'no-store');
    return out ?? null;
  });

  app.get<{ Params: { channel: string }; Querystring: { input?: string } }>(
    `${RPC_PREFIX}:channel`,
    async (req, reply) => {
      const m = core.dispatcher.methods.get(req.params.channel);
      if (!m) throw new OutpostError('route-not-found', `unknown operation "${req.params.channel}"`);
      if (m.def.kind !== 'query') {
        void reply.header('allow', 'POST');
        throw new OutpostError('method-not-allowed', `${req.params.channel} changes state: use POST`);
      }
      let input: unknown = {};
      if (req.query.input !== undefined) {
        try {
          input = JSON.parse(req.query.input);
        } catch (err) {
          throw new OutpostError(
            'invalid-input',
            `the "input" query parameter is not valid JSON: ${(err as Error).message}`,
            {
              errors: [{ field: 'input', message: 'not valid JSON' }],
            },
          );
        }
      }
      void reply.header('cache-control', 'no-store');
      return (await invoke(req, req.params.channel, input)) ?? null;
    },
  );

  const streams = new Set<() => void>();
  app.addHook('preClose', async () => {
    for (const end of [...streams]) end();
  });

  app.get(EVENTS_PATH, (req, reply) => {
    const principal = principals.get(req);
    if (!principal) return;
    const tenant = headerValue(req.headers[TENANT_HEADER]);
    const ctx = core.context(principal, 'http', { tenant });
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    res.write(': connected\n\n');
    const unsubscribe = core.events.subscribe((e) => {
      if (e.tenantId !== null && e.tenantId !== ctx.tenantId) return;
      res.write(`event: ${e.type}\ndata: ${JSON.stringify(e)}\n\n`);
    });
    const keepAlive = setInterval(() => res.write(': keep-alive\n\n'), 15_000);
    keepAlive.unref();
    const end = () => {
      clearInterval(keepAlive);
      unsubscribe();
      streams.delete(end);
      res.end();
    };
    streams.add(end);
    req.raw.once('close', end);
  });

  // Web portal: the renderer build, with index.html for client-side routes.
  const staticDir =
    options.staticDir && fs.existsSync(path.join(options.staticDir, 'index.html'))
      ? options.staticDir
      : undefined;
  if (staticDir) {
    const fastifyStatic = (await import('@fastify/static')).default;
    await app.register(fastifyStatic, {
      root: staticDir,
      index: ['index.html'],
      wildcard: false,
      cacheControl: false,
      // The build writes .br and .gz beside each file (scripts/build.mjs).
      preCompressed: true,
      setHeaders: (res, file) => {
        // Vite names assets by their content hash: they never change; index.html always may.
        void res.header(
          'cache-control',
          /[\\/]assets[\\/]/.test(file) ? 'public, max-age=31536000, immutable' : 'no-cache',
        );
      },
    });
    app.addHook('onSend', async (req, reply, payload) => {
      if (!req.url.startsWith('/api/')) {
        void reply.header('x-content-type-options', 'nosniff');
        void reply.header('referrer-policy', 'no-referrer');
        void reply.header('x-frame-options', 'DENY');
        void reply.header('content-security-policy', CONSOLE_CSP);
      }
      return payload;
    });
  }

  app.setNotFoundHandler((req, reply) => {
    // The console routes in the fragment (#/sites): a missing file (`/favicon.ico`, a stale asset) is a 404,
    // never the HTML page.
    const file = req.url.split('?')[0]!;
    if (req.url.startsWith('/api/') || !staticDir || req.method !== 'GET' || /\.[a-z0-9]+$/i.test(file)) {
      sendProblem(
        reply,
        req,
        new OutpostError('route-not-found', `no route for ${req.method} ${req.url.split('?')[0]}`),
      );
      return;
    }
    void reply.header('cache-control', 'no-store').sendFile('index.html');
  });

  return app;
}

/** The console's Content Security Policy: only our own origin; no inline scripts, no eval. */
export const CONSOLE_CSP =
  "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; connect-src 'self'; font-src 'self' data:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'none'";

function headerValue(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}
