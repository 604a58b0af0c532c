import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { loadGit } from '../git/load.js';
import type { Logger } from '../../lib/log/index.js';
import { OutpostError } from '../../lib/errors/index.js';
import { packedObjectIds, writePack, type PackObject } from './pack-writer.js';
import type { ObjectCache } from './object-reader.js';

/**
 * The deployments repository (one per tenant): `sites/<site>/nodes/<node>/<deploymentId>.yaml`, exactly
 * the bytes served to the node. The CO is its only writer. A commit is made from the complete desired
 * tree (so the repository is always a projection of the database and can be rebuilt), only when the
 * tree changed, with a message naming the operator action. The branch ref moves atomically (written to
 * a temporary file and renamed) after the objects are written.
 */
export interface DeploymentsRepo {
  readonly dir: string;
  readonly branch: string;
  /** The commit the branch points at, or null for an empty repository. */
  head(): Promise<string | null>;
  /**
   * Makes the branch hold exactly `files` (path -> bytes). Returns the new commit, or the current one
   * when nothing changed (no empty commits).
   */
  commitTree(
    files: ReadonlyMap<string, Uint8Array>,
    message: string,
    author: { name: string; email: string; timestamp: number },
  ): Promise<{ commit: string | null; changed: boolean }>;
}

export const DEFAULT_BRANCH = 'main';

export function deploymentPath(siteId: string, nodeName: string, deploymentId: string): string {
  return `sites/${siteId}/nodes/${nodeName}/${deploymentId}.yaml`;
}

/** Parses `sites/<site>/nodes/<node>/<id>.yaml`; undefined for any other path. */
export function parseDeploymentPath(
  p: string,
): { siteId: string; nodeName: string; deploymentId: string } | undefined {
  const m = /^sites\/([^/]+)\/nodes\/([^/]+)\/([^/]+)\.yaml$/.exec(p);
  return m ? { siteId: m[1]!, nodeName: m[2]!, deploymentId: m[3]! } : undefined;
}

