import fs from 'node:fs';
import { loadGit } from '../git/load.js';
import { eq } from 'drizzle-orm';
import type { Store } from '../store/db.js';
import type { Clock } from '../../lib/base/index.js';
import type { Logger } from '../../lib/log/index.js';
import { loSources } from '../store/schema/index.js';
import { OutpostError } from '../../lib/errors/index.js';
import { createGitHttpClient, redactUrl } from '../git/http-client.js';
import { createDesiredStateReader, isFastForward, nodeKeyString, type NodeKey } from './desired-state.js';
import type { ObjectCache } from '../gitops/object-reader.js';
import type { ManifestStore } from './manifests.js';

/** Where one tenant's desired state comes from. */
export type DesiredSource =
  /** The CO's repository on this machine (role all): read in place. */
  | { kind: 'local'; tenantId: string; dir: string; branch: string }
  /** A remote git server: fetched into a mirror directory (role lo). */
  | {
      kind: 'remote';
      tenantId: string;
      url: string;
      branch: string;
      mirrorDir: string;
      auth?: { username: string; password: string } | undefined;
      timeoutMs: number;
    };

export interface SyncResult {
  tenantId: string;
  commit: string | null;
  /** Clients whose manifest changed (they get a poll-now notice). */
  changedClients: string[];
  refused?: string;
}

export interface Follower {
  /** Brings the LO's manifests up to the source's newest commit, fast-forward only. Serialised per tenant. */
  sync(tenantId: string): Promise<SyncResult>;
  /** The manifest a client gets on its first request, built from the adopted commit. */
  buildClient(clientId: string): Promise<void>;
  sources(): DesiredSource[];
  status(tenantId: string): FollowerStatus;
}

/** What the LO follows and how that goes (`system.status` desiredState, `co status`). */
export interface FollowerStatus {
  commit: string | null;
  /** When the commit was adopted; failed fetches never move it. */
  adoptedAt: number | null;
  /** When the source was last read successfully. */
  checkedAt: number | null;
  lastError: string | null;
  lastErrorAt: number | null;
  /** refused: a rewritten history (nothing changed); unreachable: network or timeout; error: anything else. */
  lastErrorKind: 'refused' | 'unreachable' | 'error' | null;
  /** The first failure of the current run of failures. */
  failingSince: number | null;
}

const NETWORK =
  /timed? ?out|timeout|ECONNREFUSED|ECONNRESET|EHOSTUNREACH|ENETUNREACH|ENOTFOUND|EAI_AGAIN|ETIMEDOUT|EPIPE|socket|UND_ERR|cannot reach|other side closed/i;

/** Why reading a source failed, in the operator's terms. */
export function failureKind(err: unknown): 'unreachable' | 'error' {
  const code = (err as { code?: unknown })?.code;
  if (code === 'network-error' || code === 'timeout' || code === 'unavailable') return 'unreachable';
  return NETWORK.test(String((err as Error)?.message ?? err)) ? 'unreachable' : 'error';
}

/** Margo client ids are our node uids: `<tenant>.<node>`. */
export const clientIdOf = (tenantId: string, nodeName: string) => `${tenantId}.${nodeName}`;
export function splitClientId(clientId: string): { tenantId: string; nodeName: string } | undefined {
  const i = clientId.indexOf('.');
  return i > 0 ? { tenantId: clientId.slice(0, i), nodeName: clientId.slice(i + 1) } : undefined;
}

/**
 * The LO side of desired state: follows each tenant's deployments repository (in place, or a mirror of a
 * remote fetched on an interval and on demand), refuses any history rewrite (the adopted commit must be
 * an ancestor of the new one; nothing changes otherwise), and rebuilds the state manifest of every node
 * whose directory changed.
 */
