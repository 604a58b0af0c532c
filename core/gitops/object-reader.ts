import fs from 'node:fs';
import { loadGit } from '../git/load.js';

export type GitObjectType = 'blob' | 'tree' | 'commit' | 'tag';

export interface TreeEntry {
  mode: string;
  path: string;
  oid: string;
  type: 'blob' | 'tree' | 'commit';
}

/**
 * Objects the CO just wrote, kept in memory (bounded) so the LO of the same process adopts a commit
 * without reading back and inflating thousands of objects it has in hand. Purely an accelerator: a miss
 * reads the repository.
 */
export interface ObjectCache {
  get(oid: string): { type: GitObjectType; content: Buffer } | undefined;
  put(oid: string, type: GitObjectType, content: Buffer): void;
}

export function createObjectCache(maxObjects = 100_000): ObjectCache {
  const map = new Map<string, { type: GitObjectType; content: Buffer }>();
  return {
    get: (oid) => map.get(oid),
    put(oid, type, content) {
      if (map.has(oid)) return;
      map.set(oid, { type, content });
      // Oldest first out (Map keeps insertion order).
      while (map.size > maxObjects) map.delete(map.keys().next().value!);
    },
  };
}

/** Reads commits, trees and blobs of a repository directory (through the cache when given). */
export function createObjectReader(dir: string, cache?: ObjectCache) {
  const gitCache = {};
  const read = async (oid: string): Promise<{ type: GitObjectType; content: Buffer }> => {
    const hit = cache?.get(oid);
    if (hit) return hit;
    const o = await (await loadGit()).readObject({ fs, dir, oid, format: 'content', cache: gitCache });
    return { type: o.type as GitObjectType, content: Buffer.from(o.object as Uint8Array) };
  };
  const reader = {
    /** The root tree of a commit. */
    async commitTree(commit: string): Promise<string> {
      const o = await read(commit);
      if (o.type !== 'commit') throw new Error(`${commit} is not a commit`);
      const m = /^tree ([0-9a-f]{40})/.exec(o.content.toString('latin1'));
      if (!m) throw new Error(`commit ${commit} names no tree`);
      return m[1]!;
    },
    async tree(oid: string): Promise<TreeEntry[]> {
      const o = await read(oid);
      if (o.type !== 'tree') throw new Error(`${oid} is not a tree`);
      return parseTree(o.content);
    },
    async blob(oid: string): Promise<Buffer> {
      const o = await read(oid);
      if (o.type !== 'blob') throw new Error(`${oid} is not a blob`);
      return o.content;
    },
    /** The entry at `path` (a/b/c) under a tree, or undefined. */
    async entryAt(treeOid: string, pathParts: string[]): Promise<TreeEntry | undefined> {
      let oid = treeOid;
      let entry: TreeEntry | undefined;
      for (const part of pathParts) {
        entry = (await reader.tree(oid)).find((e) => e.path === part);
        if (!entry) return undefined;
        oid = entry.oid;
      }
      return entry;
    },
  };
  return reader;
}

export type ObjectReader = ReturnType<typeof createObjectReader>;

/** Git's tree format: repeated `<mode> <name>\0<20-byte id>`. */
export function parseTree(buf: Buffer): TreeEntry[] {
  const out: TreeEntry[] = [];
  let i = 0;
  while (i < buf.length) {
    const space = buf.indexOf(0x20, i);
    const nul = buf.indexOf(0, space);
    const mode = buf.toString('latin1', i, space);
    const path = buf.toString('utf8', space + 1, nul);
    const oid = buf.toString('hex', nul + 1, nul + 21);
    out.push({ mode, path, oid, type: mode === '40000' ? 'tree' : mode === '160000' ? 'commit' : 'blob' });
    i = nul + 21;
  }
  return out;
}
