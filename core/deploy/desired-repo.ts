import path from 'node:path';
import { loadGit } from '../git/load.js';
import fs from 'node:fs';
import type { Store } from '../store/db.js';
import type { Clock } from '../../lib/base/index.js';
import type { Logger } from '../../lib/log/index.js';
import type { Config } from '../config.js';
import { openDeploymentsRepo, deploymentPath, type DeploymentsRepo } from '../gitops/deployments-repo.js';
import { createGitHttpClient, redactUrl } from '../git/http-client.js';
import type { ObjectCache } from '../gitops/object-reader.js';

/**
 * The CO's deployments repositories (one per tenant, `<home>/git/deployments/<tenant>`), kept as a
 * projection of the database: every commit writes the complete tree of what `deployment_targets` says
 * each node must run, so an interrupted write is repaired by the next one (and at start).
 */
export interface DesiredRepos {
  dirOf(tenantId: string): string;
  readonly branch: string;
  /** Writes the tenant's desired tree and commits it (if it changed) with `message`. Serialised per tenant. */
  sync(
    tenantId: string,
    message: string,
    operator: string,
  ): Promise<{ commit: string | null; changed: boolean }>;
  /** Tenants with a repository on disk. */
  tenants(): string[];
  /**
   * Pushes a tenant's repository to its remote (`git.remote` for the default tenant,
   * `git.tenantRemotes.<tenant>` for the others); no-op without one.
   */
  push(tenantId: string): Promise<{ pushed: boolean; error?: string }>;
  /** The push state of a tenant's repository (default: the default tenant's). */
  pushState(tenantId?: string): {
    remote: string | null;
    lastPushAt: number | null;
    lastError: string | null;
  };
}

export function createDesiredRepos(deps: {
  store: Store;
  clock: Clock;
  logger: Logger;
  config: Config;
  root: string;
  /** Filled with every object written (shared with the LO of the same process). */
  objectCache?: ObjectCache;
}): DesiredRepos {
  const { store, clock, config } = deps;
  const repos = new Map<string, Promise<DeploymentsRepo>>();
  const locks = new Map<string, Promise<unknown>>();
  const branch = config.git.remote?.branch ?? 'main';
  const pushStatuses = new Map<string, { lastPushAt: number | null; lastError: string | null }>();
  const pushStatusOf = (tenantId: string) => {
    let st = pushStatuses.get(tenantId);
    if (!st) pushStatuses.set(tenantId, (st = { lastPushAt: null, lastError: null }));
    return st;
  };
  const remoteOf = (tenantId: string) =>
    tenantId === config.tenancy.defaultTenant ? config.git.remote : config.git.tenantRemotes?.[tenantId];
  const dirOf = (tenantId: string) => path.join(deps.root, tenantId);
  const repoOf = (tenantId: string) => {
    let r = repos.get(tenantId);
    if (!r) {
      r = openDeploymentsRepo(dirOf(tenantId), deps.logger, branch, deps.objectCache);
      repos.set(tenantId, r);
      // A failed open (a full disk) is tried again by the next sync.
      r.catch(() => {
        if (repos.get(tenantId) === r) repos.delete(tenantId);
      });
    }
    return r;
  };
  const files = store.sqlite.prepare(
    `SELECT t.site_id AS siteId, t.node_name AS nodeName, t.deployment_id AS deploymentId, t.yaml AS yaml
     FROM deployment_targets t JOIN deployments d ON d.id = t.deployment_id
     WHERE t.tenant_id = ? AND t.desired = 'present' AND t.yaml IS NOT NULL AND d.state != 'removed'`,
  );

  const repos_: DesiredRepos = {
    dirOf,
    branch,
    sync(tenantId, message, operator) {
      const prev = locks.get(tenantId) ?? Promise.resolve();
      const next = prev
        .catch(() => undefined)
        .then(async () => {
          const repo = await repoOf(tenantId);
          const tree = new Map<string, Uint8Array>();
          for (const f of files.all(tenantId) as {
            siteId: string;
            nodeName: string;
            deploymentId: string;
            yaml: Buffer;
          }[]) {
            tree.set(deploymentPath(f.siteId, f.nodeName, f.deploymentId), f.yaml);
          }
          const r = await repo.commitTree(tree, `${message}\n\nOperator: ${operator}`, {
            ...config.git.author,
            timestamp: clock.now(),
          });
          if (r.changed) {
            store.sqlite
              .prepare(`UPDATE deployments SET "commit" = ? WHERE tenant_id = ? AND "commit" IS NULL`)
              .run(r.commit, tenantId);
            if (remoteOf(tenantId)) await repos_.push(tenantId);
          }
          return r;
        });
      locks.set(tenantId, next);
      return next;
    },
    tenants() {
      try {
        return fs.readdirSync(deps.root).filter((d) => fs.existsSync(path.join(deps.root, d, '.git')));
      } catch {
        return [];
      }
    },
    async push(tenantId) {
      const remote = remoteOf(tenantId);
      if (!remote) return { pushed: false };
      const pushStatus = pushStatusOf(tenantId);
      const token = remote.tokenEnv ? process.env[remote.tokenEnv] : remote.token;
      try {
        await (
          await loadGit()
        ).push({
          fs,
          http: createGitHttpClient({ timeoutMs: config.catalog.gitTimeoutMs }),
          dir: dirOf(tenantId),
          url: redactUrl(remote.url),
          ref: branch,
          remoteRef: remote.branch,
          onAuth: () => (token ? { username: remote.username ?? 'git', password: token } : { cancel: true }),
        });
        pushStatus.lastPushAt = clock.now();
        pushStatus.lastError = null;
        return { pushed: true };
      } catch (err) {
        pushStatus.lastError = `push to ${redactUrl(remote.url)} failed: ${(err as Error).message}`;
        deps.logger.warn({ err: pushStatus.lastError }, 'desired state not pushed; will retry');
        return { pushed: false, error: pushStatus.lastError };
      }
    },
    pushState(tenantId = config.tenancy.defaultTenant) {
      const remote = remoteOf(tenantId);
      return { remote: remote ? redactUrl(remote.url) : null, ...pushStatusOf(tenantId) };
    },
  };
  return repos_;
}
