import type { IncomingMessage, ServerResponse } from 'node:http';
import { pipeline } from 'node:stream/promises';
import type { Logger } from '../../lib/log/index.js';
import type { Clock } from '../../lib/base/index.js';
import { OutpostError } from '../../lib/errors/index.js';
import { ociCodeOf, registryError } from './errors.js';
import { checkRepository, sha256Hex, type RegistryStore } from './store.js';

/**
 * The OCI Distribution API over the store (ADR 0420): `/v2/`, the catalog, tags list, manifests by tag
 * and digest (GET, HEAD, PUT, DELETE), blobs with Range (GET, HEAD), uploads (POST, monolithic with
 * `?digest=`, cross-repository `?mount=`; PATCH chunks; PUT to finish; GET status; DELETE to cancel).
 * Framework-free: the same handler serves the HTTPS listener and the loopback HTTP one; who may do what
 * is the `authorize` callback's business (ADR 0421).
 */

export type Access = 'pull' | 'push';

export interface HandlerDeps {
  store: RegistryStore;
  /** Throws `registry/unauthorized` (401) or `registry/denied` (403) unless the request may have `access`. */
  authorize(req: IncomingMessage, access: Access): void;
  logger: Logger;
  clock: Clock;
  maxManifestBytes: number;
}

const NAME = '[a-z0-9]+(?:(?:\\.|_|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:\\.|_|__|-+)[a-z0-9]+)*)*';
type Route = 'base' | 'catalog' | 'tags' | 'manifest' | 'upload-start' | 'upload' | 'blob';
const ROUTES: [RegExp, Route][] = [
  [/^\/v2\/?$/, 'base'],
  [/^\/v2\/_catalog$/, 'catalog'],
  [new RegExp(`^/v2/(${NAME})/tags/list$`), 'tags'],
  [new RegExp(`^/v2/(${NAME})/manifests/([^/]+)$`), 'manifest'],
  [new RegExp(`^/v2/(${NAME})/blobs/uploads/?$`), 'upload-start'],
  [new RegExp(`^/v2/(${NAME})/blobs/uploads/([^/]+)$`), 'upload'],
  [new RegExp(`^/v2/(${NAME})/blobs/([^/]+)$`), 'blob'],
];
const ALLOW: Record<Route, string[]> = {
  base: ['GET', 'HEAD'],
  catalog: ['GET'],
  tags: ['GET'],
  manifest: ['GET', 'HEAD', 'PUT', 'DELETE'],
  'upload-start': ['POST'],
  upload: ['GET', 'PATCH', 'PUT', 'DELETE'],
  blob: ['GET', 'HEAD', 'DELETE'],
};

export const REALM = 'Outpost site registry';

function contentLength(req: IncomingMessage): number | undefined {
  const v = req.headers['content-length'];
  if (v === undefined) return undefined;
  if (!/^\d{1,16}$/.test(v))
    throw registryError('registry/size-invalid', `Content-Length "${v}" is not a size`);
  return Number(v);
}

/** Whether the request carries a body (a length above zero, or chunked transfer). */
function hasBody(req: IncomingMessage): boolean {
  const len = contentLength(req);
  return len !== undefined ? len > 0 : req.headers['transfer-encoding'] !== undefined;
}

async function readBody(req: IncomingMessage, max: number): Promise<Buffer> {
  const len = contentLength(req);
  if (len !== undefined && len > max)
    throw registryError('registry/too-large', `the manifest has ${len} bytes, more than the ${max} allowed`);
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const c of req as AsyncIterable<Buffer>) {
    n += c.length;
    if (n > max)
      throw registryError('registry/too-large', `the manifest is larger than the ${max} bytes allowed`);
    chunks.push(c);
  }
  return Buffer.concat(chunks);
}

/** `Range: bytes=a-b | a- | -n` of a blob of `size` bytes; undefined for none, 'unsatisfiable' for 416. */
export function parseRange(
  header: string | undefined,
  size: number,
): { start: number; end: number } | 'unsatisfiable' | undefined {
  if (header === undefined) return undefined;
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  // Several ranges, or another unit: answered with the whole blob (RFC 9110 allows ignoring Range).
  if (!m || (m[1] === '' && m[2] === '')) return undefined;
  if (m[1] === '') {
    const n = Number(m[2]);
    if (n === 0 || size === 0) return 'unsatisfiable';
    return { start: Math.max(0, size - n), end: size - 1 };
  }
  const start = Number(m[1]);
  const end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
  if (start >= size || end < start) return 'unsatisfiable';
  return { start, end };
}

