import crypto, { type Hash } from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import type { Clock } from '../../lib/base/index.js';
import type { Logger } from '../../lib/log/index.js';
import { isRepositoryName, isTag } from '../../lib/oci/index.js';
import { registryError } from './errors.js';
import {
  createLayout,
  createMutex,
  listDir,
  readSmall,
  removeFile,
  statOrUndefined,
  syncDir,
  syncFile,
  writeDurable,
  type Layout,
} from './files.js';
import { parseManifest, type ParsedManifest } from './manifest.js';
import { runGc, type GcOptions, type GcReport } from './gc.js';

/**
 * The site registry's content-addressed store (ADR 0420): blobs by sha256 digest, manifests and tags
 * per repository, upload sessions, and an in-process API for the bundle import. Every blob is written to
 * a temporary file, verified (digest and size), fsynced and renamed into place: a crash mid-upload
 * leaves no partial blob visible. Manifests are linked into a repository only after every blob they
 * name is present; tags move by atomic rename; a batch of links and tags (an import) goes through a
 * journal that the next start finishes. Writers in one process are safe together (one lock guards
 * link/tag changes against garbage collection); blobs themselves need no lock, being immutable.
 */

export interface StoreLimits {
  /** Largest blob accepted. */
  maxBlobBytes: number;
  /** Largest manifest accepted. */
  maxManifestBytes: number;
  /** Total bytes the store may hold (blobs and uploads in progress); null: only the disk limits it. */
  quotaBytes: number | null;
  /** Bytes that must stay free on the file system after any write. */
  reserveFreeBytes: number;
}

export interface BlobInfo {
  digest: string;
  size: number;
}

export interface StoredManifest {
  digest: string;
  mediaType: string;
  size: number;
  bytes: Buffer;
  parsed: ParsedManifest;
}

/** An open blob: its size and a stream of the requested range (`end` inclusive). */
export interface BlobReader {
  size: number;
  stream(range?: { start: number; end: number }): Readable;
  close(): Promise<void>;
}

export interface UploadState {
  id: string;
  repository: string;
  /** Bytes received so far. */
  offset: number;
}

/** One change of a batch (`commitBatch`): link a stored manifest into a repository, or move/remove a tag. */
export type BatchOp =
  | { op: 'link'; repository: string; digest: string; mediaType: string }
  | { op: 'tag'; repository: string; tag: string; digest: string }
  | { op: 'untag'; repository: string; tag: string };

/** A manifest for `commitManifests`: its exact bytes, the repository, and the tags to point at it. */
export interface ManifestPut {
  repository: string;
  bytes: Uint8Array;
  /** Media type when the document does not carry one. */
  mediaType?: string;
  tags?: string[];
}

export interface RegistryStore {
  readonly root: string;
  /** Creates the folders, finishes an interrupted batch, removes stale temporary files, measures usage. */
  open(): Promise<void>;

  statBlob(digest: string): Promise<BlobInfo | undefined>;
  /** Opens a blob for reading (undefined when absent); the size is that of the opened file. */
  openBlob(digest: string): Promise<BlobReader | undefined>;
  /** Stores a stream, hashing it as it is written; with `digest`/`size`, a mismatch stores nothing. */
  putBlob(source: AsyncIterable<Uint8Array>, expect?: { digest?: string; size?: number }): Promise<BlobInfo>;
  /**
   * Moves a staged file into the store under `digest` (a rename on the same file system, else a copy).
   * `verified: true` says the caller hashed it while staging (the bundle import hashes once): only the
   * size is checked then. Otherwise the file is hashed first and a mismatch stores nothing.
   */
  adoptBlobFile(
    file: string,
    expect: { digest: string; size?: number; verified?: boolean },
  ): Promise<BlobInfo & { existed: boolean }>;
  /** A new empty folder on the store's file system for staging (renames into the store are then cheap). */
  createStagingDir(prefix?: string): Promise<string>;

  startUpload(repository: string): Promise<UploadState>;
  upload(repository: string, id: string): Promise<UploadState>;
  /** Appends a chunk; `start` (from Content-Range) must equal the current offset. Returns the new state. */
  appendUpload(
    repository: string,
    id: string,
    source: AsyncIterable<Uint8Array>,
    opts?: { start?: number; length?: number },
  ): Promise<UploadState>;
  /** Appends an optional last chunk, checks the digest, moves the blob into place, ends the session. */
  completeUpload(
    repository: string,
    id: string,
    digest: string,
    source?: AsyncIterable<Uint8Array>,
    length?: number,
  ): Promise<BlobInfo>;
  cancelUpload(repository: string, id: string): Promise<void>;

