import fs from 'node:fs';
import git from 'isomorphic-git';
import { parseDeploymentPath } from '../gitops/deployments-repo.js';

/** A node directory of the deployments repository: `sites/<site>/nodes/<node>/`. */
export interface NodeKey {
  siteId: string;
  nodeName: string;
}

export const nodeKeyString = (k: NodeKey) => `${k.siteId}/${k.nodeName}`;

/**
 * Reads desired state from a git repository directory at a commit, without a working copy:
 * the node directories that changed between two commits (unchanged subtrees are skipped by object id),
 * and the deployment YAMLs of one node directory.
 */
export async function changedNodes(dir: string, from: string | null, to: string | null): Promise<NodeKey[]> {
  if (!from || !to) return allNodes(dir, from ?? to);
  const trees = [git.TREE({ ref: from }), git.TREE({ ref: to })];
  const out = new Map<string, NodeKey>();
  await git.walk({
    fs,
    dir,
    trees,
    map: async (filepath, [a, b]) => {
      if (filepath === '.') return true;
      const oa = a ? await a.oid() : undefined;
      const ob = b ? await b.oid() : undefined;
      if (oa === ob) return null; // identical subtree or file: skip
      const parts = filepath.split('/');
      // sites/<site>/nodes/<node>
      if (parts.length === 4 && parts[0] === 'sites' && parts[2] === 'nodes') {
        const k = { siteId: parts[1]!, nodeName: parts[3]! };
        out.set(nodeKeyString(k), k);
        return null;
      }
      return parts.length < 4 ? true : null;
    },
  });
  return [...out.values()];
}

/** Every node directory at a commit. */
export async function allNodes(dir: string, commit: string | null): Promise<NodeKey[]> {
  if (!commit) return [];
  const out: NodeKey[] = [];
  const sites = await readTreeSafe(dir, commit, 'sites');
  for (const s of sites) {
    if (s.type !== 'tree') continue;
    const nodes = await readTreeSafe(dir, commit, `sites/${s.path}/nodes`);
    for (const n of nodes) if (n.type === 'tree') out.push({ siteId: s.path, nodeName: n.path });
  }
  return out;
}

/**
 * The deployment YAMLs of many nodes at a commit (key -> deploymentId -> exact bytes), reading each
 * site's node list once and each node directory by object id.
 */
export async function nodesDeployments(
  dir: string,
  commit: string | null,
  keys: NodeKey[],
): Promise<Map<string, Map<string, Buffer>>> {
  const out = new Map<string, Map<string, Buffer>>();
  for (const k of keys) out.set(nodeKeyString(k), new Map());
  if (!commit) return out;
  const cache = {};
  const bySite = new Map<string, NodeKey[]>();
  for (const k of keys) if (k.siteId) bySite.set(k.siteId, [...(bySite.get(k.siteId) ?? []), k]);
  for (const [siteId, siteKeys] of bySite) {
    let nodeTrees: Map<string, string>;
    try {
      const t = await git.readTree({ fs, dir, oid: commit, filepath: `sites/${siteId}/nodes`, cache });
      nodeTrees = new Map(t.tree.filter((e) => e.type === 'tree').map((e) => [e.path, e.oid]));
    } catch {
      continue; // the site has no nodes at this commit
    }
    for (const k of siteKeys) {
      const oid = nodeTrees.get(k.nodeName);
      if (!oid) continue;
      const files = out.get(nodeKeyString(k))!;
      for (const e of (await git.readTree({ fs, dir, oid, cache })).tree) {
        if (e.type !== 'blob' || !e.path.endsWith('.yaml')) continue;
        const { blob } = await git.readBlob({ fs, dir, oid: e.oid, cache });
        files.set(e.path.slice(0, -'.yaml'.length), Buffer.from(blob));
      }
    }
  }
  return out;
}

/** The deployment YAMLs of one node at a commit (deploymentId -> exact bytes). */
export async function nodeDeployments(
  dir: string,
  commit: string | null,
  key: NodeKey,
): Promise<Map<string, Buffer>> {
  const out = new Map<string, Buffer>();
  if (!commit) return out;
  const base = `sites/${key.siteId}/nodes/${key.nodeName}`;
  for (const e of await readTreeSafe(dir, commit, base)) {
    if (e.type !== 'blob') continue;
    const parsed = parseDeploymentPath(`${base}/${e.path}`);
    if (!parsed) continue;
    const { blob } = await git.readBlob({ fs, dir, oid: e.oid });
    out.set(parsed.deploymentId, Buffer.from(blob));
  }
  return out;
}

async function readTreeSafe(dir: string, commit: string, filepath: string) {
  try {
    return (await git.readTree({ fs, dir, oid: commit, filepath })).tree;
  } catch {
    return [];
  }
}

export async function isFastForward(dir: string, from: string, to: string): Promise<boolean> {
  if (from === to) return true;
  try {
    return await git.isDescendent({ fs, dir, oid: to, ancestor: from, depth: -1 });
  } catch {
    return false;
  }
}
