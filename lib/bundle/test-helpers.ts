import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'vitest';
import { OutpostError } from '../errors/index.js';
import { manualClock } from '../base/index.js';
import { type BundleSigner, keySigner } from './keys.js';
import {
  generateKeyPair,
  parsePublicKey,
  parseSignature,
  type SecretKey,
  formatSignature,
  signMessage,
} from './minisign.js';
import { BLOCK, padding, parseHeader, isZeroBlock, tarHeader } from './tar.js';
import { writeBundle, type BlobInput, type BundleHeader, type WrittenBundle } from './write.js';
import {
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
  type BundleIndex,
} from './format.js';

/** Test helpers for lib/bundle (not part of its entry). */

export function tempDir(prefix: string): { dir: string; cleanup: () => void } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `outpost-${prefix}-`));
  return { dir, cleanup: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

/** 2026-01-01T00:00:00Z: bundles made by the helpers are created then and expire 30 days later. */
export const T0 = Date.UTC(2026, 0, 1);
export const DAY = 24 * 60 * 60 * 1000;

export function clockAt(ms: number) {
  const c = manualClock(T0);
  c.set(ms);
  return c;
}

export function defaultHeader(over: Partial<BundleHeader> = {}): BundleHeader {
  return {
    kind: 'hq-to-site',
    source: 'hq',
    target: 'site-a',
    sequence: 5,
    created: new Date(T0),
    expires: new Date(T0 + 30 * DAY),
    acknowledged: 2,
    git: { ref: 'refs/heads/main', from: 'a'.repeat(40), to: 'b'.repeat(40) },
    meta: { apps: ['hello-wasm'] },
    ...over,
  };
}

/** Deterministic pseudo-random bytes (a seeded xorshift), so failures reproduce. */
export function pseudoRandomBytes(n: number, seed: number): Buffer {
  const out = Buffer.alloc(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

export function defaultBlobs(): BlobInput[] {
  return [
    {
      role: 'app-description',
      mediaType: 'application/yaml',
      source: { bytes: Buffer.from('name: hello\n') },
    },
    {
      role: 'git-pack',
      source: {
        stream: async function* () {
          yield Buffer.from('PACK');
          yield pseudoRandomBytes(3000, 7);
        },
      },
    },
    { role: 'oci-blob', mediaType: 'application/wasm', source: { bytes: pseudoRandomBytes(100_000, 11) } },
    {
      role: 'oci-manifest',
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      source: { bytes: Buffer.from('{}') },
    },
  ];
}

export async function makeBundle(
  dir: string,
  options: {
    key?: SecretKey;
    header?: Partial<BundleHeader>;
    blobs?: BlobInput[];
    name?: string;
    signer?: BundleSigner;
  } = {},
): Promise<{ file: string; key: SecretKey; written: WrittenBundle }> {
  const key = options.key ?? generateKeyPair();
  const file = path.join(dir, options.name ?? 'bundle.outpost.tar');
  const written = await writeBundle({
    file,
    header: defaultHeader(options.header),
    blobs: options.blobs ?? defaultBlobs(),
    signer: options.signer ?? keySigner(key),
    clock: clockAt(T0),
  });
  return { file, key, written };
}

/** The bytes in chunks of `size` (a stream the reader pulls from). */
export async function* chunked(bytes: Uint8Array, size = 64 * 1024): AsyncGenerator<Uint8Array> {
  for (let at = 0; at < bytes.length; at += size) yield bytes.subarray(at, at + size);
}

/** Runs `p`, expecting an OutpostError with `code`; returns it. */
export async function expectCode(p: Promise<unknown>, code: string): Promise<OutpostError> {
  let caught: unknown;
  try {
    await p;
  } catch (err) {
    caught = err;
  }
  expect(caught, `expected ${code}`).toBeInstanceOf(OutpostError);
  expect((caught as OutpostError).code, (caught as OutpostError).message).toBe(code);
  expect((caught as OutpostError).message).not.toContain('\n');
  return caught as OutpostError;
}

export interface Segment {
  name: string;
  start: number;
  end: number;
}

/** The entries of one of our tar files (header + data + padding each) and where the end marker starts. */
export function splitTar(buf: Buffer): { entries: Segment[]; end: number } {
  const entries: Segment[] = [];
  let at = 0;
  while (at + BLOCK <= buf.length) {
    const h = buf.subarray(at, at + BLOCK);
    if (isZeroBlock(h)) return { entries, end: at };
    const p = parseHeader(h);
    const size = p.size!;
    const end = at + BLOCK + size + padding(size);
    entries.push({ name: p.name, start: at, end });
    at = end;
  }
  throw new Error('no end-of-archive marker');
}

/** A signer that shells out to Debian's `minisign -S` with a minisign secret-key file. */
export function minisignSigner(dir: string, keyFile: string, pubFile: string, legacy: boolean): BundleSigner {
  return {
    publicKey: parsePublicKey(fs.readFileSync(pubFile, 'utf8')),
    sign(message, trustedComment) {
      const m = path.join(dir, `msg-${Math.random().toString(36).slice(2)}`);
      fs.writeFileSync(m, message);
      execFileSync(
        'minisign',
        ['-S', ...(legacy ? ['-l'] : []), '-s', keyFile, '-t', trustedComment, '-m', m],
        {
          stdio: 'pipe',
        },
      );
      return parseSignature(fs.readFileSync(`${m}.minisig`, 'utf8'));
    },
  };
}

/** One tar entry in our header format. */
export function tarEntry(name: string, bytes: Buffer, mtime = 0): Buffer {
  return Buffer.concat([tarHeader(name, bytes.length, mtime), bytes, Buffer.alloc(padding(bytes.length))]);
}

/**
 * An in-memory bundle assembled from an index the test writes by hand (anything, even what the writer
 * refuses), signed with `key`: the head (index, signature, derived OCI files) and the blob entries
 * whose bytes are given, then the end marker. `index.signer` is set from the key.
 */
export function assembleBundle(
  index: Omit<BundleIndex, 'signer'> & { signer?: string },
  key: SecretKey,
  blobs: Map<string, Buffer>,
): { head: Buffer; body: Buffer; end: Buffer; all: Buffer } {
  const full = { ...index, signer: index.signer ?? key.keyId } as BundleIndex;
  const indexBytes = serializeIndex(full);
  const sig = signMessage(indexBytes, key, {
    trustedComment: indexTrustedComment(full),
    untrustedComment: indexUntrustedComment(key.keyId),
  });
  const derived = deriveEntries(full, sha256(indexBytes));
  const mtime = entryMtime(full);
  const head = Buffer.concat([
    tarEntry(INDEX_ENTRY, indexBytes, mtime),
    tarEntry(SIGNATURE_ENTRY, Buffer.from(formatSignature(sig)), mtime),
    tarEntry(LAYOUT_ENTRY, derived.ociLayout, mtime),
    tarEntry(OCI_INDEX_ENTRY, derived.ociIndex, mtime),
    tarEntry(blobEntryName(derived.manifestDigest), derived.manifest, mtime),
    tarEntry(blobEntryName(derived.configDigest), derived.config, mtime),
  ]);
  const body = Buffer.concat(
    full.blobs
      .filter((b) => blobs.has(b.digest))
      .map((b) => tarEntry(blobEntryName(b.digest), blobs.get(b.digest)!, mtime)),
  );
  const end = Buffer.alloc(2 * BLOCK);
  return { head, body, end, all: Buffer.concat([head, body, end]) };
}

/** A hand-written index for `assembleBundle`, listing `blobs` (role oci-blob). */
export function indexFor(blobs: Buffer[], over: Partial<BundleIndex> = {}): Omit<BundleIndex, 'signer'> {
  return {
    format: 'outpost-bundle',
    version: 1,
    kind: 'hq-to-site',
    source: 'hq',
    target: 'site-a',
    sequence: 5,
    created: new Date(T0).toISOString(),
    expires: new Date(T0 + 30 * DAY).toISOString(),
    acknowledged: null,
    git: null,
    rotations: [],
    meta: {},
    blobs: blobs.map((b) => ({
      digest: sha256(b),
      size: b.length,
      mediaType: 'application/octet-stream',
      role: 'oci-blob',
    })),
    ...over,
  };
}

/** Yields `parts` in order; a function part is a lazy generator. Counts the bytes pulled. */
export function countingStream(parts: (Uint8Array | (() => Iterable<Uint8Array>))[]): {
  stream: AsyncIterable<Uint8Array>;
  pulled: () => number;
} {
  let pulled = 0;
  return {
    pulled: () => pulled,
    stream: (async function* () {
      for (const part of parts) {
        if (typeof part === 'function') {
          for (const chunk of part()) {
            pulled += chunk.length;
            yield chunk;
          }
        } else {
          pulled += part.length;
          yield part;
        }
      }
    })(),
  };
}

export { keySigner };
