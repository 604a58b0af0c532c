import crypto from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { loadGit } from '../git/load.js';
import { writePack, type PackObject } from '../gitops/pack-writer.js';
import {
  createObjectCache,
  createObjectReader,
  parseTree,
  type GitObjectType,
} from '../gitops/object-reader.js';
import { createDesiredStateReader } from '../lo/desired-state.js';
import { OutpostError } from '../../lib/errors/index.js';
import { bundleError } from './errors.js';

/**
 * The deployments repository across the gap (ADR 0406). HQ packs the objects of its repository that the
 * site lacks (reachable from the branch head, not from the commit the site has) into one git pack; the
 * site indexes the pack in its staging folder, checks that the range is a fast-forward of its mirror and
 * that every object of the new commit is there, and only then copies the pack into the mirror. The
 * mirror's ref is moved last, from the database (the import's commit point).
 */

export interface PackedRange {
  ref: string;
  from: string | null;
  to: string;
  /** New commits, newest first. */
  commits: string[];
  /** The pack file (in `workDir`), absent when the site already has `to`. */
  packFile: string | null;
  objects: number;
}

async function resolveHead(dir: string, ref: string): Promise<string | null> {
  try {
    return await (await loadGit()).resolveRef({ fs, dir, ref });
  } catch {
    return null;
  }
}

/** HQ: packs what `from` lacks of `ref` in the repository at `dir` (everything when `from` is null). */
export async function packRange(
  dir: string,
  ref: string,
  from: string | null,
  workDir: string,
): Promise<PackedRange | null> {
  if (!fs.existsSync(path.join(dir, '.git'))) return null;
  const to = await resolveHead(dir, ref);
  if (!to) return null;
  const reader = createObjectReader(dir);
  const read = async (oid: string) => {
    const o = await (await loadGit()).readObject({ fs, dir, oid, format: 'content' });
    return { type: o.type as GitObjectType, content: Buffer.from(o.object as Uint8Array) };
  };
  // The commits between: HQ's history is linear (one writer), but merges are walked all the same.
  const commits: string[] = [];
  const seen = new Set<string>();
  const queue = [to];
  let reachedFrom = from === null;
  while (queue.length) {
    const c = queue.shift()!;
    if (seen.has(c)) continue;
    seen.add(c);
    if (c === from) {
      reachedFrom = true;
      continue;
    }
    commits.push(c);
    const o = await read(c);
    for (const m of o.content.toString('latin1').matchAll(/^parent ([0-9a-f]{40})$/gm)) queue.push(m[1]!);
  }
  if (!reachedFrom)
    throw new OutpostError(
      'conflict',
      `the site is at commit ${from!.slice(0, 12)}, which is not in this server's history of ${ref}; export with --full`,
    );
  if (commits.length === 0) return { ref, from, to, commits, packFile: null, objects: 0 };

  // What the site has: every tree and blob of `from`'s tree.
  const have = new Set<string>();
  const walkHave = async (tree: string) => {
    if (have.has(tree)) return;
    have.add(tree);
    for (const e of await reader.tree(tree)) {
      if (e.type === 'tree') await walkHave(e.oid);
      else have.add(e.oid);
    }
  };
  if (from) await walkHave(await reader.commitTree(from));

  const objects: PackObject[] = [];
  const added = new Set<string>();
  const add = async (oid: string, type: 'commit' | 'tree' | 'blob'): Promise<Buffer | undefined> => {
    if (have.has(oid) || added.has(oid)) return undefined;
    added.add(oid);
    const o = await read(oid);
    if (o.type !== type) throw new OutpostError('internal', `${oid} is a ${o.type}, not a ${type}`);
    objects.push({ oid, type, content: o.content });
    return o.content;
  };
  const addTree = async (oid: string) => {
    const content = await add(oid, 'tree');
    if (!content) return;
    for (const e of parseTree(content)) {
      if (e.type === 'tree') await addTree(e.oid);
      else if (e.type === 'blob') await add(e.oid, 'blob');
    }
  };
  // Oldest first, so a reader meets bases before the objects built on them.
  for (const c of [...commits].reverse()) {
    await add(c, 'commit');
    await addTree(await reader.commitTree(c));
  }
  const gitdir = path.join(workDir, 'pack.git');
  const name = writePack(gitdir, objects);
  return {
    ref,
    from,
    to,
    commits,
    packFile: path.join(gitdir, 'objects', 'pack', `${name}.pack`),
    objects: objects.length,
  };
}

