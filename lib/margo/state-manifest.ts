import { OutpostError, type FieldProblem } from '../errors/index.js';
import {
  canonicalJson,
  isDigest,
  BUNDLE_MEDIA_TYPE,
  DEPLOYMENT_ID,
  summarize,
  describe,
  isObject,
  type StateManifest,
} from '../model/index.js';

/**
 * The State Manifest (`GET /api/v1/deployments`, README section 1.3): serialised as RFC 8785 JSON so its
 * digest (the ETag) is reproducible, and checked strictly on the agent side before anything is acted on.
 */

type Problems = FieldProblem[];

function checkUrl(p: Problems, field: string, url: unknown, tail: string): void {
  if (typeof url !== 'string' || url === '') {
    p.push({ field, message: `must be a URL, not ${describe(url)}` });
    return;
  }
  let path: string;
  if (url.startsWith('/')) path = url.split(/[?#]/)[0]!;
  else {
    try {
      const u = new URL(url);
      if (u.protocol !== 'https:' && u.protocol !== 'http:') throw new Error('scheme');
      path = u.pathname;
    } catch {
      p.push({ field, message: `${JSON.stringify(url)} must be a path (/api/v1/...) or an https URL` });
      return;
    }
  }
  let decoded = path;
  try {
    decoded = decodeURI(path);
  } catch {
    /* keep the raw path */
  }
  if (!path.endsWith(tail) && !decoded.endsWith(tail)) {
    p.push({ field, message: `${JSON.stringify(url)} must end with ${tail}` });
  }
}

function checkManifestVersion(p: Problems, v: unknown): void {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) {
    p.push({ field: 'manifestVersion', message: `must be a positive integer, not ${JSON.stringify(v)}` });
  } else if (!Number.isSafeInteger(v)) {
    p.push({
      field: 'manifestVersion',
      message: `${v} is beyond 2^53-1, which this implementation cannot compare exactly`,
    });
  }
}

function sizeOf(v: unknown): number | undefined {
  // Advisory only (the CTT checks that a wrong sizeBytes is never fatal): keep it when it is sane, else drop it.
  return typeof v === 'number' && Number.isFinite(v) && v >= 0 ? v : undefined;
}

/** Validates the manifest's rules; returns the problems (empty when it is valid). */
function check(m: unknown): { problems: Problems; manifest?: StateManifest } {
  const p: Problems = [];
  if (!isObject(m))
    return { problems: [{ field: '', message: `must be a JSON object, not ${describe(m)}` }] };
  checkManifestVersion(p, m.manifestVersion);
  const deployments: StateManifest['deployments'] = [];
  if (!Array.isArray(m.deployments)) {
    p.push({
      field: 'deployments',
      message: `is required and must be a list, not ${describe(m.deployments)}`,
    });
  } else {
    const seen = new Set<string>();
    m.deployments.forEach((d: unknown, i: number) => {
      const f = `deployments[${i}]`;
      if (!isObject(d)) {
        p.push({ field: f, message: `must be an object, not ${describe(d)}` });
        return;
      }
      const before = p.length;
      const id = d.deploymentId;
      if (typeof id !== 'string' || !DEPLOYMENT_ID.test(id)) {
        p.push({
          field: `${f}.deploymentId`,
          message: `${JSON.stringify(id)} must match ${DEPLOYMENT_ID.source}`,
        });
      } else if (seen.has(id))
        p.push({ field: `${f}.deploymentId`, message: `duplicate deploymentId "${id}"` });
      else seen.add(id);
      if (!isDigest(d.digest)) {
        p.push({
          field: `${f}.digest`,
          message: `${JSON.stringify(d.digest)} must be sha256: and 64 lowercase hex digits`,
        });
      } else if (typeof id === 'string') checkUrl(p, `${f}.url`, d.url, `/deployments/${id}/${d.digest}`);
      if (p.length > before) return;
      const size = sizeOf(d.sizeBytes);
      deployments.push({
        deploymentId: id as string,
        digest: d.digest as string,
        ...(size !== undefined ? { sizeBytes: size } : {}),
        url: d.url as string,
      });
    });
  }
  let bundle: StateManifest['bundle'] = null;
  if (!('bundle' in m)) {
    p.push({ field: 'bundle', message: 'is required (null when there are no deployments)' });
  } else if (m.bundle !== null) {
    const b = m.bundle;
    if (!isObject(b)) p.push({ field: 'bundle', message: `must be an object or null, not ${describe(b)}` });
    else {
      const before = p.length;
      if (b.mediaType !== BUNDLE_MEDIA_TYPE) {
        p.push({
          field: 'bundle.mediaType',
          message: `must be ${BUNDLE_MEDIA_TYPE}, not ${JSON.stringify(b.mediaType)}`,
        });
      }
      if (!isDigest(b.digest)) {
        p.push({
          field: 'bundle.digest',
          message: `${JSON.stringify(b.digest)} must be sha256: and 64 lowercase hex digits`,
        });
      } else checkUrl(p, 'bundle.url', b.url, `/bundles/${b.digest}`);
      if (p.length === before) {
        const size = sizeOf(b.sizeBytes);
        bundle = {
          mediaType: BUNDLE_MEDIA_TYPE,
          digest: b.digest as string,
          ...(size !== undefined ? { sizeBytes: size } : {}),
          url: b.url as string,
        };
      }
    }
    if (Array.isArray(m.deployments) && m.deployments.length === 0) {
      p.push({
        field: 'bundle',
        message: 'must be null when there are no deployments (an empty bundle is never served)',
      });
    }
  } else if (Array.isArray(m.deployments) && m.deployments.length > 0) {
    p.push({ field: 'bundle', message: 'must not be null when there are deployments' });
  }
  if (p.length > 0) return { problems: p };
  return { problems: p, manifest: { manifestVersion: m.manifestVersion as number, bundle, deployments } };
}

function summary(subject: string, problems: Problems): string {
  return summarize(
    subject,
    problems.map((e) => ({ path: e.field, message: e.message, severity: 'error' as const })),
  );
}

/** The manifest as JCS bytes, after checking it (`bundle: null` exactly when there are no deployments). */
export function serializeStateManifest(m: StateManifest): Buffer {
  const { problems, manifest } = check(m);
  if (!manifest)
    throw new OutpostError('invalid-input', summary('state manifest', problems), { errors: problems });
  return Buffer.from(canonicalJson(manifest), 'utf8');
}

/**
 * The same bytes as `serializeStateManifest`, written directly for a manifest the server assembled
 * itself from values it already checked (digests it computed, ids from the deployments repository):
 * no validation and no generic canonicaliser, because a deploy to 10,000 nodes serialises 10,000 of
 * them. Members are emitted in RFC 8785 order; strings and numbers as JSON.stringify writes them (which
 * is what RFC 8785 specifies). A property test checks it against the general path.
 */
export function encodeStateManifest(m: StateManifest): Buffer {
  const num = (n: number) => JSON.stringify(n);
  const str = (s: string) => JSON.stringify(s);
  const bundle = m.bundle
    ? `{"digest":${str(m.bundle.digest)},"mediaType":${str(m.bundle.mediaType)}${
        m.bundle.sizeBytes === undefined ? '' : `,"sizeBytes":${num(m.bundle.sizeBytes)}`
      },"url":${str(m.bundle.url)}}`
    : 'null';
  const deployments = m.deployments
    .map(
      (d) =>
        `{"deploymentId":${str(d.deploymentId)},"digest":${str(d.digest)}${
          d.sizeBytes === undefined ? '' : `,"sizeBytes":${num(d.sizeBytes)}`
        },"url":${str(d.url)}}`,
    )
    .join(',');
  return Buffer.from(
    `{"bundle":${bundle},"deployments":[${deployments}],"manifestVersion":${num(m.manifestVersion)}}`,
    'utf8',
  );
}

/**
 * Agent side: reads a manifest body (bytes, text or parsed JSON) and checks it strictly: a positive
 * integer manifestVersion, `sha256:` digests, URLs that address those digests, `bundle` null exactly
 * when `deployments` is empty. Unknown members are ignored; a bad `sizeBytes` is dropped, never fatal.
 * Throws `margo/invalid-manifest` (502: the server sent something unusable).
 */
export function parseStateManifest(body: unknown): StateManifest {
  let value = body;
  if (typeof body === 'string' || body instanceof Uint8Array) {
    const text = typeof body === 'string' ? body : Buffer.from(body).toString('utf8');
    try {
      value = JSON.parse(text);
    } catch (err) {
      throw new OutpostError(
        'margo/invalid-manifest',
        `state manifest: not JSON (${(err as Error).message})`,
        {
          status: 502,
          errors: [{ field: '', message: 'not JSON' }],
        },
      );
    }
  }
  const { problems, manifest } = check(value);
  if (!manifest) {
    throw new OutpostError('margo/invalid-manifest', summary('state manifest', problems), {
      status: 502,
      errors: problems,
    });
  }
  return manifest;
}
