import crypto from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { OutpostError } from '../errors/index.js';
import { systemClock, type Clock } from '../base/index.js';
import { ByteReader } from './byte-reader.js';
import { PositionalWriter } from './positional-writer.js';
import { bundleError, cancelledError, throwIfAborted } from './errors.js';
import {
  INDEX_ENTRY,
  SIGNATURE_ENTRY,
  blobEntryName,
  deriveEntries,
  entryMtime,
  entryPlan,
  indexUntrustedComment,
  sha256,
  siteOf,
  validateIndex,
  type BundleIndex,
  type BundleKind,
  type KeyRotation,
} from './format.js';
import type { Trust, TrustedKey } from './keys.js';
import { limitsOf, type BundleLimits } from './limits.js';
import { formatSignature, parseSignature, verifySignature, type MinisignSignature } from './minisign.js';
import { resolveSigner, type ParsedRotation } from './rotation.js';
import { BLOCK, describeType, isZeroBlock, padding, parseHeader, printable, tarHeader } from './tar.js';

/** What the caller expects of the bundle; each unset field is not checked. */
export interface BundleExpectations {
  kind?: BundleKind;
  /** The site the bundle must speak for: an LO passes its own site; HQ the site it expects, if any. */
  site?: string;
  source?: string;
  target?: string;
}

/** The stream a bundle belongs to, for looking up the last sequence imported from it. */
export interface BundleStream {
  kind: BundleKind;
  source: string;
  target: string;
}

export interface ReadBundleOptions {
  /** A bundle file, or its bytes as a stream (an upload; chunks must not be reused once yielded). */
  source: string | AsyncIterable<Uint8Array>;
  trust: Trust;
  expect?: BundleExpectations;
  /**
   * The last sequence imported from this bundle's stream (null or undefined: none). A function is called
   * once the signature is verified, with the stream the index names.
   */
  lastSequence?:
    | number
    | null
    | ((stream: BundleStream) => number | null | undefined | Promise<number | null | undefined>);
  clock?: Clock;
  signal?: AbortSignal;
  /** Called for every chunk read (about every MiB). */
  onProgress?: (progress: ReadProgress) => void;
  limits?: Partial<BundleLimits>;
}

export interface StageBundleOptions extends ReadBundleOptions {
  /** Created by the reader (it must not exist), removed again if anything fails. */
  stagingDir: string;
  /** fsync every staged file before returning (default false: the bundle file can be read again). */
  fsync?: boolean;
  /** Free bytes of the file system holding `dir` (default: fs.statfs). */
  freeSpace?: (dir: string) => Promise<number>;
}

export interface ReadProgress {
  /** Bytes of the bundle read so far. */
  bytes: number;
  /** The bundle's size, when known (a file, or from the index once it is verified). */
  totalBytes: number | undefined;
}

export interface VerifiedSigner {
  keyId: string;
  fingerprint: string;
  /** The pinned key the trust comes from (the signer itself, or where its rotations start). */
  trustedAs: TrustedKey;
  /** Rotations followed to reach the signer, oldest first: the caller pins `to` with `trustedAs`' scope. */
  rotated: ParsedRotation[];
}

/** What a verified bundle carries: enough for `bundle verify` to print and the console to show. */
export interface BundleReport {
  index: BundleIndex;
  indexDigest: string;
  manifestDigest: string;
  /** The site the bundle speaks for (its target, or its source for a status bundle). */
  site: string;
  signer: VerifiedSigner;
  signature: { algorithm: MinisignSignature['algorithm']; trustedComment: string };
  /** Bytes of the bundle file. */
  bytes: number;
  blobs: { count: number; bytes: number; byRole: Record<string, { count: number; bytes: number }> };
  /** The last sequence the caller passed, for "would move from N to M". */
  lastSequence: number | null;
  /** Things worth a look that do not refuse the bundle (a creation time in the future). */
  warnings: string[];
}

