import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'vitest';
import { OutpostError } from '../../core/errors.js';
import { manualClock } from '../../core/clock.js';
import type { BundleSigner } from './keys.js';
import { generateKeyPair, parsePublicKey, parseSignature, type SecretKey } from './minisign.js';
import { keySigner } from './keys.js';
import { BLOCK, padding, parseHeader, isZeroBlock } from './tar.js';
import { writeBundle, type BlobInput, type BundleHeader, type WrittenBundle } from './write.js';

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

export { keySigner };
