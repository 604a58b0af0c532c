import zlib from 'node:zlib';
import tar from 'tar-stream';
import type { Store } from '../store/db.js';
import type { Clock } from '../clock.js';
import { serializeStateManifest, sha256Digest } from '../margo/index.js';
import { BUNDLE_MEDIA_TYPE } from '../margo/patterns.js';
import type { StateManifest } from '../margo/types.js';
import type { StoredManifest } from '../mmi/backend.js';

/** A deployment YAML a client must run: exactly the bytes from the deployments repository. */
export interface DesiredDeployment {
  deploymentId: string;
  yaml: Buffer;
}

/**
 * Per-client state manifests (Margo README 1.3 and 2.2): a new `manifestVersion` for every change of a
 * client's set of deployments, never going back; the manifest JSON (RFC 8785), the YAML bytes and the
 * bundle (tar.gz) are built once and stored in the same transaction, so what is served never changes
 * under a digest. YAMLs that left the manifest stay servable for a retention period (no 404 races).
 * Many clients are applied in one transaction (one commit for a deploy to thousands of nodes).
 */
export interface ManifestStore {
  current(clientId: string): StoredManifest | undefined;
  /** The client's manifest, creating version 1 with no deployments (`bundle: null`) if it has none. */
  ensureEmpty(clientId: string): StoredManifest;
  /** Sets one client's deployments; returns whether a new manifest version was made. */
  apply(
    clientId: string,
    desired: DesiredDeployment[],
    commit: string | null,
  ): Promise<{ changed: boolean; manifest: StoredManifest }>;
  /** Sets the deployments of many clients in one transaction; returns the clients whose manifest changed. */
  applyMany(
    items: { clientId: string; desired: DesiredDeployment[] }[],
    commit: string | null,
  ): Promise<string[]>;
  yaml(clientId: string, deploymentId: string, digest: string): Buffer | undefined;
  bundle(clientId: string, digest: string): Buffer | undefined;
  /** The digest of the deployment's YAML the client was served in manifest `version` (for status reports). */
  digestAt(clientId: string, deploymentId: string, version: number): string | undefined;
  /** Whether the deployment was ever in this client's manifests (scope for status reports). */
  everServed(clientId: string, deploymentId: string): boolean;
  clients(): string[];
  /** Forgets YAMLs and bundles that left the manifests more than `retentionMs` ago. */
  prune(retentionMs: number): number;
}

interface Entry {
  deploymentId: string;
  yaml: Buffer;
  digest: string;
}