export interface StagedBundle {
  report: BundleReport;
  /** The staging folder: an OCI image layout with the index and its signature beside it. */
  dir: string;
  /** Where a verified blob is: `<dir>/blobs/sha256/<hex>`. */
  blobPath(digest: string): string;
  /** Removes the staging folder. */
  remove(): Promise<void>;
}

const CLOCK_SKEW_WARNING_MS = 5 * 60 * 1000;

class Progress {
  totalBytes: number | undefined;
  constructor(
    private readonly reader: ByteReader,
    private readonly onProgress: ((p: ReadProgress) => void) | undefined,
    totalBytes: number | undefined,
  ) {
    this.totalBytes = totalBytes;
  }
  report(): void {
    this.onProgress?.({ bytes: this.reader.position, totalBytes: this.totalBytes });
  }
}

async function openSource(
  source: string | AsyncIterable<Uint8Array>,
  signal: AbortSignal | undefined,
): Promise<{ input: AsyncIterable<Uint8Array>; size: number | undefined; name: string }> {
  if (typeof source !== 'string') return { input: source, size: undefined, name: 'the bundle' };
  let size: number;
  try {
    const st = await fsp.stat(source);
    if (!st.isFile()) throw bundleError('invalid-input', `${source} is not a file`);
    size = st.size;
  } catch (err) {
    if (err instanceof OutpostError) throw err;
    throw bundleError('invalid-input', `${source}: ${(err as Error).message}`, undefined, err);
  }
  return { input: fs.createReadStream(source, { highWaterMark: 1 << 20, signal }), size, name: source };
}

/** Reads a tar header that must be a regular file named `name`, before the index is known. */
async function readLeadHeader(
  r: ByteReader,
  name: string,
  max: number,
  position: number,
): Promise<{ header: Buffer; size: number }> {
  const header = await r.read(BLOCK, `the header of ${name}`);
  if (isZeroBlock(header))
    throw bundleError('bundle/missing-entry', `the archive has no ${name}: not an Outpost bundle`);
  const h = parseHeader(header);
  if (!h.checksumOk)
    throw bundleError(
      'bundle/corrupt',
      position === 0
        ? 'not a tar archive (or its first header is damaged)'
        : `the tar header of ${name} is damaged`,
    );
  if (h.name !== name)
    throw bundleError(
      'bundle/unexpected-entry',
      `entry ${position + 1} is "${printable(h.name)}" where ${name} must be: not an Outpost bundle, or a damaged one`,
    );
  if (h.type !== '0')
    throw bundleError('bundle/unexpected-entry', `${name} is ${describeType(h.type)}, not a file`);
  if (h.size === undefined)
    throw bundleError('bundle/corrupt', `the tar header of ${name} has no valid size`);
  if (h.size > max)
    throw bundleError('bundle/too-large', `${name} is ${h.size} bytes, more than the ${max} allowed`);
  return { header, size: h.size };
}

async function readPadding(r: ByteReader, size: number, name: string): Promise<void> {
  const pad = padding(size);
  if (pad === 0) return;
  const bytes = await r.read(pad, `the padding after ${name}`);
  if (!isZeroBlock(bytes)) throw bundleError('bundle/corrupt', `the padding after ${name} is not zero`);
}

function utf8(bytes: Buffer, what: string, code: 'bundle/bad-signature' | 'bundle/invalid-index'): string {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw bundleError(code, `${what} is not UTF-8 text`);
  }
}

/** The rotations of an index that is not verified yet (only to find a path to its signer). */
function unverifiedRotations(indexText: string): KeyRotation[] {
  try {
    const v = (JSON.parse(indexText) as { rotations?: unknown }).rotations;
    if (!Array.isArray(v)) return [];
    return v.filter(
      (x): x is KeyRotation =>
        !!x &&
        typeof x === 'object' &&
        typeof (x as KeyRotation).publicKey === 'string' &&
        typeof (x as KeyRotation).signature === 'string',
    );
  } catch {
    return [];
  }
}