  /** Stores a manifest under a tag or its digest; every blob (and child manifest) it names must be present. */
  putManifest(
    repository: string,
    reference: string,
    bytes: Uint8Array,
    contentType?: string,
  ): Promise<{ digest: string; parsed: ParsedManifest }>;
  /** Stores several manifests and their tags as one change: all or (after a crash, on the next open) all. */
  commitManifests(items: ManifestPut[]): Promise<{ repository: string; digest: string; tags: string[] }[]>;
  /** Applies link and tag changes as one journaled step (the blobs must be present). */
  commitBatch(ops: BatchOp[]): Promise<void>;
  getManifest(repository: string, reference: string): Promise<StoredManifest | undefined>;
  /** Removes a tag, or (by digest) the manifest's link and every tag pointing at it. */
  deleteManifest(repository: string, reference: string): Promise<void>;
  /** Tags of a repository, sorted; undefined when the repository does not exist. */
  listTags(repository: string): Promise<string[] | undefined>;
  /** Repositories holding at least one manifest link, sorted. */
  repositories(): Promise<string[]>;

  usage(): { usedBytes: number; quotaBytes: number | null; freeBytes: number };
  /** Mark and sweep (gc.ts). */
  gc(options: GcOptions): Promise<GcReport>;
}

export interface RegistryStoreOptions {
  root: string;
  limits: StoreLimits;
  clock: Clock;
  logger: Logger;
  /** Free bytes on the file system holding `dir` (tests replace it). */
  freeBytes?: (dir: string) => number;
}

const SHA256_HEX = /^[a-f0-9]{64}$/;
const UPLOAD_ID = /^[A-Za-z0-9_-]{8,64}$/;
/** Temporary files and upload sessions older than this are removed when the store opens. */
const STALE_AT_OPEN_MS = 24 * 3600_000;

/** `sha256:<hex>` → hex; anything else is `registry/digest-invalid`. */
export function sha256Hex(digest: string): string {
  if (typeof digest === 'string' && digest.startsWith('sha256:') && SHA256_HEX.test(digest.slice(7)))
    return digest.slice(7);
  throw registryError(
    'registry/digest-invalid',
    `"${String(digest)}" is not a sha256 digest (sha256: followed by 64 lowercase hex digits); the registry stores sha256 only`,
  );
}

export function checkRepository(name: string): void {
  if (!isRepositoryName(name))
    throw registryError(
      'registry/name-invalid',
      `"${name}" is not a repository name (lowercase letters and digits separated by ".", "_", "__", "-" or "/")`,
    );
}

function statfsFree(dir: string): number {
  const s = fs.statfsSync(dir);
  return Number(s.bavail) * Number(s.bsize);
}

