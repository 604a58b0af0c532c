import crypto from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { OutpostError } from '../errors/index.js';
import { systemClock, type Clock } from '../base/index.js';
import { bundleError, cancelledError, throwIfAborted } from './errors.js';
import {
  BUNDLE_FORMAT,
  BUNDLE_VERSION,
  BundleMediaType,
  INDEX_ENTRY,
  LAYOUT_ENTRY,
  OCI_INDEX_ENTRY,
  SIGNATURE_ENTRY,
  blobEntryName,
  deriveEntries,
  entryMtime,
  indexTrustedComment,
  indexUntrustedComment,
  serializeIndex,
  sha256,
  validateIndex,
  type BundleBlob,
  type BundleIndex,
  type BundleKind,
  type GitRange,
  type KeyRotation,
} from './format.js';
import type { BundleSigner } from './keys.js';
import { limitsOf, type BundleLimits } from './limits.js';
import { formatSignature, verifySignature, type MinisignSignature } from './minisign.js';
import { PositionalWriter } from './positional-writer.js';
import { BLOCK, entrySpan, padding, tarHeader } from './tar.js';

/** Where a blob's bytes come from. Streams are opened only when written (not at all for a duplicate). */
export type BlobSource =
  | { file: string }
  | { bytes: Uint8Array }
  | { stream: () => AsyncIterable<Uint8Array> | NodeJS.ReadableStream };

export interface BlobInput {
  role: string;
  /** Default `application/octet-stream`. */
  mediaType?: string;
  annotations?: Record<string, string>;
  /** The digest when known (OCI blobs): checked while writing; a repeated digest is skipped unread. */
  digest?: string;
  /** The size when known: checked while writing (a file's size is taken when the write starts). */
  size?: number;
  source: BlobSource;
}

export interface BundleHeader {
  kind: BundleKind;
  source: string;
  target: string;
  sequence: number;
  expires: Date;
  /** Default: the clock's now. */
  created?: Date;
  acknowledged?: number | null;
  git?: GitRange | null;
  meta?: Record<string, unknown>;
}

export interface BundleProgress {
  /** Blob bytes written (or read) so far. */
  bytes: number;
  /** All blob bytes, when every size is known in advance. */
  totalBytes: number | undefined;
  /** 0-based position of the blob being written, and how many there are. */
  blob: number;
  blobs: number;
}

export interface WriteBundleOptions {
  /** The bundle file to create; written to a temporary name beside it and renamed into place. */
  file: string;
  header: BundleHeader;
  /** In archive order: put small blobs first, so a reader meets the metadata before the payload. */
  blobs: readonly BlobInput[];
  signer: BundleSigner;
  /** Rotation statements from a key the receiver trusts to the signer's key (oldest first). */
  rotations?: readonly KeyRotation[];
  /** Replace an existing file (default: refuse with `already-exists`). */
  overwrite?: boolean;
  signal?: AbortSignal;
  /** Called for every chunk written (about every MiB): the CLI derives rate and ETA from it. */
  onProgress?: (progress: BundleProgress) => void;
  clock?: Clock;
  limits?: Partial<BundleLimits>;
}

export interface WrittenBundle {
  file: string;
  index: BundleIndex;
  indexDigest: string;
  manifestDigest: string;
  /** Bytes of the bundle file. */
  size: number;
  /** Blob bytes (what the throughput is measured on). */
  blobBytes: number;
  /** Blobs skipped because an earlier one had the same digest. */
  deduplicated: number;
  /** Wall-clock seconds spent writing (clock.monotonic). */
  seconds: number;
}

const CHUNK = 1 << 20;

/** Bytes of the signature file, whatever the signature values. */
function signatureLength(keyId: string, trustedComment: string): number {
  const dummy: MinisignSignature = {
    algorithm: 'ED',
    keyId,
    signature: Buffer.alloc(64),
    untrustedComment: indexUntrustedComment(keyId),
    trustedComment,
    globalSignature: Buffer.alloc(64),
  };
  return Buffer.byteLength(formatSignature(dummy));
}