/** The checks against the caller's state, in the order their reasons matter most. */
async function checkPolicy(
  index: BundleIndex,
  signer: VerifiedSigner,
  options: ReadBundleOptions,
  now: number,
): Promise<{ lastSequence: number | null; warnings: string[] }> {
  const expect = options.expect ?? {};
  const site = siteOf(index);
  const label = `bundle #${index.sequence} from ${index.source} to ${index.target}`;
  if (expect.kind !== undefined && index.kind !== expect.kind)
    throw bundleError(
      'bundle/wrong-kind',
      index.kind === 'hq-to-site'
        ? `${label} is an HQ bundle for a site; a status bundle was expected here`
        : `${label} is a status bundle for HQ; an HQ bundle was expected here`,
      { kind: index.kind },
    );
  if (expect.site !== undefined && site !== expect.site)
    throw bundleError('bundle/wrong-site', `${label} is for site ${site}, not ${expect.site}`, {
      site,
      expected: expect.site,
    });
  if (expect.target !== undefined && index.target !== expect.target)
    throw bundleError('bundle/wrong-site', `${label} is addressed to ${index.target}, not ${expect.target}`, {
      target: index.target,
    });
  if (expect.source !== undefined && index.source !== expect.source)
    throw bundleError('bundle/wrong-site', `${label} comes from ${index.source}, not ${expect.source}`, {
      source: index.source,
    });
  if (signer.trustedAs.site !== undefined && signer.trustedAs.site !== site)
    throw bundleError(
      'bundle/wrong-signer',
      `${label} speaks for site ${site}, but its key ${signer.keyId} is pinned for site ${signer.trustedAs.site}`,
      { site, keySite: signer.trustedAs.site },
    );
  const stream = { kind: index.kind, source: index.source, target: index.target };
  const last =
    typeof options.lastSequence === 'function' ? await options.lastSequence(stream) : options.lastSequence;
  const lastSequence = last ?? null;
  if (lastSequence !== null && index.sequence <= lastSequence)
    throw bundleError(
      'bundle/replay',
      index.sequence === lastSequence
        ? `${label} was already imported (the last imported sequence is ${lastSequence})`
        : `${label} is older than the last imported one (#${lastSequence}): refused as a replay`,
      { sequence: index.sequence, lastSequence },
    );
  const expires = Date.parse(index.expires);
  if (now >= expires)
    throw bundleError('bundle/expired', `${label} expired at ${index.expires}`, { expires: index.expires });
  const warnings: string[] = [];
  const created = Date.parse(index.created);
  if (created > now + CLOCK_SKEW_WARNING_MS)
    warnings.push(`the bundle was created at ${index.created}, after this machine's time: check the clocks`);
  return { lastSequence, warnings };
}

interface Planned {
  name: string;
  size: number;
  bytes?: Buffer;
  digest?: string;
}

/**
 * Names what is wrong when entry `k` has `header` instead of `plan[k]`'s. For an entry the index lists
 * later it reads on (headers only, data skipped, bounded by the index) to tell a missing entry from a
 * reordering.
 */
