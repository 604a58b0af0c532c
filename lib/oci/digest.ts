import crypto, { type Hash } from 'node:crypto';
import fs from 'node:fs';
import { ociError } from './errors.js';

/** Digest algorithms we verify, with the length of their hex encoding. */
const ALGORITHMS = { sha256: 64, sha512: 128 } as const;
export type DigestAlgorithm = keyof typeof ALGORITHMS;

export interface ParsedDigest {
  algorithm: DigestAlgorithm;
  hex: string;
}

const DIGEST_SHAPE = /^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/;

/** Parses `sha256:<64 hex>` or `sha512:<128 hex>`; anything else is `oci/invalid-digest`. */
export function parseDigest(digest: string, where = 'digest'): ParsedDigest {
  if (typeof digest !== 'string' || !DIGEST_SHAPE.test(digest))
    throw ociError('oci/invalid-digest', `${where}: "${String(digest)}" is not a digest (algorithm:hex)`);
  const i = digest.indexOf(':');
  const algorithm = digest.slice(0, i);
  const hex = digest.slice(i + 1);
  if (!(algorithm in ALGORITHMS))
    throw ociError(
      'oci/invalid-digest',
      `${where}: digest algorithm "${algorithm}" is not supported (use sha256 or sha512)`,
    );
  const len = ALGORITHMS[algorithm as DigestAlgorithm];
  if (hex.length !== len || !/^[a-f0-9]+$/.test(hex))
    throw ociError(
      'oci/invalid-digest',
      `${where}: "${digest}" is not a valid ${algorithm} digest (${len} lowercase hex digits)`,
    );
  return { algorithm: algorithm as DigestAlgorithm, hex };
}

export function isDigest(s: string): boolean {
  try {
    parseDigest(s);
    return true;
  } catch {
    return false;
  }
}

export function createHasher(algorithm: DigestAlgorithm = 'sha256'): Hash {
  return crypto.createHash(algorithm);
}

export function digestOf(bytes: Uint8Array | string, algorithm: DigestAlgorithm = 'sha256'): string {
  return `${algorithm}:${crypto.createHash(algorithm).update(bytes).digest('hex')}`;
}

/** Streams a file through the hash (never holds it in memory); returns digest and size. */
export async function hashFile(
  file: string,
  algorithm: DigestAlgorithm = 'sha256',
  options: { signal?: AbortSignal; onBytes?: (n: number) => void } = {},
): Promise<{ digest: string; size: number }> {
  const h = crypto.createHash(algorithm);
  let size = 0;
  const stream = fs.createReadStream(file, { highWaterMark: 1 << 20, signal: options.signal });
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    h.update(chunk);
    size += chunk.length;
    options.onBytes?.(chunk.length);
  }
  return { digest: `${algorithm}:${h.digest('hex')}`, size };
}

/** Feeds the first `length` bytes of a file into `hash` (used to resume a partial download). */
export async function hashInto(hash: Hash, file: string, length: number): Promise<void> {
  if (length === 0) return;
  const stream = fs.createReadStream(file, { start: 0, end: length - 1, highWaterMark: 1 << 20 });
  for await (const chunk of stream as AsyncIterable<Buffer>) hash.update(chunk);
}