/** `Content-Range: <start>-<end>` of a PATCH (the Distribution form, `bytes ` prefix tolerated). */
function parseContentRange(v: string | undefined): { start: number; end: number } | undefined {
  if (v === undefined) return undefined;
  const m = /^(?:bytes )?(\d+)-(\d+)(?:\/(?:\d+|\*))?$/.exec(v.trim());
  if (!m || Number(m[2]) < Number(m[1]))
    throw registryError('registry/range-invalid', `Content-Range "${v}" is not <start>-<end>`);
  return { start: Number(m[1]), end: Number(m[2]) };
}

/** A path segment, percent-decoded (`sha256%3A...`); a malformed escape is a bad name, not a crash. */
function segment(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    throw registryError('registry/name-invalid', `"${s}" is not a valid path segment`);
  }
}

function paging(url: URL): { n: number | undefined; last: string | undefined } {
  const nText = url.searchParams.get('n');
  const n = nText === null || nText === '' ? undefined : Number(nText);
  if (n !== undefined && (!Number.isInteger(n) || n < 0))
    throw registryError('registry/upload-invalid', `n=${nText} is not a count`);
  return { n, last: url.searchParams.get('last') ?? undefined };
}

function page(all: string[], url: URL): { items: string[]; next: string | undefined } {
  const { n, last } = paging(url);
  let items = last === undefined ? all : all.filter((x) => x > last);
  let next: string | undefined;
  if (n !== undefined && items.length > n) {
    items = items.slice(0, n);
    next = items[items.length - 1];
  }
  return { items, next };
}

