import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import crypto from 'node:crypto';
import { OutpostError } from '../errors/index.js';
import { systemClock, type Clock } from '../base/index.js';
import type { Logger } from '../log/index.js';
import { ociError } from './errors.js';
import { digestOf, hashFile, parseDigest } from './digest.js';

export interface BlobCacheOptions {
  /** Root folder: blobs live in `<dir>/blobs/<algorithm>/<hex>`, downloads in `<dir>/staging/`. */
  dir: string;
  /** Size limit; least recently used, unpinned blobs are evicted to stay under it. */
  maxBytes: number;
  clock?: Clock;
  logger?: Logger;
}

export interface CachedBlob {
  digest: string;
  size: number;
  /** Last `put` or `get`, in clock milliseconds. */
  lastAccess: number;
  pinned: boolean;
  /** Owners of the leases that pin it (a bare `pin()` has no owner). */
  pinnedBy?: string[];
}

/**
 * A set of pins held for one piece of work (an agent deployment task, ADR 0342): each digest is pinned
 * once however often it is added, and `release()` unpins them all. Pin a digest before looking it up or
 * downloading it, so no eviction can fall between "present" and "in use".
 */
export interface CacheLease {
  readonly owner: string;
  /** Pins `digest` (present or not) until `release()`; adding a digest twice pins it once. */
  pin(digest: string): void;
  /** The digests this lease pins, in the order they were added. */
  digests(): string[];
  /** Unpins every digest; safe to call more than once. Pinning after release is a `conflict`. */
  release(): void;
}

export interface BlobCache {
  readonly dir: string;
  /** The size limit; exceeded only while pinned blobs (or the one just stored) need more. */
  readonly maxBytes: number;
  has(digest: string): Promise<boolean>;
  /** The blob's path, recording the access; `undefined` when absent (or, with `verify`, corrupt: then removed). */
  get(digest: string, options?: { verify?: boolean }): Promise<string | undefined>;
  /**
   * Moves a file into the cache under `digest` (atomic rename; copied when on another file system) and
   * returns its path. The file is hashed first unless the caller says it is `verified`. Never evicts
   * the blob it stores; may evict others.
   */
  put(digest: string, fromFile: string, options?: { verified?: boolean }): Promise<string>;
  /** Stores bytes (manifests, small configs); returns digest and path. */
  putBytes(bytes: Uint8Array): Promise<{ digest: string; path: string }>;
  /** A path on the cache's file system to download `digest` to before `put` (resumable across restarts). */
  stagingPath(digest: string): string;
  /** Protects a blob (present or still downloading) from eviction; counted, so pin/unpin in pairs. */
  pin(digest: string): void;
  unpin(digest: string): void;
  /** A lease: pins held together for one owner and released together (see `CacheLease`). */
  lease(owner: string): CacheLease;
  /** Deletes a blob; a pinned blob is a `conflict`. Returns whether it was there. */
  remove(digest: string): Promise<boolean>;
  list(): Promise<CachedBlob[]>;
  usage(): Promise<{ bytes: number; count: number; maxBytes: number }>;
  /** Evicts least recently used, unpinned blobs until the cache fits; returns the evicted digests. */
  prune(): Promise<string[]>;
}

interface Entry {
  size: number;
  lastAccess: number;
  /** Tie-breaker for equal timestamps: a counter of accesses. */
  seq: number;
}

interface IndexFile {
  version: 1;
  seq: number;
  entries: Record<string, Entry>;
}

/**
 * A content-addressed blob cache with a size limit and LRU eviction. Access times are kept in a small
 * `index.json` (rewritten atomically), reconciled with the files on disk when the cache is first used, so a
 * lost or stale index only loses recency. One process owns a cache directory at a time.
 */
