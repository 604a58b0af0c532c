import fs from 'node:fs';
import type { Readable } from 'node:stream';
import { ociError } from './errors.js';
import { digestOf, hashFile } from './digest.js';
import { EMPTY_CONFIG, MediaType, type Descriptor, type ImageManifest } from './media-types.js';
import { formatReference, type Reference } from './reference.js';
import type { Session } from './session.js';
import { discard } from './transport.js';

/** One blob to push: a file on disk (streamed, never read whole) or bytes in memory. */
export interface PushBlob {
  path?: string;
  bytes?: Uint8Array;
  mediaType: string;
  annotations?: Record<string, string>;
}

export interface PushProgress {
  /** The layer's title annotation, or `config`, or its digest. */
  name: string;
  digest?: string;
  state: 'hashing' | 'uploading' | 'exists' | 'done';
  transferred: number;
  total: number;
}

export interface PushOptions {
  /** Must carry a tag (the manifest is stored under it). */
  ref: Reference;
  files: PushBlob[];
  /** The manifest config; when absent the OCI empty config is used and `artifactType` is required. */
  config?: PushBlob;
  artifactType?: string;
  annotations?: Record<string, string>;
  onProgress?: (p: PushProgress) => void;
  signal?: AbortSignal;
  /** Blobs up to this size go up in one PUT; larger ones in chunked PATCHes. Default 8 MiB. */
  monolithicMaxBytes?: number;
  /** PATCH chunk size for large blobs. Default 16 MiB (raised to the registry's OCI-Chunk-Min-Length). */
  chunkBytes?: number;
}

export interface PushResult {
  digest: string;
  manifest: ImageManifest;
  /** The exact manifest bytes that were stored. */
  bytes: Buffer;
}

interface Prepared {
  descriptor: Descriptor;
  source: PushBlob;
  name: string;
}

/**
 * Pushes an artifact: every blob not already in the repository (HEAD check) is uploaded, small ones
 * monolithically (POST + PUT), large ones in chunks (POST + PATCH… + PUT); then the OCI 1.1 image
 * manifest is PUT under the reference's tag. Returns the manifest digest.
 */
export async function push(session: Session, options: PushOptions): Promise<PushResult> {
  const { ref } = options;
  const what = formatReference(ref);
  if (!ref.tag)
    throw ociError('oci/invalid-reference', `${what}: pushing needs a tag (repository:tag)`, {
      reference: what,
    });
  if (ref.digest)
    throw ociError(
      'oci/invalid-reference',
      `${what}: push to a tag, without a digest (the registry computes it)`,
      {
        reference: what,
      },
    );
  if (options.files.length === 0)
    throw ociError('oci/invalid-manifest', `${what}: nothing to push (no files)`);
  if (!options.config && !options.artifactType)
    throw ociError(
      'oci/invalid-manifest',
      `${what}: an artifact without a config needs an artifactType (OCI image spec 1.1)`,
    );

  const layers: Prepared[] = [];
  for (const [i, f] of options.files.entries()) {
    const name = f.annotations?.['org.opencontainers.image.title'] ?? f.path ?? `layer ${i}`;
    layers.push(await prepare(f, name, options));
  }
  const config: Prepared = options.config
    ? await prepare(options.config, 'config', options)
    : {
        descriptor: {
          mediaType: EMPTY_CONFIG.mediaType,
          digest: EMPTY_CONFIG.digest,
          size: EMPTY_CONFIG.size,
        },
        source: { bytes: Buffer.from('{}'), mediaType: EMPTY_CONFIG.mediaType },
        name: 'config',
      };

  const seen = new Set<string>();
  for (const blob of [config, ...layers]) {
    if (seen.has(blob.descriptor.digest)) continue;
    seen.add(blob.descriptor.digest);
    await uploadBlob(session, ref, blob, options);
  }

  const manifest: ImageManifest = {
    schemaVersion: 2,
    mediaType: MediaType.ociManifest,
    ...(options.artifactType ? { artifactType: options.artifactType } : {}),
    config: config.descriptor,
    layers: layers.map((l) => l.descriptor),
    ...(options.annotations && Object.keys(options.annotations).length
      ? { annotations: options.annotations }
      : {}),
  };
  const bytes = Buffer.from(JSON.stringify(manifest), 'utf8');
  const digest = digestOf(bytes);
  const res = await session.request(ref, {
    method: 'PUT',
    path: `manifests/${ref.tag}`,
    headers: { 'content-type': MediaType.ociManifest, 'content-length': String(bytes.length) },
    body: () => bytes,
    access: 'push',
    signal: options.signal,
    what,
  });
  if (res.status !== 201 && !res.ok) return session.fail(res, what, 'repository');
  await discard(res);
  const stored = res.headers.get('docker-content-digest');
  if (stored && stored.startsWith('sha256:') && stored !== digest)
    throw ociError(
      'oci/digest-mismatch',
      `${what}: the registry stored the manifest as ${stored}, expected ${digest}`,
      {
        expected: digest,
        actual: stored,
      },
    );
  return { digest, manifest, bytes };
}