function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${i === 0 ? v : v.toFixed(1)} ${units[i]}`;
}

export function createRegistryStore(options: RegistryStoreOptions): RegistryStore {
  const layout: Layout = createLayout(options.root);
  const { limits, clock } = options;
  const log = options.logger.child({ component: 'registry-store' });
  const freeBytes = options.freeBytes ?? statfsFree;
  /** Guards manifest links and tags against a concurrent garbage collection. */
  const exclusive = createMutex();
  let used = 0;
  let opened = false;

  // ---- quota ------------------------------------------------------------------------------------

  /** Accounts for `n` more bytes on disk, or throws `registry/quota-exceeded` (507) and accounts nothing. */
  const reserve = (n: number, what: string): void => {
    if (limits.quotaBytes !== null && used + n > limits.quotaBytes) {
      throw registryError(
        'registry/quota-exceeded',
        `${what}: the registry quota of ${formatBytes(limits.quotaBytes)} is used up (${formatBytes(used)} stored); run garbage collection (edgectl registry gc) or raise registry.quotaBytes`,
        { usedBytes: used, quotaBytes: limits.quotaBytes },
      );
    }
    const free = freeBytes(layout.root);
    if (free - n < limits.reserveFreeBytes) {
      throw registryError(
        'registry/quota-exceeded',
        `${what}: the disk holding the registry would fill (${formatBytes(free)} free, ${formatBytes(limits.reserveFreeBytes)} must stay free)`,
        { freeBytes: free, reserveFreeBytes: limits.reserveFreeBytes },
      );
    }
    used += n;
  };
  const release = (n: number): void => {
    used = Math.max(0, used - n);
  };

  /** Streams `source` into `fh` at `offset`, hashing, under the size limits and the quota; returns bytes written. */
  async function receive(
    source: AsyncIterable<Uint8Array>,
    fh: fsp.FileHandle,
    hash: Hash,
    o: { offset: number; length?: number; what: string },
  ): Promise<number> {
    let n = 0;
    let reserved = 0;
    // Quota checks look at the disk: once per 4 MiB rather than once per socket chunk.
    let pending = 0;
    const check = (bytes: number) => {
      pending += bytes;
      if (pending < 4 << 20) return;
      reserve(pending, o.what);
      reserved += pending;
      pending = 0;
    };
    try {
      if (o.length !== undefined && o.offset + o.length > limits.maxBlobBytes) throw tooLarge(o.what);
      if (o.length !== undefined) {
        reserve(o.length, o.what);
        reserved = o.length;
      }
      for await (const chunk of source) {
        const buf = chunk instanceof Buffer ? chunk : Buffer.from(chunk);
        if (o.offset + n + buf.length > limits.maxBlobBytes) throw tooLarge(o.what);
        if (o.length !== undefined && n + buf.length > o.length)
          throw registryError(
            'registry/size-invalid',
            `${o.what}: more bytes than the ${o.length} declared (Content-Length)`,
          );
        if (o.length === undefined) check(buf.length);
        let off = 0;
        while (off < buf.length) {
          const { bytesWritten } = await fh.write(buf, off, buf.length - off, o.offset + n + off);
          off += bytesWritten;
        }
        hash.update(buf);
        n += buf.length;
      }
      if (o.length === undefined && pending > 0) {
        reserve(pending, o.what);
        reserved += pending;
        pending = 0;
      }
      if (o.length !== undefined && n !== o.length)
        throw registryError(
          'registry/size-invalid',
          `${o.what}: ${n} bytes received, ${o.length} declared (Content-Length)`,
        );
      return n;
    } catch (err) {
      release(reserved);
      throw err;
    }
  }

  const tooLarge = (what: string) =>
    registryError(
      'registry/too-large',
      `${what}: larger than the registry's limit of ${formatBytes(limits.maxBlobBytes)} per blob (registry.maxBlobBytes)`,
      { maxBlobBytes: limits.maxBlobBytes },
    );

  // ---- blobs ------------------------------------------------------------------------------------

  /**
   * Moves a complete, verified, fsynced file into place. Synchronous from the existence check to the
   * rename, so two writers of the same blob in this process never both count it. Returns whether it
   * already existed (then `file` is removed and its bytes released).
   */
  function install(file: string, hex: string, size: number): boolean {
    const dest = layout.blob(hex);
    const now = clock.now() / 1000;
    if (fs.existsSync(dest)) {
      fs.rmSync(file, { force: true });
      release(size);
      // A blob someone is about to reference again is young for garbage collection.
      fs.utimesSync(dest, now, now);
      return true;
    }
    fs.mkdirSync(path.dirname(dest), { recursive: true });
    fs.utimesSync(file, now, now);
    fs.renameSync(file, dest);
    return false;
  }

  async function tmpFile(): Promise<string> {
    await fsp.mkdir(layout.tmpDir, { recursive: true });
    return path.join(layout.tmpDir, `${Date.now()}-${crypto.randomBytes(8).toString('hex')}`);
  }

  async function putBytes(bytes: Uint8Array, what: string): Promise<string> {
    const hex = crypto.createHash('sha256').update(bytes).digest('hex');
    const dest = layout.blob(hex);
    if (fs.existsSync(dest)) {
      const now = clock.now() / 1000;
      fs.utimesSync(dest, now, now);
      return hex;
    }
    reserve(bytes.length, what);
    const tmp = await tmpFile();
    try {
      const fh = await fsp.open(tmp, 'wx', 0o644);
      try {
        await fh.writeFile(bytes);
        await fh.sync();
      } finally {
        await fh.close();
      }
      install(tmp, hex, bytes.length);
    } catch (err) {
      await fsp.rm(tmp, { force: true });
      release(bytes.length);
      throw err;
    }
    await syncDir(path.dirname(dest));
    return hex;
  }

  async function readBlobBytes(hex: string, max: number): Promise<Buffer | undefined> {
    let fh: fsp.FileHandle;
    try {
      fh = await fsp.open(layout.blob(hex), 'r');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
    try {
      const st = await fh.stat();
      if (st.size > max) return undefined;
      return await fh.readFile();
    } finally {
      await fh.close();
    }
  }

  // ---- uploads ----------------------------------------------------------------------------------

  interface Session {
    id: string;
    repository: string;
    dir: string;
    data: string;
    /** The hash of the first `hashed` bytes (lost on restart: the file is hashed again at completion). */
    hash?: Hash;
    hashed: number;
    /** Serialises requests on one session. */
    run: <T>(fn: () => Promise<T>) => Promise<T>;
  }
  const sessions = new Map<string, Session>();

  async function session(repository: string, id: string): Promise<Session> {
    const unknown = () =>
      registryError('registry/upload-unknown', `upload ${id} is not known in repository ${repository}`);
    if (!UPLOAD_ID.test(id)) throw unknown();
    let s = sessions.get(id);
    if (!s) {
      const dir = layout.upload(id);
      const info = await readSmall(path.join(dir, 'info.json'));
      if (info === undefined) throw unknown();
      let repo: string;
      try {
        repo = (JSON.parse(info) as { repository: string }).repository;
      } catch {
        throw unknown();
      }
      s = { id, repository: repo, dir, data: path.join(dir, 'data'), hashed: 0, run: createMutex() };
      sessions.set(id, s);
    }
    if (s.repository !== repository) throw unknown();
    if (!(await statOrUndefined(s.data))) {
      // Removed by garbage collection after the client went quiet.
      sessions.delete(id);
      throw unknown();
    }
    return s;
  }

  async function sizeOf(file: string): Promise<number> {
    return (await statOrUndefined(file))?.size ?? 0;
  }

  async function dropSession(s: Session): Promise<void> {
    sessions.delete(s.id);
    await fsp.rm(s.dir, { recursive: true, force: true });
  }

  // ---- manifests and links ---------------------------------------------------------------------

  async function linked(repository: string, hex: string): Promise<string | undefined> {
    const t = await readSmall(layout.revision(repository, hex));
    return t === undefined ? undefined : t.trim();
  }

  async function resolveReference(repository: string, reference: string): Promise<string | undefined> {
    if (reference.includes(':')) return sha256Hex(reference);
    if (!isTag(reference))
      throw registryError('registry/tag-invalid', `"${reference}" is not a valid tag or digest`);
    const t = await readSmall(layout.tag(repository, reference));
    if (t === undefined) return undefined;
    const d = t.trim();
    return SHA256_HEX.test(d.slice(7)) && d.startsWith('sha256:') ? d.slice(7) : undefined;
  }

  /** Checks that everything a manifest names is present (blobs anywhere, child manifests in the repository or the batch). */
  async function checkReferences(
    repository: string,
    parsed: ParsedManifest,
    pendingLinks: Set<string> = new Set(),
  ): Promise<void> {
    for (const b of parsed.blobs) {
      const st = await statOrUndefined(layout.blob(b.digest.slice(7)));
      if (!st)
        throw registryError(
          'registry/manifest-blob-unknown',
          `the manifest names blob ${b.digest} (${b.mediaType}), which this registry does not have: push it first`,
          { digest: b.digest },
        );
      if (st.size !== b.size)
        throw registryError(
          'registry/manifest-invalid',
          `the manifest says blob ${b.digest} has ${b.size} bytes; the stored blob has ${st.size}`,
          { digest: b.digest },
        );
    }
    for (const m of parsed.manifests) {
      const hex = m.digest.slice(7);
      if (!pendingLinks.has(`${repository}@${hex}`) && (await linked(repository, hex)) === undefined)
        throw registryError(
          'registry/manifest-blob-unknown',
          `the index names manifest ${m.digest}, which is not in repository ${repository}: push it first`,
          { digest: m.digest },
        );
    }
  }

  async function link(repository: string, hex: string, mediaType: string): Promise<void> {
    const file = layout.revision(repository, hex);
    if ((await readSmall(file))?.trim() === mediaType) {
      const now = clock.now() / 1000;
      await fsp.utimes(file, now, now);
      return;
    }
    await writeDurable(file, mediaType);
  }

  async function setTag(repository: string, tag: string, hex: string): Promise<void> {
    await writeDurable(layout.tag(repository, tag), `sha256:${hex}`);
  }

  async function applyOps(ops: BatchOp[]): Promise<void> {
    for (const op of ops) {
      if (op.op === 'link') await link(op.repository, sha256Hex(op.digest), op.mediaType);
      else if (op.op === 'tag') await setTag(op.repository, op.tag, sha256Hex(op.digest));
      else if (await removeFile(layout.tag(op.repository, op.tag)))
        await syncDir(layout.tagsDir(op.repository));
    }
  }

  /** Validates a batch before anything is written: names, tags, and that every link and tag has its content. */
  async function checkBatch(ops: BatchOp[]): Promise<void> {
    const pending = new Set<string>();
    for (const op of ops) {
      checkRepository(op.repository);
      if (op.op !== 'link' && !isTag(op.tag))
        throw registryError('registry/tag-invalid', `"${op.tag}" is not a valid tag`);
      if (op.op === 'link') pending.add(`${op.repository}@${sha256Hex(op.digest)}`);
    }
    for (const op of ops) {
      if (op.op === 'link') {
        const hex = sha256Hex(op.digest);
        const bytes = await readBlobBytes(hex, limits.maxManifestBytes);
        if (!bytes)
          throw registryError(
            'registry/manifest-unknown',
            `manifest ${op.digest} is not in the store (put its bytes first)`,
          );
        await checkReferences(op.repository, parseManifest(bytes, op.mediaType), pending);
      } else if (op.op === 'tag') {
        const hex = sha256Hex(op.digest);
        if (!pending.has(`${op.repository}@${hex}`) && (await linked(op.repository, hex)) === undefined)
          throw registryError(
            'registry/manifest-unknown',
            `tag ${op.repository}:${op.tag} would point at ${op.digest}, which is not in the repository`,
          );
      }
    }
  }

  let journalSeq = 0;
  async function commitJournaled(ops: BatchOp[]): Promise<void> {
    await fsp.mkdir(layout.journalDir, { recursive: true });
    const name = `${String(Date.now()).padStart(15, '0')}-${String(++journalSeq).padStart(6, '0')}-${crypto.randomBytes(4).toString('hex')}.json`;
    const file = path.join(layout.journalDir, name);
    // Once the journal is durable the batch is decided: a crash from here on is finished by the next open().
    await writeDurable(file, JSON.stringify({ ops }));
    await applyOps(ops);
    await removeFile(file);
    await syncDir(layout.journalDir);
  }

  async function replayJournals(): Promise<void> {
    const entries = (await listDir(layout.journalDir))
      .filter((e) => e.isFile() && e.name.endsWith('.json') && !e.name.startsWith('.'))
      .map((e) => e.name)
      .sort();
    for (const name of entries) {
      const file = path.join(layout.journalDir, name);
      let ops: BatchOp[];
      try {
        ops = (JSON.parse(await fsp.readFile(file, 'utf8')) as { ops: BatchOp[] }).ops;
      } catch (err) {
        log.error({ file, err: (err as Error).message }, 'unreadable registry journal; left in place');
        continue;
      }
      await applyOps(ops);
      await removeFile(file);
      log.warn({ file, ops: ops.length }, 'finished a registry batch interrupted by a crash');
    }
    await syncDir(layout.journalDir);
  }

  // ---- open: clean-up and usage ---------------------------------------------------------------

  async function du(dir: string): Promise<number> {
    let total = 0;
    for (const e of await listDir(dir)) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) total += await du(p);
      else if (e.isFile()) total += (await statOrUndefined(p))?.size ?? 0;
    }
    return total;
  }

  async function removeStale(dir: string, olderThanMs: number): Promise<void> {
    const limit = clock.now() - olderThanMs;
    for (const e of await listDir(dir)) {
      const p = path.join(dir, e.name);
      const st = await statOrUndefined(p);
      if (st && st.mtimeMs < limit) await fsp.rm(p, { recursive: true, force: true });
    }
  }

  const store: RegistryStore = {
    root: layout.root,

    async open() {
      for (const d of [layout.blobsDir, layout.reposDir, layout.uploadsDir, layout.tmpDir, layout.stagingDir])
        await fsp.mkdir(d, { recursive: true });
      await replayJournals();
      // Temporary files never become blobs after a restart; leftover uploads may still be resumed for a day.
      await removeStale(layout.tmpDir, 0);
      await removeStale(layout.uploadsDir, STALE_AT_OPEN_MS);
      await removeStale(layout.stagingDir, STALE_AT_OPEN_MS);
      used = (await du(layout.blobsDir)) + (await du(layout.uploadsDir)) + (await du(layout.stagingDir));
      opened = true;
      log.debug({ root: layout.root, usedBytes: used }, 'registry store open');
    },

    async statBlob(digest) {
      const hex = sha256Hex(digest);
      const st = await statOrUndefined(layout.blob(hex));
      return st ? { digest: `sha256:${hex}`, size: st.size } : undefined;
    },

    async openBlob(digest) {
      const hex = sha256Hex(digest);
      let fh: fsp.FileHandle;
      try {
        fh = await fsp.open(layout.blob(hex), 'r');
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
        throw err;
      }
      const size = (await fh.stat()).size;
      let closed = false;
      return {
        size,
        stream(range) {
          closed = true; // the stream owns the handle now
          return fh.createReadStream({
            ...(range ? { start: range.start, end: range.end } : {}),
            highWaterMark: 1 << 20,
            autoClose: true,
          });
        },
        async close() {
          if (!closed) {
            closed = true;
            await fh.close();
          }
        },
      };
    },

    async putBlob(source, expect = {}) {
      const hex = expect.digest === undefined ? undefined : sha256Hex(expect.digest);
      const tmp = await tmpFile();
      const hash = crypto.createHash('sha256');
      const fh = await fsp.open(tmp, 'wx', 0o644);
      let size: number;
      try {
        size = await receive(source, fh, hash, {
          offset: 0,
          ...(expect.size === undefined ? {} : { length: expect.size }),
          what: expect.digest ?? 'blob',
        });
        await fh.sync();
      } catch (err) {
        await fh.close();
        await fsp.rm(tmp, { force: true });
        throw err;
      }
      await fh.close();
      const actual = hash.digest('hex');
      if (hex !== undefined && actual !== hex) {
        await fsp.rm(tmp, { force: true });
        release(size);
        throw registryError(
          'registry/digest-invalid',
          `the content's digest is sha256:${actual}, not ${expect.digest}`,
        );
      }
      install(tmp, actual, size);
      await syncDir(path.dirname(layout.blob(actual)));
      return { digest: `sha256:${actual}`, size };
    },

    async adoptBlobFile(file, expect) {
      const hex = sha256Hex(expect.digest);
      const st = await fsp.stat(file);
      if (!st.isFile()) throw registryError('registry/upload-invalid', `${file} is not a regular file`);
      if (expect.size !== undefined && st.size !== expect.size)
        throw registryError(
          'registry/size-invalid',
          `${file} has ${st.size} bytes, ${expect.size} expected for ${expect.digest}`,
        );
      if (st.size > limits.maxBlobBytes) throw tooLarge(expect.digest);
      const dest = layout.blob(hex);
      if (fs.existsSync(dest)) {
        const now = clock.now() / 1000;
        fs.utimesSync(dest, now, now);
        await fsp.rm(file, { force: true });
        return { digest: expect.digest, size: st.size, existed: true };
      }
      if (!expect.verified) {
        const hash = crypto.createHash('sha256');
        for await (const chunk of fs.createReadStream(file, { highWaterMark: 1 << 20 }))
          hash.update(chunk as Buffer);
        const actual = hash.digest('hex');
        if (actual !== hex)
          throw registryError(
            'registry/digest-invalid',
            `${file} has digest sha256:${actual}, not ${expect.digest}`,
          );
      }
      reserve(st.size, expect.digest);
      // A rename into the store when the file is on its file system; a copy (then fsync) otherwise.
      const tmp = await tmpFile();
      try {
        try {
          await fsp.rename(file, tmp);
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'EXDEV') throw err;
          await fsp.copyFile(file, tmp);
          await fsp.rm(file, { force: true });
        }
        await syncFile(tmp);
        const existed = install(tmp, hex, st.size);
        await syncDir(path.dirname(dest));
        return { digest: expect.digest, size: st.size, existed };
      } catch (err) {
        await fsp.rm(tmp, { force: true });
        release(st.size);
        throw err;
      }
    },

    async createStagingDir(prefix = 'import-') {
      await fsp.mkdir(layout.stagingDir, { recursive: true });
      return fsp.mkdtemp(path.join(layout.stagingDir, prefix));
    },

    async startUpload(repository) {
      checkRepository(repository);
      const id = crypto.randomUUID();
      const dir = layout.upload(id);
      await fsp.mkdir(dir, { recursive: true });
      await fsp.writeFile(
        path.join(dir, 'info.json'),
        JSON.stringify({ repository, startedAt: clock.now() }),
      );
      await fsp.writeFile(path.join(dir, 'data'), '');
      sessions.set(id, {
        id,
        repository,
        dir,
        data: path.join(dir, 'data'),
        hash: crypto.createHash('sha256'),
        hashed: 0,
        run: createMutex(),
      });
      return { id, repository, offset: 0 };
    },

    async upload(repository, id) {
      const s = await session(repository, id);
      return { id, repository, offset: await sizeOf(s.data) };
    },

    async appendUpload(repository, id, source, opts = {}) {
      const s = await session(repository, id);
      return s.run(async () => {
        const offset = await sizeOf(s.data);
        if (opts.start !== undefined && opts.start !== offset)
          throw registryError(
            'registry/range-invalid',
            `upload ${id}: the chunk starts at ${opts.start}, but ${offset} bytes were received`,
            { offset },
          );
        // A session without hash state (after a restart) is hashed once at completion instead.
        const hash = s.hash !== undefined && s.hashed === offset ? s.hash : undefined;
        const before = hash?.copy();
        const fh = await fsp.open(s.data, 'r+');
        try {
          const n = await receive(source, fh, hash ?? crypto.createHash('sha256'), {
            offset,
            ...(opts.length === undefined ? {} : { length: opts.length }),
            what: `upload ${id}`,
          });
          if (hash) s.hashed = offset + n;
          else s.hash = undefined;
          return { id, repository, offset: offset + n };
        } catch (err) {
          // A failed chunk leaves the upload where it was: the client may send it again.
          await fh.truncate(offset);
          s.hash = before;
          s.hashed = before ? offset : 0;
          throw err;
        } finally {
          await fh.close();
        }
      });
    },

    async completeUpload(repository, id, digest, source, length) {
      const hex = sha256Hex(digest);
      const s = await session(repository, id);
      return s.run(async () => {
        let offset = await sizeOf(s.data);
        if (source) {
          const hash = s.hash !== undefined && s.hashed === offset ? s.hash : undefined;
          const fh = await fsp.open(s.data, 'r+');
          try {
            const n = await receive(source, fh, hash ?? crypto.createHash('sha256'), {
              offset,
              ...(length === undefined ? {} : { length }),
              what: `upload ${id}`,
            });
            if (hash) s.hashed = offset + n;
            else s.hash = undefined;
            offset += n;
            await fh.sync();
          } catch (err) {
            await fh.truncate(offset);
            throw err;
          } finally {
            await fh.close();
          }
        } else await syncFile(s.data);
        let actual: string;
        if (s.hash !== undefined && s.hashed === offset) actual = s.hash.digest('hex');
        else {
          const h = crypto.createHash('sha256');
          for await (const chunk of fs.createReadStream(s.data, { highWaterMark: 1 << 20 }))
            h.update(chunk as Buffer);
          actual = h.digest('hex');
        }
        s.hash = undefined;
        if (actual !== hex) {
          release(offset);
          await dropSession(s);
          throw registryError(
            'registry/digest-invalid',
            `upload ${id}: the content's digest is sha256:${actual}, not ${digest}; the upload is discarded`,
          );
        }
        install(s.data, hex, offset);
        await syncDir(path.dirname(layout.blob(hex)));
        await dropSession(s);
        return { digest: `sha256:${hex}`, size: offset };
      });
    },

    async cancelUpload(repository, id) {
      const s = await session(repository, id);
      await s.run(async () => {
        release(await sizeOf(s.data));
        await dropSession(s);
      });
    },

    async putManifest(repository, reference, bytes, contentType) {
      checkRepository(repository);
      if (bytes.length > limits.maxManifestBytes)
        throw registryError(
          'registry/too-large',
          `the manifest has ${bytes.length} bytes, more than the ${limits.maxManifestBytes} allowed (registry.maxManifestBytes)`,
        );
      const isDigestRef = reference.includes(':');
      if (!isDigestRef && !isTag(reference))
        throw registryError('registry/tag-invalid', `"${reference}" is not a valid tag or digest`);
      const parsed = parseManifest(bytes, contentType);
      const hex = crypto.createHash('sha256').update(bytes).digest('hex');
      if (isDigestRef && sha256Hex(reference) !== hex)
        throw registryError(
          'registry/digest-invalid',
          `the manifest's digest is sha256:${hex}, not ${reference}`,
        );
      return exclusive(async () => {
        await checkReferences(repository, parsed);
        await putBytes(bytes, `manifest ${repository}:${reference}`);
        await link(repository, hex, parsed.mediaType);
        if (!isDigestRef) await setTag(repository, reference, hex);
        return { digest: `sha256:${hex}`, parsed };
      });
    },

    async commitManifests(items) {
      const ops: BatchOp[] = [];
      const out: { repository: string; digest: string; tags: string[] }[] = [];
      for (const item of items) {
        checkRepository(item.repository);
        if (item.bytes.length > limits.maxManifestBytes)
          throw registryError(
            'registry/too-large',
            `a manifest for ${item.repository} has ${item.bytes.length} bytes, more than the ${limits.maxManifestBytes} allowed`,
          );
        const parsed = parseManifest(item.bytes, item.mediaType);
        const hex = await putBytes(item.bytes, `manifest for ${item.repository}`);
        const digest = `sha256:${hex}`;
        ops.push({ op: 'link', repository: item.repository, digest, mediaType: parsed.mediaType });
        for (const tag of item.tags ?? []) ops.push({ op: 'tag', repository: item.repository, tag, digest });
        out.push({ repository: item.repository, digest, tags: item.tags ?? [] });
      }
      await store.commitBatch(ops);
      return out;
    },

    async commitBatch(ops) {
      await exclusive(async () => {
        await checkBatch(ops);
        await commitJournaled(ops);
      });
    },

    async getManifest(repository, reference) {
      checkRepository(repository);
      const hex = await resolveReference(repository, reference);
      if (hex === undefined) return undefined;
      const mediaType = await linked(repository, hex);
      if (mediaType === undefined) return undefined;
      const bytes = await readBlobBytes(hex, limits.maxManifestBytes);
      if (!bytes) return undefined;
      return {
        digest: `sha256:${hex}`,
        mediaType,
        size: bytes.length,
        bytes,
        parsed: parseManifest(bytes, mediaType),
      };
    },

    async deleteManifest(repository, reference) {
      checkRepository(repository);
      await exclusive(async () => {
        const unknown = () =>
          registryError('registry/manifest-unknown', `${repository}:${reference} is not in the registry`);
        if (!reference.includes(':')) {
          if (!isTag(reference))
            throw registryError('registry/tag-invalid', `"${reference}" is not a valid tag`);
          if (!(await removeFile(layout.tag(repository, reference)))) throw unknown();
          await syncDir(layout.tagsDir(repository));
          return;
        }
        const hex = sha256Hex(reference);
        if (!(await removeFile(layout.revision(repository, hex)))) throw unknown();
        for (const e of await listDir(layout.tagsDir(repository))) {
          if (!e.isFile() || e.name.startsWith('.')) continue;
          const t = (await readSmall(layout.tag(repository, e.name)))?.trim();
          if (t === `sha256:${hex}`) await removeFile(layout.tag(repository, e.name));
        }
        await syncDir(layout.tagsDir(repository));
        await syncDir(layout.revisionsDir(repository));
      });
    },

    async listTags(repository) {
      checkRepository(repository);
      if (!(await statOrUndefined(layout.manifestsDir(repository)))) return undefined;
      return (await listDir(layout.tagsDir(repository)))
        .filter((e) => e.isFile() && !e.name.startsWith('.') && isTag(e.name))
        .map((e) => e.name)
        .sort();
    },

    async repositories() {
      const out: string[] = [];
      const walk = async (dir: string, prefix: string) => {
        for (const e of await listDir(dir)) {
          if (!e.isDirectory()) continue;
          if (e.name === '_manifests') {
            if (prefix) out.push(prefix);
            continue;
          }
          await walk(path.join(dir, e.name), prefix ? `${prefix}/${e.name}` : e.name);
        }
      };
      await walk(layout.reposDir, '');
      return out.sort();
    },

    usage() {
      return { usedBytes: used, quotaBytes: limits.quotaBytes, freeBytes: freeBytes(layout.root) };
    },

    async gc(gcOptions) {
      if (!opened) await store.open();
      return exclusive(() =>
        runGc({
          layout,
          clock,
          logger: log,
          options: gcOptions,
          liveUploads: () => new Set(sessions.keys()),
          released: release,
        }),
      );
    },
  };
  return store;
}