export interface CheckedRange {
  ref: string;
  /** The commit the mirror is at now. */
  current: string | null;
  from: string | null;
  to: string;
  /** Commits the range adds (0: the mirror is already at `to`). */
  commits: number;
  /** Node directories (`<site>/<node>`) whose deployments change. */
  nodes: string[];
  /** The indexed pack in the staging folder (`.pack` and `.idx`), absent when nothing is new. */
  pack: { name: string; dir: string } | null;
}

/** The commit a mirror's ref points at, or null. */
export async function mirrorHead(mirrorDir: string, ref: string): Promise<string | null> {
  if (!fs.existsSync(path.join(mirrorDir, '.git'))) return null;
  return resolveHead(mirrorDir, ref);
}

/**
 * Site: indexes a staged pack in `workDir` and checks the range against the mirror at `mirrorDir`
 * without changing it: `from` must be in the mirror (or null for a full bundle), `to` must descend from
 * the mirror's commit (fast-forward only), and every object of `to` must be in the pack or the mirror.
 */
export async function checkRange(options: {
  mirrorDir: string;
  range: { ref: string; from: string | null; to: string };
  /** The verified pack blob in the staging folder (null: the bundle carries none). */
  packFile: string | null;
  workDir: string;
  /** Only node directories of this site count as changed. */
  siteId: string;
}): Promise<CheckedRange> {
  const { mirrorDir, range } = options;
  const current = await mirrorHead(mirrorDir, range.ref);
  const cache = createObjectCache(Number.MAX_SAFE_INTEGER);
  let pack: CheckedRange['pack'] = null;
  if (options.packFile) {
    const bytes = await fsp.readFile(options.packFile);
    if (bytes.length < 32 || bytes.toString('latin1', 0, 4) !== 'PACK')
      throw bundleError('bundle/invalid-content', 'the git pack in the bundle is not a git pack file');
    const body = bytes.subarray(0, bytes.length - 20);
    const sum = crypto.createHash('sha1').update(body).digest();
    if (!sum.equals(bytes.subarray(bytes.length - 20)))
      throw bundleError('bundle/invalid-content', 'the git pack in the bundle fails its own checksum');
    const name = `pack-${sum.toString('hex')}`;
    const gitdir = path.join(options.workDir, 'check.git');
    const packDir = path.join(gitdir, 'objects', 'pack');
    await fsp.mkdir(packDir, { recursive: true });
    await fsp.copyFile(options.packFile, path.join(packDir, `${name}.pack`));
    let oids: string[];
    try {
      ({ oids } = await (
        await loadGit()
      ).indexPack({
        fs,
        dir: gitdir,
        gitdir: fs.existsSync(path.join(mirrorDir, '.git')) ? path.join(mirrorDir, '.git') : gitdir,
        filepath: path.join('objects', 'pack', `${name}.pack`),
      }));
    } catch (err) {
      throw bundleError(
        'bundle/invalid-content',
        `the git pack in the bundle cannot be read: ${(err as Error).message}`,
        undefined,
        err,
      );
    }
    const gitCache = {};
    for (const oid of oids) {
      const o = await (await loadGit()).readObject({ fs, gitdir, oid, format: 'content', cache: gitCache });
      cache.put(oid, o.type as GitObjectType, Buffer.from(o.object as Uint8Array));
    }
    pack = { name, dir: packDir };
  }
  // Reads the pack's objects first, then the mirror's.
  const dir = mirrorDir;
  const reader = createObjectReader(dir, cache);
  const has = async (oid: string) => {
    try {
      await reader.commitTree(oid);
      return true;
    } catch {
      return false;
    }
  };
  if (range.from !== null && !(await has(range.from)))
    throw bundleError(
      'bundle/missing-base',
      `the bundle builds on commit ${range.from.slice(0, 12)}, which this site does not have (a bundle it never imported?): export a --full bundle at HQ`,
      { from: range.from, current },
    );
  if (!(await has(range.to)))
    throw bundleError(
      'bundle/invalid-content',
      `the bundle's commit ${range.to.slice(0, 12)} is not in its git pack`,
    );
  // Fast-forward only: `to` descends from the mirror's commit (or equals it).
  let commits = 0;
  if (current !== range.to) {
    const seen = new Set<string>();
    const queue = [range.to];
    let found = current === null;
    while (queue.length) {
      const c = queue.shift()!;
      if (seen.has(c)) continue;
      seen.add(c);
      if (c === current) {
        found = true;
        continue;
      }
      commits++;
      let parents: string[];
      try {
        let content = cache.get(c)?.content;
        if (!content) {
          const x = await (await loadGit()).readObject({ fs, dir, oid: c, format: 'content' });
          content = Buffer.from(x.object as Uint8Array);
        }
        parents = [...content.toString('latin1').matchAll(/^parent ([0-9a-f]{40})$/gm)].map((m) => m[1]!);
      } catch {
        // History before the pack that the mirror does not have: `current` is not an ancestor.
        parents = [];
      }
      queue.push(...parents);
    }
    if (!found)
      throw bundleError(
        'bundle/rollback',
        `the bundle would move the desired state from ${current!.slice(0, 12)} to ${range.to.slice(0, 12)}, which does not descend from it (a rollback or a rewritten history): refused`,
        { current, to: range.to },
      );
  }
  // Every object of the new commit must be readable (the pack is complete).
  const walk = async (tree: string) => {
    for (const e of await reader.tree(tree)) if (e.type === 'tree') await walk(e.oid);
  };
  try {
    await walk(await reader.commitTree(range.to));
  } catch (err) {
    throw bundleError(
      'bundle/invalid-content',
      `the bundle's git pack lacks objects of commit ${range.to.slice(0, 12)}: ${(err as Error).message}`,
    );
  }
  const nodes =
    current === range.to
      ? []
      : (await createDesiredStateReader(dir, cache).changedNodes(current, range.to))
          .filter((k) => k.siteId === options.siteId)
          .map((k) => `${k.siteId}/${k.nodeName}`);
  return { ref: range.ref, current, from: range.from, to: range.to, commits, nodes, pack };
}