/** Span of everything before the first blob: the index, its signature and the derived OCI entries. */
function headSpan(index: BundleIndex, indexBytes: number, signatureBytes: number): number {
  const d = deriveEntries(index, `sha256:${'0'.repeat(64)}`);
  return (
    entrySpan(indexBytes) +
    entrySpan(signatureBytes) +
    entrySpan(d.ociLayout.length) +
    entrySpan(d.ociIndex.length) +
    entrySpan(d.manifest.length) +
    entrySpan(d.config.length)
  );
}

function toInvalidInput(err: unknown): never {
  if (err instanceof OutpostError && err.code === 'bundle/invalid-index')
    throw bundleError(
      'invalid-input',
      err.message.replace('the bundle index is invalid', 'cannot write the bundle'),
      err.data,
    );
  throw err;
}

async function* chunksOf(source: BlobSource, signal: AbortSignal | undefined): AsyncGenerator<Uint8Array> {
  if ('bytes' in source) {
    for (let at = 0; at < source.bytes.length; at += CHUNK) yield source.bytes.subarray(at, at + CHUNK);
  } else if ('file' in source) {
    yield* fs.createReadStream(source.file, { highWaterMark: CHUNK, signal }) as AsyncIterable<Buffer>;
  } else {
    yield* source.stream() as AsyncIterable<Uint8Array>;
  }
}

/**
 * Writes a signed bundle, streaming every blob once: read, hash, write. The head (index, signature,
 * OCI layout files) comes first in the file but depends on every digest, so the writer reserves room
 * for it from an upper bound (digests have a fixed length; unknown sizes count as 16 digits), writes
 * the blobs after it with positional writes, then fills the head in; whatever the bound over-reserved
 * becomes trailing spaces in the index JSON (signed like the rest). The file is fsynced before it is
 * renamed into place, so a drive pulled right after sees either no bundle or a whole one.
 *
 * Hashing runs on the calling thread one 1 MiB chunk at a time (a few milliseconds each), with I/O
 * between chunks, so a server's event loop keeps serving while a bundle is written (ADR 0400).
 */