export function createDistributionHandler(deps: HandlerDeps) {
  const { store } = deps;
  const log = deps.logger;

  async function blob(
    req: IncomingMessage,
    res: ServerResponse,
    name: string,
    digest: string,
  ): Promise<void> {
    if (req.method === 'DELETE')
      throw registryError(
        'registry/unsupported',
        'blobs are not deleted one by one: untag or delete the manifest, then run edgectl registry gc',
      );
    sha256Hex(digest);
    const reader = await store.openBlob(digest);
    if (!reader) throw registryError('registry/blob-unknown', `blob ${digest} is not in ${name}`);
    const range = parseRange(req.headers.range, reader.size);
    const headers: Record<string, string> = {
      'content-type': 'application/octet-stream',
      'docker-content-digest': digest,
      etag: `"${digest}"`,
      'accept-ranges': 'bytes',
      'cache-control': 'max-age=31536000',
    };
    if (range === 'unsatisfiable') {
      await reader.close();
      res.writeHead(416, { ...headers, 'content-range': `bytes */${reader.size}`, 'content-length': '0' });
      res.end();
      return;
    }
    if (req.method === 'HEAD') {
      await reader.close();
      res.writeHead(200, { ...headers, 'content-length': String(reader.size) });
      res.end();
      return;
    }
    if (range) {
      res.writeHead(206, {
        ...headers,
        'content-range': `bytes ${range.start}-${range.end}/${reader.size}`,
        'content-length': String(range.end - range.start + 1),
      });
    } else res.writeHead(200, { ...headers, 'content-length': String(reader.size) });
    const stream = reader.stream(range);
    try {
      await pipeline(stream, res);
    } catch (err) {
      // The client went away mid-blob: nothing to answer.
      log.debug({ digest, err: (err as Error).message }, 'blob download ended early');
    }
  }

  async function manifest(
    req: IncomingMessage,
    res: ServerResponse,
    name: string,
    reference: string,
  ): Promise<void> {
    if (req.method === 'PUT') {
      const bytes = await readBody(req, deps.maxManifestBytes);
      const { digest, parsed } = await store.putManifest(name, reference, bytes, req.headers['content-type']);
      res.writeHead(201, {
        location: `/v2/${name}/manifests/${digest}`,
        'docker-content-digest': digest,
        ...(parsed.subject ? { 'oci-subject': parsed.subject.digest } : {}),
        'content-length': '0',
      });
      res.end();
      log.info({ repository: name, reference, digest }, 'manifest pushed');
      return;
    }
    if (req.method === 'DELETE') {
      await store.deleteManifest(name, reference);
      res.writeHead(202, { 'content-length': '0' });
      res.end();
      log.info({ repository: name, reference }, 'manifest deleted');
      return;
    }
    const m = await store.getManifest(name, reference);
    if (!m) {
      if ((await store.listTags(name)) === undefined)
        throw registryError('registry/name-unknown', `repository ${name} is not in the registry`);
      throw registryError(
        'registry/manifest-unknown',
        `manifest ${name}:${reference} is not in the registry`,
      );
    }
    res.writeHead(200, {
      'content-type': m.mediaType,
      'content-length': String(m.size),
      'docker-content-digest': m.digest,
      etag: `"${m.digest}"`,
    });
    res.end(req.method === 'HEAD' ? undefined : m.bytes);
  }

  function uploadHeaders(name: string, id: string, offset: number): Record<string, string> {
    return {
      location: `/v2/${name}/blobs/uploads/${id}`,
      range: `0-${offset > 0 ? offset - 1 : 0}`,
      'docker-upload-uuid': id,
      'content-length': '0',
    };
  }

  async function uploadStart(
    req: IncomingMessage,
    res: ServerResponse,
    name: string,
    url: URL,
  ): Promise<void> {
    checkRepository(name);
    const mount = url.searchParams.get('mount');
    if (mount !== null) {
      sha256Hex(mount);
      const info = await store.statBlob(mount);
      if (info) {
        // Blobs are shared by every repository of the store (ADR 0420): mounting is just saying so.
        res.writeHead(201, {
          location: `/v2/${name}/blobs/${mount}`,
          'docker-content-digest': mount,
          'content-length': '0',
        });
        res.end();
        return;
      }
    }
    const digest = url.searchParams.get('digest');
    if (digest !== null) {
      const size = contentLength(req);
      const info = await store.putBlob(req, { digest, ...(size === undefined ? {} : { size }) });
      res.writeHead(201, {
        location: `/v2/${name}/blobs/${info.digest}`,
        'docker-content-digest': info.digest,
        'content-length': '0',
      });
      res.end();
      return;
    }
    const up = await store.startUpload(name);
    res.writeHead(202, uploadHeaders(name, up.id, 0));
    res.end();
  }

  async function upload(
    req: IncomingMessage,
    res: ServerResponse,
    name: string,
    id: string,
    url: URL,
  ): Promise<void> {
    switch (req.method) {
      case 'GET': {
        const up = await store.upload(name, id);
        res.writeHead(204, uploadHeaders(name, id, up.offset));
        res.end();
        return;
      }
      case 'DELETE':
        await store.cancelUpload(name, id);
        res.writeHead(204, { 'content-length': '0' });
        res.end();
        return;
      case 'PATCH': {
        const range = parseContentRange(req.headers['content-range']);
        const declared = contentLength(req);
        if (range && declared !== undefined && declared !== range.end - range.start + 1)
          throw registryError(
            'registry/range-invalid',
            `Content-Range ${range.start}-${range.end} and Content-Length ${declared} disagree`,
          );
        const length = range ? range.end - range.start + 1 : declared;
        const up = await store.appendUpload(name, id, req, {
          ...(range ? { start: range.start } : {}),
          ...(length === undefined ? {} : { length }),
        });
        res.writeHead(202, uploadHeaders(name, id, up.offset));
        res.end();
        return;
      }
      case 'PUT': {
        const digest = url.searchParams.get('digest');
        if (digest === null)
          throw registryError('registry/digest-invalid', 'finishing an upload needs ?digest=sha256:...');
        const body = hasBody(req);
        const length = contentLength(req);
        const info = await store.completeUpload(
          name,
          id,
          digest,
          body ? req : undefined,
          body ? length : undefined,
        );
        res.writeHead(201, {
          location: `/v2/${name}/blobs/${info.digest}`,
          'docker-content-digest': info.digest,
          'content-length': '0',
        });
        res.end();
        return;
      }
    }
  }

  function json(
    res: ServerResponse,
    status: number,
    body: unknown,
    extra: Record<string, string> = {},
  ): void {
    const bytes = Buffer.from(JSON.stringify(body));
    res.writeHead(status, {
      'content-type': 'application/json',
      'content-length': String(bytes.length),
      ...extra,
    });
    res.end(bytes);
  }

  async function dispatch(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const pathname = url.pathname;
    if (pathname.length > 2048) throw registryError('registry/name-invalid', 'the path is too long');
    let route: Route | undefined;
    let params: string[] = [];
    for (const [re, r] of ROUTES) {
      const m = re.exec(pathname);
      if (m) {
        route = r;
        params = m.slice(1);
        break;
      }
    }
    if (!route) {
      if (pathname.startsWith('/v2/'))
        throw registryError(
          'registry/name-invalid',
          `${pathname} is not a registry path (bad repository name?)`,
        );
      throw new OutpostError('route-not-found', `no route ${pathname}: this is an OCI registry (/v2/)`);
    }
    const method = req.method ?? 'GET';
    if (!ALLOW[route].includes(method))
      throw new OutpostError('method-not-allowed', `${method} is not allowed on ${pathname}`, {
        data: { allow: ALLOW[route].join(', ') },
      });
    const access: Access = method === 'GET' || method === 'HEAD' ? 'pull' : 'push';
    deps.authorize(req, access);
    const [name, ref] = params as [string, string];
    switch (route) {
      case 'base':
        return json(res, 200, {});
      case 'catalog': {
        const { items, next } = page(await store.repositories(), url);
        return json(
          res,
          200,
          { repositories: items },
          next
            ? { link: `</v2/_catalog?n=${items.length}&last=${encodeURIComponent(next)}>; rel="next"` }
            : {},
        );
      }
      case 'tags': {
        checkRepository(name);
        const tags = await store.listTags(name);
        if (tags === undefined)
          throw registryError('registry/name-unknown', `repository ${name} is not in the registry`);
        const { items, next } = page(tags, url);
        return json(
          res,
          200,
          { name, tags: items },
          next
            ? {
                link: `</v2/${name}/tags/list?n=${items.length}&last=${encodeURIComponent(next)}>; rel="next"`,
              }
            : {},
        );
      }
      case 'manifest':
        return manifest(req, res, name, segment(ref));
      case 'blob':
        return blob(req, res, name, segment(ref));
      case 'upload-start':
        return uploadStart(req, res, name, url);
      case 'upload':
        return upload(req, res, name, segment(ref), url);
    }
  }

  /** Answers one request; never throws. */
  return async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const started = deps.clock.monotonic();
    res.setHeader('docker-distribution-api-version', 'registry/2.0');
    res.setHeader('x-content-type-options', 'nosniff');
    let url: URL;
    try {
      url = new URL(req.url ?? '/', 'http://registry.invalid');
    } catch {
      url = new URL('http://registry.invalid/');
    }
    try {
      await dispatch(req, res, url);
    } catch (err) {
      const e = err instanceof OutpostError ? err : OutpostError.from(err);
      if (e.status >= 500 && e.code !== 'registry/quota-exceeded')
        log.error({ err, method: req.method, path: url.pathname }, 'registry request failed');
      else
        log.debug(
          { code: e.code, method: req.method, path: url.pathname, msg: e.message },
          'registry request refused',
        );
      if (res.headersSent) {
        res.destroy();
        return;
      }
      const headers: Record<string, string> = {};
      if (e.code === 'registry/unauthorized') headers['www-authenticate'] = `Basic realm="${REALM}"`;
      if (e.code === 'method-not-allowed') headers.allow = (e.data as { allow: string }).allow;
      // Refused before its body was read: close, so the unread bytes are not taken for the next request.
      if (!req.complete && hasBodySafe(req)) headers.connection = 'close';
      const status = e.code === 'method-not-allowed' ? 405 : e.code === 'route-not-found' ? 404 : e.status;
      const code =
        e.code === 'method-not-allowed' || e.code === 'route-not-found' ? 'UNSUPPORTED' : ociCodeOf(e);
      const detail = {
        code: e.code,
        ...(e.data && typeof e.data === 'object' ? (e.data as Record<string, unknown>) : {}),
      };
      if (req.method === 'HEAD') {
        res.writeHead(status, { ...headers, 'content-length': '0' });
        res.end();
      } else json(res, status, { errors: [{ code, message: e.message, detail }] }, headers);
    } finally {
      if (log.isLevelEnabled('debug'))
        log.debug(
          {
            method: req.method,
            path: url.pathname,
            status: res.statusCode,
            ms: Math.round(deps.clock.monotonic() - started),
          },
          'registry request',
        );
    }
  };
}

function hasBodySafe(req: IncomingMessage): boolean {
  try {
    return hasBody(req);
  } catch {
    return true;
  }
}
