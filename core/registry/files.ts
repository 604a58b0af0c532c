import crypto from 'node:crypto';
import type fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';

/**
 * The on-disk layout of the site registry's store (ADR 0420) and the few crash-safe file operations it is
 * built from: content goes to a temporary file on the same file system, is fsynced, renamed into place,
 * and the folder is fsynced, so a reader (or the next start after a crash) sees the old state or the
 * new, never a torn file.
 *
 * ```
 * <root>/blobs/sha256/<2 hex>/<64 hex>                        verified content (layers, configs, manifests)
 * <root>/repositories/<name>/_manifests/revisions/sha256/<hex> a manifest in this repository; holds its media type
 * <root>/repositories/<name>/_manifests/tags/<tag>           the digest the tag points at
 * <root>/uploads/<id>/{info.json,data}                      an upload session (POST/PATCH/PUT)
 * <root>/journal/<seq>-<id>.json                            a batch of link/tag changes being applied
 * <root>/tmp/, <root>/staging/                              temporary files, staging folders of imports
 * ```
 */
export interface Layout {
  readonly root: string;
  readonly blobsDir: string;
  readonly reposDir: string;
  readonly uploadsDir: string;
  readonly journalDir: string;
  readonly tmpDir: string;
  readonly stagingDir: string;
  blob(hex: string): string;
  repoDir(name: string): string;
  manifestsDir(name: string): string;
  revisionsDir(name: string): string;
  revision(name: string, hex: string): string;
  tagsDir(name: string): string;
  tag(name: string, tag: string): string;
  upload(id: string): string;
}

export function createLayout(root: string): Layout {
  const r = path.resolve(root);
  const blobsDir = path.join(r, 'blobs', 'sha256');
  const reposDir = path.join(r, 'repositories');
  const repoDir = (name: string) => path.join(reposDir, ...name.split('/'));
  const manifestsDir = (name: string) => path.join(repoDir(name), '_manifests');
  const revisionsDir = (name: string) => path.join(manifestsDir(name), 'revisions', 'sha256');
  const tagsDir = (name: string) => path.join(manifestsDir(name), 'tags');
  return {
    root: r,
    blobsDir,
    reposDir,
    uploadsDir: path.join(r, 'uploads'),
    journalDir: path.join(r, 'journal'),
    tmpDir: path.join(r, 'tmp'),
    stagingDir: path.join(r, 'staging'),
    blob: (hex) => path.join(blobsDir, hex.slice(0, 2), hex),
    repoDir,
    manifestsDir,
    revisionsDir,
    revision: (name, hex) => path.join(revisionsDir(name), hex),
    tagsDir,
    tag: (name, tag) => path.join(tagsDir(name), tag),
    upload: (id) => path.join(r, 'uploads', id),
  };
}

/** Makes a rename or unlink in `dir` durable (some file systems refuse fsync on a folder: the rename is still atomic). */
export async function syncDir(dir: string): Promise<void> {
  let fh: fsp.FileHandle | undefined;
  try {
    fh = await fsp.open(dir, 'r');
    await fh.sync();
  } catch {
    // see above
  } finally {
    await fh?.close();
  }
}

/** fsyncs a file someone else wrote (a staged blob) before it is renamed into place. */
export async function syncFile(file: string): Promise<void> {
  const fh = await fsp.open(file, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** Writes `data` to `file` atomically and durably (temporary file in the same folder, fsync, rename, fsync folder). */
export async function writeDurable(file: string, data: string | Uint8Array): Promise<void> {
  const dir = path.dirname(file);
  await fsp.mkdir(dir, { recursive: true });
  const tmp = path.join(dir, `.${path.basename(file)}.${crypto.randomBytes(6).toString('hex')}.tmp`);
  const fh = await fsp.open(tmp, 'wx', 0o644);
  try {
    await fh.writeFile(data);
    await fh.sync();
  } catch (err) {
    await fh.close();
    await fsp.rm(tmp, { force: true });
    throw err;
  }
  await fh.close();
  try {
    await fsp.rename(tmp, file);
  } catch (err) {
    await fsp.rm(tmp, { force: true });
    throw err;
  }
  await syncDir(dir);
}

/** Removes a file; true if it was there. */
export async function removeFile(file: string): Promise<boolean> {
  try {
    await fsp.unlink(file);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
}

/** The text of a small file, or undefined when it does not exist. */
export async function readSmall(file: string): Promise<string | undefined> {
  try {
    return await fsp.readFile(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    throw err;
  }
}

/** Names in a folder (none when it does not exist). */
export async function listDir(dir: string): Promise<fs.Dirent[]> {
  try {
    return await fsp.readdir(dir, { withFileTypes: true });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return [];
    throw err;
  }
}

/** Stat, or undefined when the path does not exist. */
export async function statOrUndefined(p: string): Promise<fs.Stats | undefined> {
  try {
    return await fsp.stat(p);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    throw err;
  }
}

/** A lock for async critical sections within one process (one holder at a time, in arrival order). */
export function createMutex(): <T>(fn: () => Promise<T>) => Promise<T> {
  let tail: Promise<void> = Promise.resolve();
  return async <T>(fn: () => Promise<T>): Promise<T> => {
    const prev = tail;
    let release!: () => void;
    tail = new Promise<void>((r) => (release = r));
    await prev;
    try {
      return await fn();
    } finally {
      release();
    }
  };
}