async function diagnose(
  r: ByteReader,
  plan: Planned[],
  k: number,
  header: Buffer,
  mtime: number,
): Promise<never> {
  const expected = plan[k]!;
  const names = new Map(plan.map((p, i) => [p.name, i]));
  const check = (h: Buffer, at: number): { index: number; size: number } | 'end' => {
    if (isZeroBlock(h)) return 'end';
    const p = parseHeader(h);
    if (!p.checksumOk) throw bundleError('bundle/corrupt', `the tar header of entry ${at + 1} is damaged`);
    const shown = printable(p.name);
    if (p.type !== '0')
      throw bundleError(
        'bundle/unexpected-entry',
        `entry ${at + 1} "${shown}" is ${describeType(p.type)}: a bundle holds only files`,
      );
    const i = names.get(p.name);
    if (i === undefined)
      throw bundleError(
        'bundle/unexpected-entry',
        `entry ${at + 1} "${shown}" is not listed in the bundle index`,
      );
    if (i < k) throw bundleError('bundle/unexpected-entry', `"${shown}" appears twice in the archive`);
    if (p.size !== plan[i]!.size)
      throw bundleError(
        'bundle/size-mismatch',
        `the tar header of ${shown} declares ${p.size ?? 'an invalid size'} bytes, the index lists ${plan[i]!.size}`,
      );
    return { index: i, size: plan[i]!.size };
  };
  const first = check(header, k);
  if (first === 'end') {
    const missing = plan.length - k;
    throw bundleError(
      'bundle/missing-entry',
      `${expected.name}${missing > 1 ? ` and ${missing - 1} more listed entries are` : ' is'} missing (the archive ends early)`,
      { missing: plan.slice(k).map((p) => p.name) },
    );
  }
  if (first.index === k)
    throw bundleError(
      'bundle/corrupt',
      `the tar header of ${expected.name} differs from the one its index implies (mode, owner or time changed)`,
      {
        mtime,
      },
    );
  // Entry k is one listed later: read on to see whether the one expected here comes at all.
  const seen = new Set<number>([first.index]);
  let current = first;
  for (let at = k + 1; at <= plan.length; at++) {
    for await (const _ of r.take(current.size + padding(current.size), 'an entry')) {
      // skipped: the bundle is refused whatever the data
    }
    const h = await r.read(BLOCK, 'a tar header');
    const next = check(h, at);
    if (next === 'end') break;
    if (seen.has(next.index))
      throw bundleError(
        'bundle/unexpected-entry',
        `"${plan[next.index]!.name}" appears twice in the archive`,
      );
    seen.add(next.index);
    current = next;
  }
  const missing = plan.slice(k).filter((_, i) => !seen.has(k + i));
  if (missing.length > 0)
    throw bundleError(
      'bundle/missing-entry',
      `${missing[0]!.name}${missing.length > 1 ? ` and ${missing.length - 1} more listed entries are` : ' is'} missing from the archive`,
      { missing: missing.map((p) => p.name) },
    );
  throw bundleError(
    'bundle/out-of-order',
    `entry ${k + 1} is ${plan[first.index]!.name} where the index lists ${expected.name}: the entries are reordered`,
  );
}

async function readEnd(r: ByteReader, limits: BundleLimits, plan: Planned[]): Promise<void> {
  const h = await r.read(BLOCK, 'the end of the archive');
  if (!isZeroBlock(h)) {
    const p = parseHeader(h);
    if (!p.checksumOk)
      throw bundleError('bundle/corrupt', 'bytes after the last entry are not the end of the archive');
    const listed = plan.some((e) => e.name === p.name);
    throw bundleError(
      'bundle/unexpected-entry',
      listed
        ? `"${printable(p.name)}" appears twice in the archive`
        : `"${printable(p.name)}" (${describeType(p.type)}) after the last listed entry is not in the bundle index`,
    );
  }
  const second = await r.read(BLOCK, 'the end of the archive');
  if (!isZeroBlock(second)) throw bundleError('bundle/corrupt', 'the end-of-archive marker is damaged');
  // Copy tools may round a file up with zeros; anything else after the end is refused.
  let trailing = 0;
  for (let chunk = await r.next(1 << 16); chunk; chunk = await r.next(1 << 16)) {
    if (!isZeroBlock(chunk))
      throw bundleError('bundle/corrupt', 'there are bytes after the end of the archive');
    trailing += chunk.length;
    if (trailing > limits.maxTrailingZeroBytes)
      throw bundleError('bundle/corrupt', 'there are too many bytes after the end of the archive');
  }
}

/**
 * The reader: the signed index first, its signature verified against the trusted keys before anything
 * else is read or written, then the caller's checks (kind, site, signer scope, replay, expiry), then
 * every entry in the order the index implies, each hashed once while it streams (into the staging
 * folder when there is one). Entries are never extracted by their names: the reader knows every name
 * and header in advance and writes only to paths it builds from verified digests.
 */
