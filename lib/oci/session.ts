import type { Logger } from '../log/index.js';
import type { OutpostError } from '../errors/index.js';
import { ociError } from './errors.js';
import type { Authenticator } from './auth.js';
import {
  discard,
  readLimited,
  type HttpResponse,
  type Transport,
  type TransportRequest,
} from './transport.js';
import type { Reference } from './reference.js';

/** The shared plumbing of every registry use case: URLs, authentication, status mapping. */
export interface Session {
  readonly transport: Transport;
  readonly logger: Logger | undefined;
  /**
   * Sends a request to `/v2/<repository>/<path>` (or to an absolute URL the registry gave, such as an
   * upload location), attaching known credentials and answering one 401 challenge.
   */
  request(
    ref: Reference,
    req: Omit<TransportRequest, 'url'> & { path: string; access: 'pull' | 'push' },
  ): Promise<HttpResponse>;
  /** Throws the OutpostError for a non-2xx response (reads the registry's error body). */
  fail(res: HttpResponse, what: string, subject: string): Promise<never>;
}

export function createSession(deps: {
  transport: Transport;
  auth: Authenticator;
  logger?: Logger | undefined;
}): Session {
  const { transport, auth, logger } = deps;
  return {
    transport,
    logger,
    async request(ref, req) {
      const base = transport.baseUrl(ref.registry, req.what);
      let url: string;
      if (/^https?:\/\//.test(req.path)) {
        url = req.path;
        transport.checkUrl(url, req.what);
      } else
        url = req.path.startsWith('/') ? `${base}${req.path}` : `${base}/v2/${ref.repository}/${req.path}`;
      const scope = `repository:${ref.repository}:${req.access === 'push' ? 'pull,push' : 'pull'}`;
      const send = (authorization: string | undefined) =>
        transport.send({
          ...req,
          url,
          headers: { ...req.headers, ...(authorization ? { authorization } : {}) },
        });
      const cached = auth.cached(ref.registry, scope);
      logger?.debug({ method: req.method, url }, 'registry request');
      let res = await send(cached);
      if (res.status !== 401) return res;
      const challenge = res.headers.get('www-authenticate');
      await discard(res);
      const header = await auth.respond(ref.registry, scope, challenge, req.what);
      res = await send(header);
      return res;
    },
    async fail(res, what, subject) {
      throw await errorFor(res, what, subject);
    },
  };
}

interface RegistryErrorBody {
  errors?: { code?: string; message?: string; detail?: unknown }[];
}

/** Maps an unexpected registry response to one OutpostError (`oci/not-found`, `oci/unauthorized`, …). */
export async function errorFor(res: HttpResponse, what: string, subject: string): Promise<OutpostError> {
  let detail = '';
  let codes: string[] = [];
  if (res.status !== 404 || res.headers.get('content-type')?.includes('json')) {
    try {
      const text = (await readLimited(res, 64 * 1024, what)).toString('utf8');
      const body = JSON.parse(text) as RegistryErrorBody;
      codes = (body.errors ?? []).map((e) => e.code ?? '').filter(Boolean);
      const first = body.errors?.[0];
      if (first?.message) detail = `: ${first.message}${first.code ? ` (${first.code})` : ''}`;
    } catch {
      // not a registry error body
    }
  } else {
    await discard(res);
  }
  const data = { status: res.status, ...(codes.length ? { registryCodes: codes } : {}) };
  switch (res.status) {
    case 404:
      return ociError('oci/not-found', `${what}: ${subject} not found${detail}`, data);
    case 401:
      return ociError('oci/unauthorized', `${what}: the registry refused the credentials${detail}`, data);
    case 403:
      return ociError('oci/forbidden', `${what}: access denied${detail}`, data);
    case 415:
      return ociError(
        'oci/unsupported-media-type',
        `${what}: the registry does not accept it${detail}`,
        data,
      );
    default:
      return ociError(
        'oci/registry-error',
        `${what}: the registry answered HTTP ${res.status}${detail}`,
        data,
      );
  }
}