/** Site: copies an indexed pack into the mirror (pack first, index last; nothing when already there). */
export async function installPack(
  mirrorDir: string,
  branch: string,
  pack: { name: string; dir: string },
): Promise<void> {
  await ensureMirror(mirrorDir, branch);
  const dest = path.join(mirrorDir, '.git', 'objects', 'pack');
  await fsp.mkdir(dest, { recursive: true });
  for (const ext of ['pack', 'idx']) {
    const target = path.join(dest, `${pack.name}.${ext}`);
    if (fs.existsSync(target)) continue;
    const tmp = path.join(dest, `.tmp-${pack.name}.${ext}`);
    await fsp.copyFile(path.join(pack.dir, `${pack.name}.${ext}`), tmp);
    const fh = await fsp.open(tmp, 'r');
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
    await fsp.rename(tmp, target);
  }
  syncDir(dest);
}

export async function ensureMirror(mirrorDir: string, branch: string): Promise<void> {
  if (fs.existsSync(path.join(mirrorDir, '.git'))) return;
  await fsp.mkdir(mirrorDir, { recursive: true });
  await (await loadGit()).init({ fs, dir: mirrorDir, defaultBranch: branch });
}

/** Site: points the mirror's ref at `commit` (a temporary file renamed over the ref). */
export async function setMirrorRef(mirrorDir: string, ref: string, commit: string): Promise<boolean> {
  await ensureMirror(mirrorDir, ref.replace(/^refs\/heads\//, ''));
  if ((await mirrorHead(mirrorDir, ref)) === commit) return false;
  const file = path.join(mirrorDir, '.git', ...ref.split('/'));
  await fsp.mkdir(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  const fh = await fsp.open(tmp, 'w');
  try {
    await fh.writeFile(`${commit}\n`);
    await fh.sync();
  } finally {
    await fh.close();
  }
  await fsp.rename(tmp, file);
  syncDir(path.dirname(file));
  return true;
}

function syncDir(dir: string): void {
  try {
    const fd = fs.openSync(dir, 'r');
    try {
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    /* not every platform can fsync a folder */
  }
}