async function readBundle(
  options: ReadBundleOptions,
  staging: StageBundleOptions | undefined,
): Promise<BundleReport> {
  const clock = options.clock ?? systemClock;
  const limits = limitsOf(options.limits);
  const { signal } = options;
  throwIfAborted(signal, 'reading the bundle');
  const src = await openSource(options.source, signal);
  const what = `reading ${src.name}`;
  const r = new ByteReader(src.input);
  const progress = new Progress(r, options.onProgress, src.size);
  let createdStaging = false;
  try {
    // 1. The index and its signature, into memory (bounded), then the signature check.
    const lead = await readLeadHeader(r, INDEX_ENTRY, limits.maxIndexBytes, 0);
    const indexBytes = await r.read(lead.size, INDEX_ENTRY);
    await readPadding(r, lead.size, INDEX_ENTRY);
    const sigLead = await readLeadHeader(r, SIGNATURE_ENTRY, limits.maxSignatureBytes, 1);
    const sigBytes = await r.read(sigLead.size, SIGNATURE_ENTRY);
    await readPadding(r, sigLead.size, SIGNATURE_ENTRY);
    progress.report();

    const sigText = utf8(sigBytes, SIGNATURE_ENTRY, 'bundle/bad-signature');
    const sig = parseSignature(sigText);
    if (formatSignature({ ...sig, untrustedComment: indexUntrustedComment(sig.keyId) }) !== sigText)
      throw bundleError(
        'bundle/bad-signature',
        `${SIGNATURE_ENTRY} is not in the form the bundle format requires (was it edited?)`,
      );
    const indexText = utf8(indexBytes, INDEX_ENTRY, 'bundle/invalid-index');
    const resolved = resolveSigner(options.trust, sig.keyId, unverifiedRotations(indexText));
    verifySignature({ bytes: indexBytes }, sig, resolved.key);
    const signer: VerifiedSigner = {
      keyId: resolved.key.keyId,
      fingerprint: resolved.fingerprint,
      trustedAs: resolved.trustedAs,
      rotated: resolved.rotated,
    };

    // 2. The verified index.
    let parsed: unknown;
    try {
      parsed = JSON.parse(indexText);
    } catch (err) {
      throw bundleError('bundle/invalid-index', `${INDEX_ENTRY} is not JSON: ${(err as Error).message}`);
    }
    const index = validateIndex(parsed);
    if (index.signer !== sig.keyId)
      throw bundleError(
        'bundle/invalid-index',
        `the index names signer ${index.signer}, but key ${sig.keyId} signed it`,
      );
    const indexDigest = sha256(indexBytes);
    const derived = deriveEntries(index, indexDigest);
    if (index.blobs.some((b) => b.digest === derived.manifestDigest || b.digest === derived.configDigest))
      throw bundleError(
        'bundle/invalid-index',
        'a listed blob has the digest of the bundle manifest or config',
      );
    const mtime = entryMtime(index);
    if (!lead.header.equals(tarHeader(INDEX_ENTRY, lead.size, mtime)))
      throw bundleError(
        'bundle/corrupt',
        `the tar header of ${INDEX_ENTRY} differs from the one its index implies`,
      );
    if (!sigLead.header.equals(tarHeader(SIGNATURE_ENTRY, sigLead.size, mtime)))
      throw bundleError(
        'bundle/corrupt',
        `the tar header of ${SIGNATURE_ENTRY} differs from the one its index implies`,
      );

    // 3. The caller's checks, then the limits.
    const policy = await checkPolicy(index, signer, options, clock.now());
    if (index.blobs.length > limits.maxBlobs)
      throw bundleError(
        'bundle/too-large',
        `the bundle lists ${index.blobs.length} blobs, more than the ${limits.maxBlobs} allowed`,
      );
    const blobBytes = index.blobs.reduce((n, b) => n + b.size, 0);
    if (blobBytes > limits.maxBytes)
      throw bundleError(
        'bundle/too-large',
        `the bundle carries ${blobBytes} bytes, more than the ${limits.maxBytes} allowed`,
      );
    const plan: Planned[] = entryPlan(index, lead.size, sigLead.size, derived);
    const total = plan.reduce((n, p) => n + BLOCK + p.size + padding(p.size), 2 * BLOCK);
    if (progress.totalBytes === undefined) progress.totalBytes = total;

    // 4. The staging folder, after the checks that need no data.
    let dir: string | undefined;
    if (staging) {
      dir = path.resolve(staging.stagingDir);
      const parent = path.dirname(dir);
      await fsp.mkdir(parent, { recursive: true });
      const free = await (staging.freeSpace ?? defaultFreeSpace)(parent);
      if (free < total)
        throw bundleError('bundle/no-space', `staging needs ${total} bytes, and ${parent} has ${free} free`, {
          needed: total,
          free,
        });
      try {
        await fsp.mkdir(dir, { mode: 0o700 });
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'EEXIST')
          throw bundleError('already-exists', `the staging folder ${dir} already exists`);
        throw err;
      }
      createdStaging = true;
      await fsp.mkdir(path.join(dir, 'blobs', 'sha256'), { recursive: true });
      await fsp.writeFile(path.join(dir, INDEX_ENTRY), indexBytes);
      await fsp.writeFile(path.join(dir, SIGNATURE_ENTRY), sigBytes);
    }

    // 5. Every other entry, in order.
    for (let k = 2; k < plan.length; k++) {
      throwIfAborted(signal, what);
      const entry = plan[k]!;
      const header = await r.read(BLOCK, `the header of ${entry.name}`);
      if (!header.equals(tarHeader(entry.name, entry.size, mtime))) await diagnose(r, plan, k, header, mtime);
      const target = dir ? path.join(dir, ...entry.name.split('/')) : undefined;
      if (entry.bytes) {
        const got = await r.read(entry.size, entry.name);
        if (!got.equals(entry.bytes))
          throw bundleError('bundle/corrupt', `${entry.name} differs from what the signed index implies`);
        if (target) await fsp.writeFile(target, got, { flag: 'wx' });
      } else {
        const hash = crypto.createHash('sha256');
        const fh = target ? await fsp.open(target, 'wx', 0o644) : undefined;
        const out = fh ? new PositionalWriter(fh, target!) : undefined;
        try {
          let at = 0;
          for await (const chunk of r.take(entry.size, entry.name)) {
            throwIfAborted(signal, what);
            hash.update(chunk);
            await out?.write(chunk, at);
            at += chunk.length;
            progress.report();
          }
          await out?.flush();
          if (fh && staging?.fsync) await fh.sync();
        } finally {
          await out?.flush().catch(() => undefined);
          await fh?.close();
        }
        const digest = `sha256:${hash.digest('hex')}`;
        if (digest !== entry.digest)
          throw bundleError(
            'bundle/digest-mismatch',
            `${entry.name} does not match its digest: the bytes hash to ${digest}`,
            {
              expected: entry.digest,
              actual: digest,
            },
          );
      }
      await readPadding(r, entry.size, entry.name);
    }
    await readEnd(r, limits, plan);
    progress.report();

    const byRole: Record<string, { count: number; bytes: number }> = {};
    for (const b of index.blobs) {
      const e = (byRole[b.role] ??= { count: 0, bytes: 0 });
      e.count++;
      e.bytes += b.size;
    }
    return {
      index,
      indexDigest,
      manifestDigest: derived.manifestDigest,
      site: siteOf(index),
      signer,
      signature: { algorithm: sig.algorithm, trustedComment: sig.trustedComment },
      bytes: r.position,
      blobs: { count: index.blobs.length, bytes: blobBytes, byRole },
      lastSequence: policy.lastSequence,
      warnings: policy.warnings,
    };
  } catch (err) {
    if (createdStaging && staging)
      await fsp.rm(path.resolve(staging.stagingDir), { recursive: true, force: true });
    if (signal?.aborted && !(err instanceof OutpostError && err.code === 'cancelled'))
      throw cancelledError(what);
    if (err instanceof OutpostError) throw err;
    // A read error (a drive pulled mid-read): the bundle could not be read to its end.
    if (typeof (err as NodeJS.ErrnoException).code === 'string')
      throw bundleError('bundle/truncated', `${what}: ${(err as Error).message}`, undefined, err);
    throw err;
  } finally {
    await r.close();
  }
}

