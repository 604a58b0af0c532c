import { MediaType } from '../../lib/oci/index.js';
import { registryError } from './errors.js';

/** The manifest media types the registry stores (OCI and Docker schema 2, image manifests and indexes). */
export const MANIFEST_TYPES: readonly string[] = [MediaType.ociManifest, MediaType.dockerManifest];
export const INDEX_TYPES: readonly string[] = [MediaType.ociIndex, MediaType.dockerManifestList];

export interface Ref {
  digest: string;
  size: number;
  mediaType: string;
}

/** What the store needs to know about a manifest: its type and what it points at. */
export interface ParsedManifest {
  mediaType: string;
  kind: 'manifest' | 'index';
  /** Config and layers (image manifest); blobs with `urls` (foreign layers) are left out. */
  blobs: Ref[];
  /** Child manifests (index). */
  manifests: Ref[];
  /** OCI 1.1 `subject` (the manifest this one refers to, e.g. a signature). */
  subject?: Ref;
  artifactType?: string;
}

const SHA256 = /^sha256:[a-f0-9]{64}$/;
const GENERIC_TYPES = new Set(['', 'application/json', 'application/octet-stream']);

function invalid(message: string): never {
  throw registryError('registry/manifest-invalid', message);
}

function descriptor(v: unknown, where: string): Ref & { urls?: unknown } {
  if (!v || typeof v !== 'object' || Array.isArray(v)) invalid(`${where} must be a descriptor object`);
  const d = v as Record<string, unknown>;
  if (typeof d.mediaType !== 'string' || d.mediaType === '')
    invalid(`${where}.mediaType must be a media type string`);
  if (typeof d.digest !== 'string' || !SHA256.test(d.digest))
    invalid(`${where}.digest must be a sha256 digest (sha256: and 64 lowercase hex digits)`);
  if (typeof d.size !== 'number' || !Number.isSafeInteger(d.size) || d.size < 0)
    invalid(`${where}.size must be a non-negative integer`);
  return { digest: d.digest, size: d.size, mediaType: d.mediaType, urls: d.urls };
}

/**
 * Parses and checks a manifest as received: JSON, schema version 2, a media type the registry stores
 * (from the document, else the request's Content-Type, else its shape), descriptors with sha256 digests.
 * Throws `registry/manifest-invalid` naming the problem. Docker schema 1 is refused.
 */
export function parseManifest(bytes: Uint8Array, contentType?: string): ParsedManifest {
  let doc: unknown;
  try {
    doc = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch (err) {
    invalid(`the manifest is not JSON (${(err as Error).message})`);
  }
  if (!doc || typeof doc !== 'object' || Array.isArray(doc)) invalid('the manifest must be a JSON object');
  const m = doc as Record<string, unknown>;
  const declaredType = (contentType ?? '').split(';')[0]!.trim().toLowerCase();
  if (m.schemaVersion === 1 || declaredType.startsWith('application/vnd.docker.distribution.manifest.v1'))
    invalid('Docker schema 1 manifests are not supported (push with schema 2 or OCI)');
  if (m.schemaVersion !== 2) invalid('schemaVersion must be 2');
  let mediaType: string;
  if (typeof m.mediaType === 'string') {
    mediaType = m.mediaType;
    if (!GENERIC_TYPES.has(declaredType) && declaredType !== mediaType)
      invalid(`the Content-Type ${declaredType} differs from the manifest's mediaType ${mediaType}`);
  } else if (!GENERIC_TYPES.has(declaredType)) mediaType = declaredType;
  else mediaType = Array.isArray(m.manifests) ? MediaType.ociIndex : MediaType.ociManifest;

  const subject = m.subject === undefined ? undefined : descriptor(m.subject, 'subject');
  const artifactType = typeof m.artifactType === 'string' ? m.artifactType : undefined;
  const common = {
    mediaType,
    ...(subject
      ? { subject: { digest: subject.digest, size: subject.size, mediaType: subject.mediaType } }
      : {}),
    ...(artifactType ? { artifactType } : {}),
  };
  if (INDEX_TYPES.includes(mediaType)) {
    if (!Array.isArray(m.manifests)) invalid('an index needs a manifests list');
    const manifests = (m.manifests as unknown[]).map((d, i) => {
      const r = descriptor(d, `manifests[${i}]`);
      return { digest: r.digest, size: r.size, mediaType: r.mediaType };
    });
    return { ...common, kind: 'index', blobs: [], manifests };
  }
  if (!MANIFEST_TYPES.includes(mediaType))
    invalid(`media type ${mediaType} is not a manifest type this registry stores`);
  if (!Array.isArray(m.layers)) invalid('an image manifest needs a layers list');
  const config = descriptor(m.config, 'config');
  const blobs: Ref[] = [{ digest: config.digest, size: config.size, mediaType: config.mediaType }];
  (m.layers as unknown[]).forEach((d, i) => {
    const r = descriptor(d, `layers[${i}]`);
    // Foreign layers (Windows base images) live elsewhere and are not pushed.
    if (Array.isArray(r.urls) && r.urls.length > 0) return;
    blobs.push({ digest: r.digest, size: r.size, mediaType: r.mediaType });
  });
  return { ...common, kind: 'manifest', blobs, manifests: [] };
}

/** Like parseManifest, but undefined instead of an error (garbage collection reads what is stored). */
export function tryParseManifest(bytes: Uint8Array, mediaType?: string): ParsedManifest | undefined {
  try {
    return parseManifest(bytes, mediaType);
  } catch {
    return undefined;
  }
}