export async function openDeploymentsRepo(
  dir: string,
  logger: Logger,
  branch = DEFAULT_BRANCH,
  objectCache?: ObjectCache,
): Promise<DeploymentsRepo> {
  fs.mkdirSync(dir, { recursive: true });
  if (!fs.existsSync(path.join(dir, '.git'))) {
    // Made beside, then renamed into place: a failed init (a full disk) leaves no half-made repository.
    const tmp = path.join(dir, `.git.${process.pid}.tmp`);
    fs.rmSync(tmp, { recursive: true, force: true });
    try {
      await (await loadGit()).init({ fs, dir, gitdir: tmp, defaultBranch: branch });
      fs.renameSync(tmp, path.join(dir, '.git'));
    } catch (err) {
      fs.rmSync(tmp, { recursive: true, force: true });
      throw err;
    }
  }
  const gitdir = path.join(dir, '.git');
  const refFile = path.join(gitdir, 'refs', 'heads', branch);
  const log = logger.child({ component: 'gitops', repo: dir });

  const cache = {};
  const head = async (): Promise<string | null> => {
    try {
      const oid = await (await loadGit()).resolveRef({ fs, dir, ref: `refs/heads/${branch}` });
      await (await loadGit()).readCommit({ fs, dir, oid, cache });
      return oid;
    } catch (err) {
      if (fs.existsSync(refFile))
        log.warn(
          { err },
          'the branch points at an unreadable commit; the next commit starts a new history root',
        );
      return null;
    }
  };

  // Object ids present in the repository (loose or packed), loaded once and kept up to date.
  const known = packedObjectIds(gitdir);
  const objectsDir = path.join(gitdir, 'objects');
  for (const d of fs.readdirSync(objectsDir)) {
    if (!/^[0-9a-f]{2}$/.test(d)) continue;
    for (const f of fs.readdirSync(path.join(objectsDir, d))) known.add(d + f);
  }
  return {
    dir,
    branch,
    head,
    async commitTree(files, message, author) {
      interface Dir {
        files: Map<string, string>;
        dirs: Map<string, Dir>;
      }
      const fresh: PackObject[] = [];
      const add = (type: PackObject['type'], content: Uint8Array): string => {
        const oid = gitObjectId(type, content);
        if (!known.has(oid)) {
          known.add(oid);
          fresh.push({ oid, type, content });
        }
        return oid;
      };
      const root: Dir = { files: new Map(), dirs: new Map() };
      for (const [p, bytes] of files) {
        const parts = p.split('/');
        if (parts.some((x) => x === '' || x === '.' || x === '..'))
          throw new OutpostError('internal', `bad repository path "${p}"`);
        let d = root;
        for (const seg of parts.slice(0, -1)) {
          let next = d.dirs.get(seg);
          if (!next) d.dirs.set(seg, (next = { files: new Map(), dirs: new Map() }));
          d = next;
        }
        d.files.set(parts[parts.length - 1]!, add('blob', bytes));
      }
      const writeDir = (d: Dir): string => {
        const entries: { mode: string; path: string; oid: string; type: 'blob' | 'tree' }[] = [];
        for (const [name, sub] of d.dirs)
          entries.push({ mode: '040000', path: name, oid: writeDir(sub), type: 'tree' });
        for (const [name, oid] of d.files) entries.push({ mode: '100644', path: name, oid, type: 'blob' });
        return add('tree', treeContent(entries));
      };
      const tree = writeDir(root);
      const parent = await head();
      if (parent) {
        const cur = await (await loadGit()).readCommit({ fs, dir, oid: parent, cache });
        if (cur.commit.tree === tree) {
          for (const o of fresh) known.delete(o.oid);
          return { commit: parent, changed: false };
        }
      }
      const ts = Math.floor(author.timestamp / 1000);
      const who = `${author.name} <${author.email}> ${ts} +0000`;
      const text = `tree ${tree}\n${parent ? `parent ${parent}\n` : ''}author ${who}\ncommitter ${who}\n\n${message.endsWith('\n') ? message : message + '\n'}`;
      const commit = add('commit', Buffer.from(text, 'utf8'));
      try {
        writePack(gitdir, fresh);
        for (const o of fresh) objectCache?.put(o.oid, o.type, Buffer.from(o.content));
      } catch (err) {
        for (const o of fresh) known.delete(o.oid);
        throw err;
      }
      moveRef(refFile, commit);
      log.debug({ commit, files: files.size, objects: fresh.length }, 'committed desired state');
      return { commit, changed: true };
    },
  };
}

/** Atomic ref update: write a temporary file, flush it, rename it over the ref. */
function moveRef(refFile: string, oid: string): void {
  fs.mkdirSync(path.dirname(refFile), { recursive: true });
  const tmp = `${refFile}.${process.pid}.tmp`;
  try {
    const fd = fs.openSync(tmp, 'w');
    try {
      fs.writeFileSync(fd, `${oid}\n`);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
  } catch (err) {
    fs.rmSync(tmp, { force: true });
    throw err;
  }
  fs.renameSync(tmp, refFile);
}

/** Git's object id: sha1 of `<type> <length>\0<content>`. */
export function gitObjectId(type: 'blob' | 'tree' | 'commit', content: Uint8Array): string {
  return crypto.createHash('sha1').update(`${type} ${content.byteLength}\0`).update(content).digest('hex');
}

/** The body of a git tree object: entries sorted as git sorts them (directories as if their name ended with '/'). */
function treeContent(entries: { mode: string; path: string; oid: string; type: 'blob' | 'tree' }[]): Buffer {
  const sorted = [...entries].sort((a, b) => {
    const ka = a.type === 'tree' ? a.path + '/' : a.path;
    const kb = b.type === 'tree' ? b.path + '/' : b.path;
    return ka < kb ? -1 : ka > kb ? 1 : 0;
  });
  const parts: Buffer[] = [];
  for (const e of sorted) {
    parts.push(
      Buffer.from(`${e.mode === '040000' ? '40000' : e.mode} ${e.path}\0`),
      Buffer.from(e.oid, 'hex'),
    );
  }
  return Buffer.concat(parts);
}
