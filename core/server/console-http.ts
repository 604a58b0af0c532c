import fs from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { Core } from '../create-core.js';
import { OutpostError, diskFullCause } from '../../lib/errors/index.js';
import {
  EVENTS_PATH,
  EVENTS_TICKET_PATH,
  RPC_PREFIX,
  TENANT_HEADER,
  type Principal,
  IDEMPOTENCY_HEADER,
  CLIENT_HEADER,
  type AuditSource,
  rolesAllow,
} from '../../lib/contract/index.js';
import { RefusedInput, jsonTextShapeProblem } from '../rpc/input-limits.js';

/**
 * The HTTP binder of the console contract plus the web portal:
 * - `POST /api/v1/rpc/<service>.<method>` (JSON in, JSON out; queries also answer GET with `?input=<json>`),
 * - `GET /api/v1/events` server-sent events (with the bearer token, or `?ticket=` from
 *   `POST /api/v1/events/tickets` for clients that cannot send headers: a token is never taken from a URL),
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

/** The /api routes each console app registered (method and pattern), for tests that walk them all. */
const apiRoutes = new WeakMap<FastifyInstance, { method: string; url: string; public: boolean }[]>();
export function registeredApiRoutes(
  app: FastifyInstance,
): { method: string; url: string; public: boolean }[] {
  return [...(apiRoutes.get(app) ?? [])];
}