export function createFollower(deps: {
  store: Store;
  clock: Clock;
  logger: Logger;
  manifests: ManifestStore;
  sources: () => DesiredSource[];
  /** Only nodes of these sites are served here (undefined: all). */
  servesSite?: (tenantId: string, siteId: string) => boolean;
  onRefused?: (tenantId: string, message: string) => void;
  /** Objects the CO of this process just wrote (role all), so they need not be read back. */
  objectCache?: ObjectCache;
}): Follower {
  const { store, clock, manifests } = deps;
  const log = deps.logger.child({ component: 'lo-follower' });
  const locks = new Map<string, Promise<unknown>>();
  const readers = new Map<string, ReturnType<typeof createDesiredStateReader>>();
  const readerOf = (dir: string) => {
    let r = readers.get(dir);
    if (!r) readers.set(dir, (r = createDesiredStateReader(dir, deps.objectCache)));
    return r;
  };

  const sourceOf = (tenantId: string) => deps.sources().find((s) => s.tenantId === tenantId);
  const adopted = (tenantId: string) =>
    store.db.select().from(loSources).where(eq(loSources.tenantId, tenantId)).get();
  /** A failed read or a refusal: the adopted commit and its time stay; the run of failures is dated. */
  const setFailure = (tenantId: string, kind: 'refused' | 'unreachable' | 'error', message: string) => {
    const now = clock.now();
    const cur = adopted(tenantId);
    setAdopted(tenantId, {
      lastError: message,
      lastErrorAt: now,
      lastErrorKind: kind,
      failingSince: cur?.lastError ? (cur.failingSince ?? cur.lastErrorAt ?? now) : now,
    });
  };
  const noFailure = { lastError: null, lastErrorAt: null, lastErrorKind: null, failingSince: null };
  const setAdopted = (tenantId: string, values: Partial<typeof loSources.$inferInsert>) => {
    const now = clock.now();
    store.db
      .insert(loSources)
      .values({ tenantId, commit: null, updatedAt: now, ...values })
      .onConflictDoUpdate({ target: loSources.tenantId, set: { updatedAt: now, ...values } })
      .run();
  };

  /** The repository directory to read and its newest commit (fetching a remote first). */
  async function headOf(src: DesiredSource): Promise<{ dir: string; head: string | null }> {
    if (src.kind === 'local') {
      try {
        return {
          dir: src.dir,
          head: await (await loadGit()).resolveRef({ fs, dir: src.dir, ref: `refs/heads/${src.branch}` }),
        };
      } catch {
        return { dir: src.dir, head: null };
      }
    }
    fs.mkdirSync(src.mirrorDir, { recursive: true });
    if (!fs.existsSync(`${src.mirrorDir}/.git`)) {
      // Made beside, then renamed into place: a failed init (a full disk) leaves no half-made mirror.
      const tmp = `${src.mirrorDir}/.git.${process.pid}.tmp`;
      fs.rmSync(tmp, { recursive: true, force: true });
      try {
        await (await loadGit()).init({ fs, dir: src.mirrorDir, gitdir: tmp, defaultBranch: src.branch });
        fs.renameSync(tmp, `${src.mirrorDir}/.git`);
      } catch (err) {
        fs.rmSync(tmp, { recursive: true, force: true });
        throw err;
      }
    }
    const url = redactUrl(src.url);
    await (await loadGit()).addRemote({ fs, dir: src.mirrorDir, remote: 'origin', url, force: true });
    try {
      const r = await (
        await loadGit()
      ).fetch({
        fs,
        http: createGitHttpClient({ timeoutMs: src.timeoutMs }),
        dir: src.mirrorDir,
        remote: 'origin',
        ref: src.branch,
        singleBranch: true,
        tags: false,
        onAuth: () => src.auth ?? { cancel: true },
      });
      return { dir: src.mirrorDir, head: r.fetchHead ?? null };
    } catch (err) {
      throw err instanceof OutpostError
        ? err
        : new OutpostError('git-error', `cannot fetch ${url}: ${(err as Error).message}`, { cause: err });
    }
  }

  async function rebuild(
    dir: string,
    commit: string | null,
    tenantId: string,
    keys: NodeKey[],
  ): Promise<string[]> {
    const served = keys.filter((k) => !k.siteId || !deps.servesSite || deps.servesSite(tenantId, k.siteId));
    const files = await readerOf(dir).nodesDeployments(commit, served);
    const items = served.map((k) => ({
      clientId: clientIdOf(tenantId, k.nodeName),
      desired: [...(files.get(nodeKeyString(k)) ?? new Map<string, Buffer>())].map(
        ([deploymentId, yaml]) => ({ deploymentId, yaml }),
      ),
    }));
    return manifests.applyMany(items, commit);
  }

  async function syncNow(tenantId: string): Promise<SyncResult> {
    const src = sourceOf(tenantId);
    if (!src) return { tenantId, commit: null, changedClients: [] };
    let dir: string;
    let head: string | null;
    try {
      ({ dir, head } = await headOf(src));
    } catch (err) {
      const message = (err as Error).message;
      setFailure(tenantId, failureKind(err), message);
      log.warn({ tenantId, err: message }, 'cannot read desired state; keeping the adopted state');
      throw err;
    }
    const prev = adopted(tenantId)?.commit ?? null;
    if (head === prev) {
      // Read fine, nothing new: the source works (a former failure is over).
      setAdopted(tenantId, { checkedAt: clock.now(), ...noFailure });
      return { tenantId, commit: head, changedClients: [] };
    }
    if (prev && head && !(await isFastForward(dir, prev, head))) {
      const message = `refusing desired state ${head.slice(0, 12)}: it does not descend from the adopted ${prev.slice(0, 12)} (history was rewritten); nothing changed`;
      setFailure(tenantId, 'refused', message);
      log.error({ tenantId, adopted: prev, offered: head }, message);
      deps.onRefused?.(tenantId, message);
      return { tenantId, commit: prev, changedClients: [], refused: message };
    }
    if (prev && !head) {
      const message = `refusing desired state: the branch disappeared from the source (adopted ${prev.slice(0, 12)}); nothing changed`;
      setFailure(tenantId, 'refused', message);
      deps.onRefused?.(tenantId, message);
      return { tenantId, commit: prev, changedClients: [], refused: message };
    }
    // First adoption: every node in the tree and every client known before (their state may be stale).
    let keys = prev ? await readerOf(dir).changedNodes(prev, head) : await readerOf(dir).allNodes(head);
    if (!prev) {
      const known = manifests
        .clients()
        .map(splitClientId)
        .filter((c): c is { tenantId: string; nodeName: string } => c?.tenantId === tenantId);
      const seen = new Set(keys.map((k) => k.nodeName));
      for (const c of known)
        if (!seen.has(c.nodeName)) keys = [...keys, { siteId: '', nodeName: c.nodeName }];
    }
    const changedClients = await rebuild(dir, head, tenantId, keys);
    const now = clock.now();
    setAdopted(tenantId, { commit: head, adoptedAt: now, checkedAt: now, ...noFailure });
    log.info(
      { tenantId, commit: head, nodes: keys.length, changed: changedClients.length },
      'desired state adopted',
    );
    return { tenantId, commit: head, changedClients };
  }

  const follower: Follower = {
    sync(tenantId) {
      const prev = locks.get(tenantId) ?? Promise.resolve();
      const next = prev.catch(() => undefined).then(() => syncNow(tenantId));
      locks.set(tenantId, next);
      return next;
    },
    async buildClient(clientId) {
      const c = splitClientId(clientId);
      if (!c) return;
      const src = sourceOf(c.tenantId);
      const commit = adopted(c.tenantId)?.commit ?? null;
      if (!src || manifests.current(clientId)) return;
      const dir = src.kind === 'local' ? src.dir : src.mirrorDir;
      const keys = (await readerOf(dir).allNodes(commit)).filter((k) => k.nodeName === c.nodeName);
      if (keys.length === 0) await manifests.apply(clientId, [], commit);
      else await rebuild(dir, commit, c.tenantId, keys);
    },
    sources: deps.sources,
    status(tenantId) {
      const r = adopted(tenantId);
      return {
        commit: r?.commit ?? null,
        adoptedAt: r?.adoptedAt ?? null,
        checkedAt: r?.checkedAt ?? null,
        lastError: r?.lastError ?? null,
        lastErrorAt: r?.lastErrorAt ?? null,
        lastErrorKind: r?.lastErrorKind ?? null,
        failingSince: r?.failingSince ?? null,
      };
    },
  };
  return follower;
}