async function defaultFreeSpace(dir: string): Promise<number> {
  const s = await fsp.statfs(dir);
  return s.bavail * s.bsize;
}

/** Verifies a bundle without writing anything: what `bundle verify` reports. */
export async function verifyBundle(options: ReadBundleOptions): Promise<BundleReport> {
  return readBundle(options, undefined);
}

/** Verifies a bundle while extracting it into a new staging folder; on any failure the folder is gone. */
export async function stageBundle(options: StageBundleOptions): Promise<StagedBundle> {
  const report = await readBundle(options, options);
  const dir = path.resolve(options.stagingDir);
  return {
    report,
    dir,
    blobPath: (digest) => path.join(dir, ...blobEntryName(digest).split('/')),
    remove: () => fsp.rm(dir, { recursive: true, force: true }),
  };
}

/** What a bundle says about itself, read without verifying anything: for listing files on a drive. */
export interface BundlePeek {
  /** Always false: nothing here is verified; show it as "claims to be". */
  verified: false;
  kind?: BundleKind;
  source?: string;
  target?: string;
  sequence?: number;
  created?: string;
  expires?: string;
  /** The key id in the signature file. */
  signer?: string;
}

/**
 * Reads only the index and signature entries (bounded by the limits) and reports what they claim, so a
 * drive watcher can say "a bundle for site-a, #12" before anyone asks to verify it. Throws the reader's
 * codes when the file is not a bundle at all.
 */
