import { ociError } from './errors.js';
import { digestOf, parseDigest } from './digest.js';
import {
  INDEX_MEDIA_TYPES,
  MANIFEST_MEDIA_TYPES,
  isIndex,
  type AnyManifest,
  type Descriptor,
  type ImageIndex,
  type ImageManifest,
  type Platform,
} from './media-types.js';
import { formatReference, referenceTarget, type Reference } from './reference.js';
import type { Session } from './session.js';
import { readLimited } from './transport.js';

/** Registries may refuse larger manifests (OCI distribution spec: 4 MiB); we refuse to read more. */
export const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;

const ACCEPT = [...MANIFEST_MEDIA_TYPES, ...INDEX_MEDIA_TYPES].join(', ');

export interface FetchedManifest<M extends AnyManifest = AnyManifest> {
  digest: string;
  mediaType: string;
  manifest: M;
  /** The exact bytes the digest covers. */
  bytes: Buffer;
}

export interface Resolved extends FetchedManifest<ImageManifest> {
  /** Set when the reference named an index and one of its manifests was chosen. */
  index?: FetchedManifest<ImageIndex>;
}

export interface ResolveOptions {
  /** Which entry of an index to take; default: the only entry, else this machine's linux platform. */
  platform?: Platform;
  signal?: AbortSignal;
}

/**
 * Fetches a manifest or index by tag or digest, verifying its digest: against the reference's digest
 * when pulled by digest, otherwise against the registry's `Docker-Content-Digest` when it sends one.
 */
export async function fetchManifest(
  session: Session,
  ref: Reference,
  options: { signal?: AbortSignal } = {},
): Promise<FetchedManifest> {
  const what = formatReference(ref);
  const target = referenceTarget(ref);
  const res = await session.request(ref, {
    method: 'GET',
    path: `manifests/${target}`,
    headers: { accept: ACCEPT },
    access: 'pull',
    signal: options.signal,
    what,
  });
  if (!res.ok) return session.fail(res, what, 'manifest');
  const bytes = await readLimited(res, MAX_MANIFEST_BYTES, `${what}: manifest`);
  const algorithm = ref.digest ? parseDigest(ref.digest).algorithm : 'sha256';
  const digest = digestOf(bytes, algorithm);
  if (ref.digest && digest !== ref.digest)
    throw ociError('oci/digest-mismatch', `${what}: the registry sent a manifest whose digest is ${digest}`, {
      expected: ref.digest,
      actual: digest,
    });
  const header = res.headers.get('docker-content-digest');
  if (!ref.digest && header && header.startsWith(`${algorithm}:`) && header !== digest)
    throw ociError(
      'oci/digest-mismatch',
      `${what}: the manifest's digest is ${digest} but the registry says ${header}`,
      { expected: header, actual: digest },
    );
  const { manifest, mediaType } = parseManifest(bytes, res.headers.get('content-type'), what);
  return { digest, mediaType, manifest, bytes };
}

/** Parses and checks the shape of manifest bytes; the media type comes from the body, else the header. */
export function parseManifest(
  bytes: Buffer,
  contentType: string | null,
  what: string,
): { manifest: AnyManifest; mediaType: string } {
  let json: unknown;
  try {
    json = JSON.parse(bytes.toString('utf8'));
  } catch {
    throw ociError('oci/invalid-manifest', `${what}: the manifest is not JSON`);
  }
  if (!json || typeof json !== 'object' || Array.isArray(json))
    throw ociError('oci/invalid-manifest', `${what}: the manifest is not a JSON object`);
  const m = json as Record<string, unknown>;
  const headerType = contentType?.split(';')[0]?.trim();
  const mediaType =
    typeof m.mediaType === 'string'
      ? m.mediaType
      : headerType && headerType !== 'application/json'
        ? headerType
        : Array.isArray(m.manifests)
          ? INDEX_MEDIA_TYPES[0]!
          : MANIFEST_MEDIA_TYPES[0]!;
  if (m.schemaVersion !== 2)
    throw ociError(
      'oci/unsupported-media-type',
      `${what}: manifest schemaVersion ${String(m.schemaVersion)} (${mediaType}) is not supported`,
    );
  if (INDEX_MEDIA_TYPES.includes(mediaType)) {
    if (!Array.isArray(m.manifests))
      throw ociError('oci/invalid-manifest', `${what}: the index has no manifests`);
    (m.manifests as unknown[]).forEach((d, i) => checkDescriptor(d, `${what}: manifests[${i}]`));
    return { manifest: m as unknown as ImageIndex, mediaType };
  }
  if (MANIFEST_MEDIA_TYPES.includes(mediaType)) {
    checkDescriptor(m.config, `${what}: config`);
    if (!Array.isArray(m.layers))
      throw ociError('oci/invalid-manifest', `${what}: the manifest has no layers`);
    (m.layers as unknown[]).forEach((d, i) => checkDescriptor(d, `${what}: layers[${i}]`));
    return { manifest: m as unknown as ImageManifest, mediaType };
  }
  throw ociError('oci/unsupported-media-type', `${what}: manifest media type ${mediaType} is not supported`, {
    mediaType,
  });
}