export async function writeBundle(options: WriteBundleOptions): Promise<WrittenBundle> {
  const clock = options.clock ?? systemClock;
  const limits = limitsOf(options.limits);
  const started = clock.monotonic();
  const { header, signer, signal } = options;
  const what = `writing ${options.file}`;
  throwIfAborted(signal, what);
  if (options.blobs.length > limits.maxBlobs)
    throw bundleError(
      'bundle/too-large',
      `a bundle holds at most ${limits.maxBlobs} blobs, not ${options.blobs.length}`,
    );

  const created = header.created ?? new Date(clock.now());
  const base: Omit<BundleIndex, 'blobs'> = {
    format: BUNDLE_FORMAT,
    version: BUNDLE_VERSION,
    kind: header.kind,
    source: header.source,
    target: header.target,
    sequence: header.sequence,
    created: created.toISOString(),
    expires: header.expires.toISOString(),
    acknowledged: header.acknowledged ?? null,
    git: header.git ?? null,
    signer: signer.publicKey.keyId,
    rotations: [...(options.rotations ?? [])],
    meta: header.meta ?? {},
  };

  // Sizes known in advance (bytes, files, declared) make the head's bound tight.
  const planned: { input: BlobInput; size: number | undefined }[] = [];
  const known = new Set<string>();
  let dedupedUpFront = 0;
  for (const input of options.blobs) {
    if (input.digest !== undefined && known.has(input.digest)) {
      dedupedUpFront++;
      continue;
    }
    if (input.digest !== undefined) known.add(input.digest);
    let size = input.size;
    if ('bytes' in input.source) size = input.source.bytes.length;
    else if ('file' in input.source) {
      try {
        size = (await fsp.stat(input.source.file)).size;
      } catch (err) {
        throw bundleError(
          'bundle/source-failed',
          `blob ${input.role}: ${(err as Error).message}`,
          undefined,
          err,
        );
      }
    }
    if (input.size !== undefined && size !== input.size)
      throw bundleError(
        'bundle/size-mismatch',
        `blob ${input.role}: declared ${input.size} bytes, the source has ${size}`,
      );
    planned.push({ input, size });
  }
  // Unique placeholder digests (all digests have one length) so the schema's duplicate check passes.
  const placeholder: BundleIndex = {
    ...base,
    blobs: planned.map(({ input, size }, i) => ({
      digest: `sha256:${i.toString(16).padStart(64, '0')}`,
      size: size ?? Number.MAX_SAFE_INTEGER,
      mediaType: input.mediaType ?? BundleMediaType.octetStream,
      role: input.role,
      ...(input.annotations ? { annotations: input.annotations } : {}),
    })),
  };
  try {
    validateIndex(placeholder);
  } catch (err) {
    toInvalidInput(err);
  }
  for (const p of planned)
    if (p.input.digest !== undefined && !/^sha256:[a-f0-9]{64}$/.test(p.input.digest))
      throw bundleError('invalid-input', `blob ${p.input.role}: "${p.input.digest}" is not a sha256 digest`);

  const trustedComment = indexTrustedComment(base);
  const sigLength = signatureLength(signer.publicKey.keyId, trustedComment);
  const maxIndexLength = serializeIndex(placeholder).length;
  if (maxIndexLength > limits.maxIndexBytes)
    throw bundleError(
      'bundle/too-large',
      `the bundle index would exceed ${limits.maxIndexBytes} bytes: split the bundle`,
    );
  const reserved = headSpan(placeholder, maxIndexLength, sigLength);
  const totalBytes = planned.every((p) => p.size !== undefined)
    ? planned.reduce((n, p) => n + p.size!, 0)
    : undefined;

  const dir = path.dirname(path.resolve(options.file));
  if (!options.overwrite && fs.existsSync(options.file))
    throw bundleError('already-exists', `${options.file} already exists`);
  await fsp.mkdir(dir, { recursive: true });
  const tmp = path.join(
    dir,
    `.${path.basename(options.file)}.${crypto.randomBytes(6).toString('hex')}.partial`,
  );
  const fh = await fsp.open(tmp, 'wx', 0o644);
  const out = new PositionalWriter(fh, options.file);
  let closed = false;
  try {
    const mtime = entryMtime(base);
    const blobs: BundleBlob[] = [];
    const written = new Set<string>();
    let deduplicated = dedupedUpFront;
    let pos = reserved;
    let done = 0;
    for (let i = 0; i < planned.length; i++) {
      const { input, size: expectedSize } = planned[i]!;
      throwIfAborted(signal, what);
      if (input.digest !== undefined && written.has(input.digest)) {
        deduplicated++;
        continue;
      }
      const start = pos;
      const hash = crypto.createHash('sha256');
      let size = 0;
      try {
        for await (const chunk of chunksOf(input.source, signal)) {
          throwIfAborted(signal, what);
          hash.update(chunk);
          await out.write(chunk, start + BLOCK + size);
          size += chunk.length;
          done += chunk.length;
          options.onProgress?.({ bytes: done, totalBytes, blob: i, blobs: planned.length });
        }
        await out.flush(); // before anything reuses this blob's positions
      } catch (err) {
        if (err instanceof OutpostError) throw err;
        if (signal?.aborted) throw cancelledError(what);
        throw bundleError(
          'bundle/source-failed',
          `blob ${input.role}: ${(err as Error).message}`,
          undefined,
          err,
        );
      }
      const digest = `sha256:${hash.digest('hex')}`;
      if (expectedSize !== undefined && size !== expectedSize)
        throw bundleError(
          'bundle/size-mismatch',
          `blob ${input.role}: expected ${expectedSize} bytes, read ${size} (did the source change while it was written?)`,
        );
      if (input.digest !== undefined && input.digest !== digest)
        throw bundleError(
          'bundle/digest-mismatch',
          `blob ${input.role}: expected ${input.digest}, the bytes hash to ${digest}`,
        );
      if (written.has(digest)) {
        deduplicated++; // a stream repeated an earlier blob: overwrite it with the next one
        continue;
      }
      written.add(digest);
      const pad = padding(size);
      if (pad > 0) await fh.write(Buffer.alloc(pad), 0, pad, start + BLOCK + size);
      await fh.write(tarHeader(blobEntryName(digest), size, mtime), 0, BLOCK, start);
      pos = start + BLOCK + size + pad;
      blobs.push({
        digest,
        size,
        mediaType: input.mediaType ?? BundleMediaType.octetStream,
        role: input.role,
        ...(input.annotations ? { annotations: input.annotations } : {}),
      });
    }
    throwIfAborted(signal, what);

    // The head: the index padded with spaces to fill exactly the room reserved for it.
    const index: BundleIndex = { ...base, blobs };
    const plain = serializeIndex(index);
    const slack = reserved - headSpan(index, plain.length, sigLength);
    if (slack < 0 || slack % BLOCK !== 0) throw new Error(`bundle head bound is wrong (slack ${slack})`);
    const indexBytes = Buffer.concat([plain, Buffer.alloc(slack, 0x20)]);
    if (indexBytes.length > limits.maxIndexBytes)
      throw bundleError(
        'bundle/too-large',
        `the bundle index would exceed ${limits.maxIndexBytes} bytes: split the bundle`,
      );
    const indexDigest = sha256(indexBytes);
    const derived = deriveEntries(index, indexDigest);
    if (written.has(derived.manifestDigest) || written.has(derived.configDigest))
      throw bundleError('invalid-input', 'a blob has the same bytes as the bundle manifest or config');

    const sig = await signer.sign(indexBytes, trustedComment);
    if (sig.keyId !== signer.publicKey.keyId || sig.trustedComment !== trustedComment)
      throw bundleError(
        'bundle/bad-signature',
        `the signer returned a signature by key ${sig.keyId} or with another trusted comment than asked`,
      );
    verifySignature({ bytes: indexBytes }, sig, signer.publicKey);
    const sigBytes = Buffer.from(
      formatSignature({ ...sig, untrustedComment: indexUntrustedComment(sig.keyId) }),
      'utf8',
    );
    if (sigBytes.length !== sigLength) throw new Error('signature length differs from its bound');

    const parts: Buffer[] = [];
    const entry = (name: string, bytes: Buffer): void => {
      parts.push(tarHeader(name, bytes.length, mtime), bytes, Buffer.alloc(padding(bytes.length)));
    };
    entry(INDEX_ENTRY, indexBytes);
    entry(SIGNATURE_ENTRY, sigBytes);
    entry(LAYOUT_ENTRY, derived.ociLayout);
    entry(OCI_INDEX_ENTRY, derived.ociIndex);
    entry(blobEntryName(derived.manifestDigest), derived.manifest);
    entry(blobEntryName(derived.configDigest), derived.config);
    const head = Buffer.concat(parts);
    if (head.length !== reserved)
      throw new Error(`bundle head is ${head.length} bytes, ${reserved} were reserved`);
    await fh.write(head, 0, head.length, 0);
    await fh.write(Buffer.alloc(2 * BLOCK), 0, 2 * BLOCK, pos);
    const size = pos + 2 * BLOCK;
    await fh.truncate(size);
    await fh.sync();
    await fh.close();
    closed = true;
    throwIfAborted(signal, what);
    if (!options.overwrite && fs.existsSync(options.file))
      throw bundleError('already-exists', `${options.file} already exists`);
    await fsp.rename(tmp, options.file);
    await syncDir(dir);
    return {
      file: options.file,
      index,
      indexDigest,
      manifestDigest: derived.manifestDigest,
      size,
      blobBytes: done,
      deduplicated,
      seconds: (clock.monotonic() - started) / 1000,
    };
  } catch (err) {
    await out.flush().catch(() => undefined);
    if (!closed) await fh.close().catch(() => undefined);
    await fsp.rm(tmp, { force: true });
    if (signal?.aborted && !(err instanceof OutpostError && err.code === 'cancelled'))
      throw cancelledError(what);
    throw err;
  }
}

/** Makes a rename durable (a no-op where directories cannot be opened, as on Windows). */
async function syncDir(dir: string): Promise<void> {
  let fh: fsp.FileHandle | undefined;
  try {
    fh = await fsp.open(dir, 'r');
    await fh.sync();
  } catch {
    // best effort: some file systems (vfat on a USB drive) refuse to fsync a directory
  } finally {
    await fh?.close().catch(() => undefined);
  }
}
