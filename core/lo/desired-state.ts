import fs from 'node:fs';
import { loadGit } from '../git/load.js';
import {
  createObjectReader,
  type ObjectCache,
  type ObjectReader,
  type TreeEntry,
} from '../gitops/object-reader.js';

/** A node directory of the deployments repository: `sites/<site>/nodes/<node>/`. */
export interface NodeKey {
  siteId: string;
  nodeName: string;
}

export const nodeKeyString = (k: NodeKey) => `${k.siteId}/${k.nodeName}`;

/**
 * Reads desired state from a git repository directory at a commit, without a working copy: the node
 * directories that changed between two commits (unchanged subtrees are skipped by object id), every node
 * directory, and the deployment YAMLs of nodes. Objects the CO of this process just wrote come from the
 * shared cache; anything else is read from the repository.
 */
export function createDesiredStateReader(dir: string, cache?: ObjectCache) {
  const r: ObjectReader = createObjectReader(dir, cache);

  /** site -> (node -> tree id) at a commit. */
  async function nodeTrees(commit: string | null): Promise<Map<string, Map<string, string>>> {
    const out = new Map<string, Map<string, string>>();
    if (!commit) return out;
    const root = await r.commitTree(commit);
    const sites = await r.entryAt(root, ['sites']);
    if (!sites || sites.type !== 'tree') return out;
    for (const s of await r.tree(sites.oid)) {
      if (s.type !== 'tree') continue;
      const nodes = await r.entryAt(s.oid, ['nodes']);
      if (!nodes || nodes.type !== 'tree') continue;
      out.set(
        s.path,
        new Map((await r.tree(nodes.oid)).filter((e) => e.type === 'tree').map((e) => [e.path, e.oid])),
      );
    }
    return out;
  }

  const reader = {
    /** Every node directory at a commit. */
    async allNodes(commit: string | null): Promise<NodeKey[]> {
      const out: NodeKey[] = [];
      for (const [siteId, nodes] of await nodeTrees(commit))
        for (const nodeName of nodes.keys()) out.push({ siteId, nodeName });
      return out;
    },

    /** Node directories whose content differs between two commits (added, changed or removed). */
    async changedNodes(from: string | null, to: string | null): Promise<NodeKey[]> {
      if (!from || !to) return reader.allNodes(from ?? to);
      const [a, b] = await Promise.all([nodeTrees(from), nodeTrees(to)]);
      const out: NodeKey[] = [];
      for (const siteId of new Set([...a.keys(), ...b.keys()])) {
        const na = a.get(siteId) ?? new Map<string, string>();
        const nb = b.get(siteId) ?? new Map<string, string>();
        for (const nodeName of new Set([...na.keys(), ...nb.keys()])) {
          if (na.get(nodeName) !== nb.get(nodeName)) out.push({ siteId, nodeName });
        }
      }
      return out;
    },

    /** The deployment YAMLs of nodes at a commit (key -> deploymentId -> exact bytes). */
    async nodesDeployments(
      commit: string | null,
      keys: NodeKey[],
    ): Promise<Map<string, Map<string, Buffer>>> {
      const out = new Map<string, Map<string, Buffer>>();
      for (const k of keys) out.set(nodeKeyString(k), new Map());
      if (!commit) return out;
      const trees = await nodeTrees(commit);
      for (const k of keys) {
        const oid = trees.get(k.siteId)?.get(k.nodeName);
        if (!oid) continue;
        const files = out.get(nodeKeyString(k))!;
        const children: TreeEntry[] = [];
        for (const e of (await r.tree(oid)) as TreeEntry[]) {
          if (e.type === 'tree') children.push(e);
          if (e.type !== 'blob' || !e.path.endsWith('.yaml')) continue;
          files.set(e.path.slice(0, -'.yaml'.length), await r.blob(e.oid));
        }
        // A see-thru gateway's manifest covers its child devices (`nodes/<host>/<child>/`, ADR 0443);
        // a deployment takes one child per gateway, so ids do not collide (the host's own win if they do).
        for (const c of children)
          for (const e of (await r.tree(c.oid)) as TreeEntry[]) {
            if (e.type !== 'blob' || !e.path.endsWith('.yaml')) continue;
            const id = e.path.slice(0, -'.yaml'.length);
            if (!files.has(id)) files.set(id, await r.blob(e.oid));
          }
      }
      return out;
    },
  };
  return reader;
}

export type DesiredStateReader = ReturnType<typeof createDesiredStateReader>;

export async function isFastForward(dir: string, from: string, to: string): Promise<boolean> {
  if (from === to) return true;
  try {
    return await (await loadGit()).isDescendent({ fs, dir, oid: to, ancestor: from, depth: -1 });
  } catch {
    return false;
  }
}