function checkDescriptor(d: unknown, where: string): asserts d is Descriptor {
  const x = d as Partial<Descriptor> | null;
  if (!x || typeof x !== 'object') throw ociError('oci/invalid-manifest', `${where}: not a descriptor`);
  if (typeof x.mediaType !== 'string')
    throw ociError('oci/invalid-manifest', `${where}: mediaType is missing`);
  if (typeof x.size !== 'number' || !Number.isSafeInteger(x.size) || x.size < 0)
    throw ociError('oci/invalid-manifest', `${where}: size is not a non-negative integer`);
  try {
    parseDigest(String(x.digest), where);
  } catch (err) {
    throw ociError('oci/invalid-manifest', (err as Error).message);
  }
}

/** Node's platform in OCI terms (`linux/amd64`, `linux/arm64`, …). */
export function currentPlatform(): Platform {
  const arch: Record<string, string> = {
    x64: 'amd64',
    ia32: '386',
    arm64: 'arm64',
    arm: 'arm',
    ppc64: 'ppc64le',
  };
  return { os: 'linux', architecture: arch[process.arch] ?? process.arch };
}

function platformText(p: Platform | undefined): string {
  return p ? `${p.os}/${p.architecture}${p.variant ? `/${p.variant}` : ''}` : 'unknown';
}

/** Picks the entry of an index: the only one, or the one matching the platform (attestations ignored). */
export function selectFromIndex(index: ImageIndex, platform: Platform | undefined, what: string): Descriptor {
  const candidates = index.manifests.filter(
    (d) =>
      d.annotations?.['vnd.docker.reference.type'] !== 'attestation-manifest' &&
      !(d.platform?.os === 'unknown' && d.platform.architecture === 'unknown'),
  );
  if (candidates.length === 1 && !platform) return candidates[0]!;
  if (candidates.length === 0)
    throw ociError('oci/no-matching-platform', `${what}: the index lists no manifests`);
  const want = platform ?? currentPlatform();
  const match = candidates.find(
    (d) =>
      d.platform?.os === want.os &&
      d.platform.architecture === want.architecture &&
      (!want.variant || d.platform.variant === want.variant),
  );
  if (match) return match;
  throw ociError(
    'oci/no-matching-platform',
    `${what}: no manifest for ${platformText(want)} in the index (it has ${candidates.map((d) => platformText(d.platform)).join(', ')})`,
    { available: candidates.map((d) => d.platform ?? null) },
  );
}

/** Resolves a reference to an image manifest, descending into an index if needed. */
export async function resolve(
  session: Session,
  ref: Reference,
  options: ResolveOptions = {},
): Promise<Resolved> {
  const what = formatReference(ref);
  const top = await fetchManifest(session, ref, { signal: options.signal });
  if (!isIndex(top.manifest)) return top as FetchedManifest<ImageManifest>;
  const index = top as FetchedManifest<ImageIndex>;
  const entry = selectFromIndex(index.manifest, options.platform, what);
  const child = await fetchManifest(session, { ...ref, digest: entry.digest }, { signal: options.signal });
  if (child.bytes.length !== entry.size)
    throw ociError(
      'oci/digest-mismatch',
      `${what}: manifest ${entry.digest} is ${child.bytes.length} bytes, the index says ${entry.size}`,
    );
  if (isIndex(child.manifest))
    throw ociError(
      'oci/unsupported-media-type',
      `${what}: nested indexes are not supported (${entry.digest})`,
    );
  return { ...(child as FetchedManifest<ImageManifest>), index };
}