export async function peekBundle(
  source: string | AsyncIterable<Uint8Array>,
  options: { limits?: Partial<BundleLimits>; signal?: AbortSignal } = {},
): Promise<BundlePeek> {
  const limits = limitsOf(options.limits);
  const src = await openSource(source, options.signal);
  const r = new ByteReader(src.input);
  try {
    const lead = await readLeadHeader(r, INDEX_ENTRY, limits.maxIndexBytes, 0);
    const indexBytes = await r.read(lead.size, INDEX_ENTRY);
    await readPadding(r, lead.size, INDEX_ENTRY);
    const sigLead = await readLeadHeader(r, SIGNATURE_ENTRY, limits.maxSignatureBytes, 1);
    const sig = parseSignature(
      utf8(await r.read(sigLead.size, SIGNATURE_ENTRY), SIGNATURE_ENTRY, 'bundle/bad-signature'),
    );
    let v: Record<string, unknown> = {};
    try {
      const parsed: unknown = JSON.parse(utf8(indexBytes, INDEX_ENTRY, 'bundle/invalid-index'));
      if (parsed && typeof parsed === 'object' && !Array.isArray(parsed))
        v = parsed as Record<string, unknown>;
    } catch {
      // not JSON: report what the signature says
    }
    const str = (x: unknown): string | undefined =>
      typeof x === 'string' && x.length <= 256 ? x : undefined;
    const kind = v.kind === 'hq-to-site' || v.kind === 'site-to-hq' ? v.kind : undefined;
    return {
      verified: false,
      kind,
      source: str(v.source),
      target: str(v.target),
      sequence: typeof v.sequence === 'number' && Number.isSafeInteger(v.sequence) ? v.sequence : undefined,
      created: str(v.created),
      expires: str(v.expires),
      signer: sig.keyId,
    };
  } finally {
    await r.close();
  }
}