export function createManifestStore(deps: { store: Store; clock: Clock }): ManifestStore {
  const { store, clock } = deps;
  const q = {
    current: store.sqlite.prepare(
      'SELECT manifest_version AS v, manifest AS bytes, manifest_digest AS digest FROM lo_clients WHERE client_id = ?',
    ),
    live: store.sqlite.prepare(
      'SELECT deployment_id AS deploymentId, digest FROM lo_client_deployments WHERE client_id = ? AND until_version IS NULL',
    ),
    insertClient: store.sqlite.prepare(
      'INSERT INTO lo_clients (client_id, manifest_version, manifest, manifest_digest, bundle_digest, "commit", updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)',
    ),
    updateClient: store.sqlite.prepare(
      'UPDATE lo_clients SET manifest_version = ?, manifest = ?, manifest_digest = ?, bundle_digest = ?, "commit" = ?, updated_at = ? WHERE client_id = ?',
    ),
    touchCommit: store.sqlite.prepare('UPDATE lo_clients SET "commit" = ? WHERE client_id = ?'),
    close: store.sqlite.prepare(
      'UPDATE lo_client_deployments SET until_version = ?, until_at = ? WHERE client_id = ? AND deployment_id = ? AND digest = ?',
    ),
    open: store.sqlite.prepare(
      `INSERT INTO lo_client_deployments (client_id, deployment_id, digest, size_bytes, yaml, since_version, until_version, until_at)
       VALUES (?, ?, ?, ?, ?, ?, NULL, NULL)
       ON CONFLICT (client_id, deployment_id, digest) DO UPDATE SET since_version = excluded.since_version, until_version = NULL, until_at = NULL`,
    ),
    bundle: store.sqlite.prepare(
      'INSERT OR IGNORE INTO lo_bundles (client_id, digest, size_bytes, bytes, manifest_version, created_at) VALUES (?, ?, ?, ?, ?, ?)',
    ),
    yaml: store.sqlite.prepare(
      'SELECT yaml FROM lo_client_deployments WHERE client_id = ? AND deployment_id = ? AND digest = ?',
    ),
    bundleBytes: store.sqlite.prepare('SELECT bytes FROM lo_bundles WHERE client_id = ? AND digest = ?'),
    digestAt: store.sqlite.prepare(
      `SELECT digest FROM lo_client_deployments WHERE client_id = ? AND deployment_id = ? AND since_version <= ?
       AND (until_version IS NULL OR until_version > ?)`,
    ),
    ever: store.sqlite.prepare(
      'SELECT 1 FROM lo_client_deployments WHERE client_id = ? AND deployment_id = ? LIMIT 1',
    ),
  };

  const current = (clientId: string): StoredManifest | undefined => {
    const r = q.current.get(clientId) as { v: number; bytes: Buffer; digest: string } | undefined;
    return r ? { bytes: r.bytes, digest: r.digest, manifestVersion: r.v } : undefined;
  };

  const entriesOf = (desired: DesiredDeployment[]): Entry[] =>
    [...desired]
      .sort((a, b) => (a.deploymentId < b.deploymentId ? -1 : a.deploymentId > b.deploymentId ? 1 : 0))
      .map((d) => ({ ...d, digest: sha256Digest(d.yaml) }));

  const unchanged = (clientId: string, entries: Entry[]): boolean => {
    if (!current(clientId)) return false;
    const live = q.live.all(clientId) as { deploymentId: string; digest: string }[];
    return (
      live.length === entries.length &&
      entries.every((e) => live.some((l) => l.deploymentId === e.deploymentId && l.digest === e.digest))
    );
  };

  /** Writes one client's new manifest (inside the caller's transaction). */
  const write = (
    clientId: string,
    entries: Entry[],
    bundleBytes: Buffer | undefined,
    commit: string | null,
    now: number,
  ): StoredManifest => {
    // Re-read inside the transaction: the version only ever grows, whatever ran concurrently.
    const prev = current(clientId);
    const version = (prev?.manifestVersion ?? 0) + 1;
    const bundleDigest = bundleBytes ? sha256Digest(bundleBytes) : null;
    const manifest: StateManifest = {
      manifestVersion: version,
      bundle:
        bundleBytes && bundleDigest
          ? {
              mediaType: BUNDLE_MEDIA_TYPE,
              digest: bundleDigest,
              sizeBytes: bundleBytes.byteLength,
              url: `/api/v1/bundles/${bundleDigest}`,
            }
          : null,
      deployments: entries.map((e) => ({
        deploymentId: e.deploymentId,
        digest: e.digest,
        sizeBytes: e.yaml.byteLength,
        url: `/api/v1/deployments/${e.deploymentId}/${e.digest}`,
      })),
    };
    const bytes = serializeStateManifest(manifest);
    const digest = sha256Digest(bytes);
    if (prev) q.updateClient.run(version, bytes, digest, bundleDigest, commit, now, clientId);
    else q.insertClient.run(clientId, version, bytes, digest, bundleDigest, commit, now);
    const live = q.live.all(clientId) as { deploymentId: string; digest: string }[];
    for (const l of live) {
      if (!entries.some((e) => e.deploymentId === l.deploymentId && e.digest === l.digest))
        q.close.run(version, now, clientId, l.deploymentId, l.digest);
    }
    for (const e of entries) {
      if (live.some((l) => l.deploymentId === e.deploymentId && l.digest === e.digest)) continue;
      q.open.run(clientId, e.deploymentId, e.digest, e.yaml.byteLength, e.yaml, version);
    }
    if (bundleBytes && bundleDigest)
      q.bundle.run(clientId, bundleDigest, bundleBytes.byteLength, bundleBytes, version, now);
    return { bytes, digest, manifestVersion: version };
  };

  const store_: ManifestStore = {
    current,
    ensureEmpty(clientId) {
      return store.tx(() => current(clientId) ?? write(clientId, [], undefined, null, clock.now()));
    },
    async apply(clientId, desired, commit) {
      const entries = entriesOf(desired);
      if (unchanged(clientId, entries)) {
        if (commit) q.touchCommit.run(commit, clientId);
        return { changed: false, manifest: current(clientId)! };
      }
      const bundleBytes = entries.length ? await buildBundle(entries) : undefined;
      return {
        changed: true,
        manifest: store.tx(() => write(clientId, entries, bundleBytes, commit, clock.now())),
      };
    },
    async applyMany(items, commit) {
      const work: { clientId: string; entries: Entry[]; bundle: Buffer | undefined }[] = [];
      for (const it of items) {
        const entries = entriesOf(it.desired);
        if (unchanged(it.clientId, entries)) continue;
        work.push({
          clientId: it.clientId,
          entries,
          bundle: entries.length ? await buildBundle(entries) : undefined,
        });
      }
      if (work.length === 0) return [];
      const now = clock.now();
      store.tx(() => {
        for (const w of work) write(w.clientId, w.entries, w.bundle, commit, now);
      });
      return work.map((w) => w.clientId);
    },
    yaml(clientId, deploymentId, digest) {
      return (q.yaml.get(clientId, deploymentId, digest) as { yaml: Buffer } | undefined)?.yaml;
    },
    bundle(clientId, digest) {
      return (q.bundleBytes.get(clientId, digest) as { bytes: Buffer } | undefined)?.bytes;
    },
    digestAt(clientId, deploymentId, version) {
      return (q.digestAt.get(clientId, deploymentId, version, version) as { digest: string } | undefined)
        ?.digest;
    },
    everServed(clientId, deploymentId) {
      return q.ever.get(clientId, deploymentId) !== undefined;
    },
    clients() {
      return (store.sqlite.prepare('SELECT client_id AS id FROM lo_clients').all() as { id: string }[]).map(
        (r) => r.id,
      );
    },
    prune(retentionMs) {
      const cutoff = clock.now() - retentionMs;
      return store.tx(() => {
        const r1 = store.sqlite
          .prepare('DELETE FROM lo_client_deployments WHERE until_at IS NOT NULL AND until_at < ?')
          .run(cutoff);
        const r2 = store.sqlite
          .prepare(
            'DELETE FROM lo_bundles WHERE created_at < ? AND digest NOT IN (SELECT bundle_digest FROM lo_clients WHERE bundle_digest IS NOT NULL)',
          )
          .run(cutoff);
        return r1.changes + r2.changes;
      });
    },
  };
  return store_;
}

/** The Margo bundle: a gzip-compressed tar whose root holds the YAML files (named `<deploymentId>.yaml`). */
export async function buildBundle(entries: { deploymentId: string; yaml: Buffer }[]): Promise<Buffer> {
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  const done = new Promise<void>((resolve, reject) => {
    pack.on('data', (c: unknown) => chunks.push(c as Buffer));
    pack.on('end', () => resolve());
    pack.on('error', reject);
  });
  for (const e of entries) {
    pack.entry(
      {
        name: `${e.deploymentId}.yaml`,
        size: e.yaml.byteLength,
        mode: 0o644,
        mtime: new Date(0),
        uid: 0,
        gid: 0,
        uname: '',
        gname: '',
        type: 'file',
      },
      e.yaml,
    );
  }
  pack.finalize();
  await done;
  return zlib.gzipSync(Buffer.concat(chunks));
}