export async function createConsoleHttp(options: ConsoleHttpOptions): Promise<FastifyInstance> {
  const { core } = options;
  const app = Fastify({
    logger: false,
    bodyLimit: options.maxBodyBytes,
    genReqId: () => crypto.randomUUID(),
    return503OnClosing: true,
    forceCloseConnections: 'idle',
  });

  // JSON bodies: a body with too many values is refused from a scan of its text, before parsing it
  // would block the event loop (ADR 0481); the dispatcher answers it like any input over the limits.
  const parseJson = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (req, body, done) => {
    const text = body as string;
    const refused = jsonTextShapeProblem(text);
    if (refused) return done(null, new RefusedInput(refused));
    void parseJson(req, text, done);
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
    else if (diskFullCause(error) !== undefined) out = OutpostError.from(error);
    else {
      core.logger.error({ err: error, url: req.url }, 'unhandled error in the console API');
      out = new OutpostError('internal', 'internal error');
    }
    sendProblem(reply, req, out);
  });

  // Authentication for /api: on the route itself, so it runs for whatever spelling of the path the
  // router matched (`/%61pi/v1/events` is /api/v1/events). Health is public; every other /api route
  // gets the hook when it is registered, and its handler refuses a request without a principal too.
  // A token is only ever taken from the Authorization header: URLs end up in histories, logs and
  // proxies (ADR 0523); the event stream also takes a one-time ticket.
  const principals = new WeakMap<FastifyRequest, Principal>();
  const ticketTenants = new WeakMap<FastifyRequest, string>();
  const authenticate = async (req: FastifyRequest, reply: FastifyReply) => {
    const refuse = (err: OutpostError) => {
      sendProblem(reply, req, err);
      return reply;
    };
    const header = req.headers.authorization;
    let token: string | undefined;
    if (header?.startsWith('Bearer ')) token = header.slice(7).trim();
    const isEvents = req.routeOptions.url === EVENTS_PATH;
    const query = (req.query ?? {}) as Record<string, unknown>;
    if ('token' in query || 'access_token' in query)
      return refuse(
        new OutpostError(
          'unauthorized',
          `an API token is never accepted in a URL: send it as "Authorization: Bearer <token>"${
            isEvents
              ? `, or open the stream with a one-time ticket (POST ${EVENTS_TICKET_PATH}, then ?ticket=)`
              : ''
          }`,
        ),
      );
    if (!token && isEvents && 'ticket' in query) {
      const t = typeof query.ticket === 'string' ? core.tickets.redeem(query.ticket) : null;
      if (!t)
        return refuse(
          new OutpostError('unauthorized', 'the event ticket is not valid (unknown, used or expired)'),
        );
      principals.set(req, t.principal);
      ticketTenants.set(req, t.tenantId);
      return;
    }
    const p = core.auth.authenticate(token);
    if (!p)
      return refuse(
        new OutpostError(
          'unauthorized',
          token
            ? 'the API token is not valid'
            : 'this API needs a bearer token (Authorization: Bearer <token>)',
        ),
      );
    principals.set(req, p);
  };
  const routes: { method: string; url: string; public: boolean }[] = [];
  apiRoutes.set(app, routes);
  app.addHook('onRoute', (route) => {
    if (!route.url.startsWith('/api/')) return;
    const isPublic = (route.config as { public?: boolean } | undefined)?.public === true;
    for (const method of [route.method].flat()) routes.push({ method, url: route.url, public: isPublic });
    if (isPublic) return;
    const own = route.onRequest;
    route.onRequest = [authenticate, ...(own === undefined ? [] : Array.isArray(own) ? own : [own])];
  });
  const principalOf = (req: FastifyRequest): Principal => {
    const principal = principals.get(req);
    if (!principal) throw new OutpostError('unauthorized', 'not authenticated');
    return principal;
  };

  app.get('/api/v1/health', { config: { public: true } }, async () => ({ ok: true }));

  const invoke = async (req: FastifyRequest, channel: string, input: unknown) => {
    const principal = principalOf(req);
    const ctrl = new AbortController();
    req.raw.once('close', () => {
      if (!req.raw.complete) ctrl.abort();
    });
    const tenant = headerValue(req.headers[TENANT_HEADER]);
    const ctx = core.context(principal, 'http', {
      tenant,
      signal: ctrl.signal,
      requestId: req.id,
      idempotencyKey: headerValue(req.headers[IDEMPOTENCY_HEADER]),
      source: sourceOf(headerValue(req.headers[CLIENT_HEADER])),
    });
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
      const refused = req.query.input === undefined ? undefined : jsonTextShapeProblem(req.query.input);
      if (refused) input = new RefusedInput(refused);
      else if (req.query.input !== undefined) {
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

  app.post(EVENTS_TICKET_PATH, async (req, reply) => {
    const principal = principalOf(req);
    if (!rolesAllow(principal.roles, ['viewer']))
      throw new OutpostError('forbidden', 'the event stream needs the viewer role');
    const ctx = core.context(principal, 'http', { tenant: headerValue(req.headers[TENANT_HEADER]) });
    void reply.header('cache-control', 'no-store');
    return core.tickets.issue(principal, ctx.tenantId);
  });

  app.get(EVENTS_PATH, (req, reply) => {
    const principal = principalOf(req);
    if (!rolesAllow(principal.roles, ['viewer'])) {
      sendProblem(reply, req, new OutpostError('forbidden', 'the event stream needs the viewer role'));
      return;
    }
    const tenantId =
      ticketTenants.get(req) ??
      core.context(principal, 'http', { tenant: headerValue(req.headers[TENANT_HEADER]) }).tenantId;
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    // HEAD learns the headers and no stream (a stream nobody reads would never end).
    if (req.method === 'HEAD') return void res.end();
    res.write(': connected\n\n');
    const unsubscribe = core.events.subscribe((e) => {
      if (e.tenantId !== null && e.tenantId !== tenantId) return;
      res.write(`event: ${e.type}\ndata: ${JSON.stringify(e)}\n\n`);
    });
    const keepAlive = setInterval(() => res.write(': keep-alive\n\n'), 15_000);
    keepAlive.unref();
    // The stream lives as long as its token: revoking it (or its expiry) ends the stream at once.
    const unwatch = core.auth.watch(principal, () => end());
    const end = () => {
      clearInterval(keepAlive);
      unsubscribe();
      unwatch();
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
      // One `/*` route that looks the file up when asked, not a route per file found at start (the
      // portal's ~110 files were ~220 routes and ~25 ms of every start, ADR 0561). A file that is not
      // there goes to the not-found handler below either way.
      wildcard: true,
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

/** The audit source of an HTTP call: what the client says it is (console or CLI), otherwise `api`. */
function sourceOf(client: string | undefined): AuditSource {
  return client === 'console' || client === 'cli' ? client : 'api';
}