export function createBlobCache(options: BlobCacheOptions): BlobCache {
  const dir = path.resolve(options.dir);
  const clock = options.clock ?? systemClock;
  const log = options.logger;
  const indexFile = path.join(dir, 'index.json');
  const stagingDir = path.join(dir, 'staging');
  const pins = new Map<string, number>();
  const leases = new Set<{ owner: string; held: Set<string> }>();
  let index: IndexFile | undefined;
  let queue: Promise<unknown> = Promise.resolve();

  if (!Number.isFinite(options.maxBytes) || options.maxBytes < 0)
    throw new OutpostError('invalid-config', `blob cache ${dir}: maxBytes must be a non-negative number`);

  /** Runs cache operations one at a time. */
  const serial = <T>(fn: () => Promise<T>): Promise<T> => {
    const run = queue.then(fn);
    queue = run.catch(() => undefined);
    return run;
  };

  const blobPath = (digest: string): string => {
    const { algorithm, hex } = parseDigest(digest, 'blob cache');
    return path.join(dir, 'blobs', algorithm, hex);
  };

  const load = async (): Promise<IndexFile> => {
    if (index) return index;
    await fsp.mkdir(stagingDir, { recursive: true });
    let stored: IndexFile = { version: 1, seq: 0, entries: {} };
    try {
      const parsed = JSON.parse(await fsp.readFile(indexFile, 'utf8')) as IndexFile;
      if (parsed && parsed.version === 1 && typeof parsed.entries === 'object') stored = parsed;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT')
        log?.warn(
          { file: indexFile, err: (err as Error).message },
          'blob cache index unreadable; rebuilding',
        );
    }
    // The files on disk are the truth; the index only adds access times.
    const entries: Record<string, Entry> = {};
    for (const algorithm of ['sha256', 'sha512']) {
      const d = path.join(dir, 'blobs', algorithm);
      let names: string[];
      try {
        names = await fsp.readdir(d);
      } catch {
        continue;
      }
      for (const hex of names) {
        const digest = `${algorithm}:${hex}`;
        let st: fs.Stats;
        try {
          parseDigest(digest);
          st = await fsp.stat(path.join(d, hex));
        } catch {
          continue;
        }
        if (!st.isFile()) continue;
        const known = stored.entries[digest];
        entries[digest] = {
          size: st.size,
          lastAccess: known?.lastAccess ?? st.mtimeMs,
          seq: known?.seq ?? 0,
        };
      }
    }
    index = { version: 1, seq: stored.seq ?? 0, entries };
    return index;
  };

  const save = async (idx: IndexFile): Promise<void> => {
    const tmp = `${indexFile}.${process.pid}.${crypto.randomBytes(4).toString('hex')}.tmp`;
    await fsp.writeFile(tmp, JSON.stringify(idx));
    await fsp.rename(tmp, indexFile);
  };

  const touch = (idx: IndexFile, digest: string, size: number) => {
    idx.seq += 1;
    idx.entries[digest] = { size, lastAccess: clock.now(), seq: idx.seq };
  };

  const total = (idx: IndexFile) => Object.values(idx.entries).reduce((n, e) => n + e.size, 0);

  const evict = async (idx: IndexFile, keep?: string): Promise<string[]> => {
    let bytes = total(idx);
    if (bytes <= options.maxBytes) return [];
    const candidates = Object.entries(idx.entries)
      .filter(([d]) => d !== keep && !pins.has(d))
      .sort(([, a], [, b]) => a.lastAccess - b.lastAccess || a.seq - b.seq);
    const evicted: string[] = [];
    for (const [digest, e] of candidates) {
      if (bytes <= options.maxBytes) break;
      await fsp.rm(blobPath(digest), { force: true });
      delete idx.entries[digest];
      bytes -= e.size;
      evicted.push(digest);
    }
    if (evicted.length)
      log?.info({ evicted: evicted.length, bytes, maxBytes: options.maxBytes }, 'blob cache evicted');
    if (bytes > options.maxBytes)
      log?.warn(
        { bytes, maxBytes: options.maxBytes },
        'blob cache over its limit: the rest is pinned or in use',
      );
    return evicted;
  };

  const place = async (digest: string, from: string): Promise<string> => {
    const dest = blobPath(digest);
    await fsp.mkdir(path.dirname(dest), { recursive: true });
    try {
      await fsp.rename(from, dest);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EXDEV') throw err;
      const tmp = path.join(stagingDir, `${crypto.randomBytes(8).toString('hex')}.copy`);
      try {
        await fsp.copyFile(from, tmp);
        const fh = await fsp.open(tmp, 'r+');
        await fh.sync();
        await fh.close();
        await fsp.rename(tmp, dest);
      } finally {
        await fsp.rm(tmp, { force: true });
      }
      await fsp.rm(from, { force: true });
    }
    return dest;
  };

  const pin = (digest: string) => {
    parseDigest(digest, 'blob cache');
    pins.set(digest, (pins.get(digest) ?? 0) + 1);
  };
  const unpin = (digest: string) => {
    const n = (pins.get(digest) ?? 0) - 1;
    if (n > 0) pins.set(digest, n);
    else pins.delete(digest);
  };
  const owners = (digest: string) => [...leases].filter((l) => l.held.has(digest)).map((l) => l.owner);

  return {
    dir,
    maxBytes: options.maxBytes,

    has: (digest) =>
      serial(async () => {
        parseDigest(digest, 'blob cache');
        return (await load()).entries[digest] !== undefined;
      }),

    get: (digest, o = {}) =>
      serial(async () => {
        const idx = await load();
        const p = blobPath(digest);
        const e = idx.entries[digest];
        if (!e) return undefined;
        let st: fs.Stats;
        try {
          st = await fsp.stat(p);
        } catch {
          delete idx.entries[digest];
          await save(idx);
          return undefined;
        }
        if (o.verify) {
          const { algorithm } = parseDigest(digest);
          const actual = await hashFile(p, algorithm);
          if (actual.digest !== digest) {
            log?.warn({ digest, actual: actual.digest }, 'blob cache: corrupt blob removed');
            await fsp.rm(p, { force: true });
            delete idx.entries[digest];
            await save(idx);
            return undefined;
          }
        }
        touch(idx, digest, st.size);
        await save(idx);
        return p;
      }),

    put: (digest, fromFile, o = {}) =>
      serial(async () => {
        const { algorithm } = parseDigest(digest, 'blob cache');
        const idx = await load();
        if (!o.verified) {
          const actual = await hashFile(fromFile, algorithm);
          if (actual.digest !== digest)
            throw ociError(
              'oci/digest-mismatch',
              `blob cache: ${fromFile} has digest ${actual.digest}, not ${digest}`,
              {
                expected: digest,
                actual: actual.digest,
              },
            );
        }
        let dest = blobPath(digest);
        if (idx.entries[digest] && fs.existsSync(dest)) {
          await fsp.rm(fromFile, { force: true });
        } else {
          dest = await place(digest, fromFile);
        }
        touch(idx, digest, (await fsp.stat(dest)).size);
        await evict(idx, digest);
        await save(idx);
        return dest;
      }),

    putBytes: (bytes) =>
      serial(async () => {
        const digest = digestOf(bytes);
        const idx = await load();
        const dest = blobPath(digest);
        if (!idx.entries[digest] || !fs.existsSync(dest)) {
          const tmp = path.join(stagingDir, `${crypto.randomBytes(8).toString('hex')}.bytes`);
          const fh = await fsp.open(tmp, 'w');
          try {
            await fh.writeFile(bytes);
            await fh.sync();
          } finally {
            await fh.close();
          }
          await place(digest, tmp);
        }
        touch(idx, digest, bytes.length);
        await evict(idx, digest);
        await save(idx);
        return { digest, path: dest };
      }),

    stagingPath(digest) {
      const { algorithm, hex } = parseDigest(digest, 'blob cache');
      return path.join(stagingDir, `${algorithm}-${hex}`);
    },

    pin,
    unpin,

    lease(owner) {
      const l = { owner, held: new Set<string>() };
      let released = false;
      leases.add(l);
      return {
        owner,
        pin(digest) {
          if (released)
            throw new OutpostError('conflict', `blob cache: the lease of ${owner} was released already`);
          if (l.held.has(digest)) return;
          pin(digest);
          l.held.add(digest);
        },
        digests: () => [...l.held],
        release() {
          if (released) return;
          released = true;
          leases.delete(l);
          for (const d of l.held) unpin(d);
        },
      };
    },

    remove: (digest) =>
      serial(async () => {
        const idx = await load();
        if (pins.has(digest)) throw new OutpostError('conflict', `blob cache: ${digest} is pinned (in use)`);
        const had = idx.entries[digest] !== undefined;
        await fsp.rm(blobPath(digest), { force: true });
        delete idx.entries[digest];
        await save(idx);
        return had;
      }),

    list: () =>
      serial(async () => {
        const idx = await load();
        return Object.entries(idx.entries)
          .sort(([, a], [, b]) => b.lastAccess - a.lastAccess || b.seq - a.seq)
          .map(([digest, e]) => {
            const pinnedBy = owners(digest);
            return {
              digest,
              size: e.size,
              lastAccess: e.lastAccess,
              pinned: pins.has(digest),
              ...(pinnedBy.length ? { pinnedBy } : {}),
            };
          });
      }),

    usage: () =>
      serial(async () => {
        const idx = await load();
        return { bytes: total(idx), count: Object.keys(idx.entries).length, maxBytes: options.maxBytes };
      }),

    prune: () =>
      serial(async () => {
        const idx = await load();
        const evicted = await evict(idx);
        if (evicted.length) await save(idx);
        return evicted;
      }),
  };
}