async function prepare(f: PushBlob, name: string, options: PushOptions): Promise<Prepared> {
  let digest: string;
  let size: number;
  if (f.bytes) {
    digest = digestOf(f.bytes);
    size = f.bytes.length;
  } else if (f.path) {
    let total = 0;
    try {
      total = fs.statSync(f.path).size;
    } catch (err) {
      throw ociError(
        'oci/not-found',
        `cannot read ${f.path}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`,
      );
    }
    let done = 0;
    options.onProgress?.({ name, state: 'hashing', transferred: 0, total });
    ({ digest, size } = await hashFile(f.path, 'sha256', {
      signal: options.signal,
      onBytes: (n) => {
        done += n;
        options.onProgress?.({ name, state: 'hashing', transferred: done, total });
      },
    }).catch((err: unknown) => {
      if ((err as Error).name === 'AbortError') throw ociError('cancelled', `${name}: cancelled`);
      throw err;
    }));
  } else {
    throw ociError('oci/invalid-manifest', `${name}: a blob needs a path or bytes`);
  }
  return {
    descriptor: {
      mediaType: f.mediaType,
      digest,
      size,
      ...(f.annotations && Object.keys(f.annotations).length ? { annotations: f.annotations } : {}),
    },
    source: f,
    name,
  };
}

function bodyOf(source: PushBlob, start: number, end: number): () => Readable | Uint8Array {
  if (source.bytes) {
    const b = source.bytes.subarray(start, end);
    return () => b;
  }
  const file = source.path!;
  return () =>
    end > start
      ? fs.createReadStream(file, { start, end: end - 1, highWaterMark: 1 << 20 })
      : Buffer.alloc(0);
}

function withDigest(location: string, base: string, digest: string): string {
  const u = new URL(location, base);
  u.searchParams.set('digest', digest);
  return u.toString();
}

async function uploadBlob(
  session: Session,
  ref: Reference,
  blob: Prepared,
  options: PushOptions,
): Promise<void> {
  const { digest, size } = blob.descriptor;
  const what = `${formatReference({ ...ref, tag: undefined })}@${digest}`;
  const report = (state: PushProgress['state'], transferred: number) =>
    options.onProgress?.({ name: blob.name, digest, state, transferred, total: size });
  const common = { access: 'push' as const, signal: options.signal, what };

  const head = await session.request(ref, { ...common, method: 'HEAD', path: `blobs/${digest}` });
  await discard(head);
  if (head.ok) {
    report('exists', size);
    return;
  }
  if (head.status !== 404) return session.fail(head, what, 'blob');

  const start = await session.request(ref, {
    ...common,
    method: 'POST',
    path: 'blobs/uploads/',
    headers: { 'content-length': '0' },
  });
  if (start.status !== 202) return session.fail(start, what, 'repository');
  await discard(start);
  const base = session.transport.baseUrl(ref.registry);
  let location = start.headers.get('location');
  if (!location) throw ociError('oci/registry-error', `${what}: the registry gave no upload location`);
  location = new URL(location, base).toString();
  report('uploading', 0);

  const monolithicMax = options.monolithicMaxBytes ?? 8 * 1024 * 1024;
  if (size <= monolithicMax) {
    const res = await session.request(ref, {
      ...common,
      method: 'PUT',
      path: withDigest(location, base, digest),
      headers: { 'content-type': 'application/octet-stream', 'content-length': String(size) },
      body: bodyOf(blob.source, 0, size),
    });
    if (res.status !== 201 && !res.ok) return session.fail(res, what, 'upload');
    await discard(res);
    report('done', size);
    return;
  }

  const minChunk = Number(start.headers.get('oci-chunk-min-length') ?? 0) || 0;
  const chunk = Math.max(options.chunkBytes ?? 16 * 1024 * 1024, minChunk);
  for (let offset = 0; offset < size; offset += chunk) {
    const end = Math.min(size, offset + chunk);
    const res = await session.request(ref, {
      ...common,
      method: 'PATCH',
      path: location,
      headers: {
        'content-type': 'application/octet-stream',
        'content-length': String(end - offset),
        'content-range': `${offset}-${end - 1}`,
      },
      body: bodyOf(blob.source, offset, end),
    });
    if (res.status !== 202) return session.fail(res, what, 'upload');
    await discard(res);
    const next = res.headers.get('location');
    if (next) location = new URL(next, base).toString();
    report('uploading', end);
  }
  const done = await session.request(ref, {
    ...common,
    method: 'PUT',
    path: withDigest(location, base, digest),
    headers: { 'content-length': '0' },
  });
  if (done.status !== 201 && !done.ok) return session.fail(done, what, 'upload');
  await discard(done);
  report('done', size);
}
