import type { Store } from '../store/db.js';
import type { Clock } from '../../lib/base/index.js';
import { encodeStateManifest, sha256Digest, buildBundle } from '../../lib/margo/index.js';
import { BUNDLE_MEDIA_TYPE, DEPLOYMENT_ID, type StateManifest } from '../../lib/model/index.js';
import { OutpostError } from '../../lib/errors/index.js';
import type { StoredManifest } from '../mmi/backend.js';
import { rowChanges } from '../store/row-changes.js';

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
  /** The client's current manifest version without its bytes (status reports check against it). */
  currentVersion(clientId: string): number | undefined;
  /**
   * The digest of the client's current manifest from memory (the poll's 304), undefined when it has none;
   * read once from the database and kept until its `lo_clients` row changes (ADR 0540).
   */
  tag(clientId: string): { digest: string } | undefined;
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

/** Manifest digests kept at most (one per client). */
const MAX_TAGS = 200_000;
/** Bundles built once per apply for clients whose deployments are the same bytes (a deploy to thousands). */
const MAX_SHARED_BUNDLES = 64;

interface Entry {
  deploymentId: string;
  yaml: Buffer;
  digest: string;
}

export function createManifestStore(deps: { store: Store; clock: Clock }): ManifestStore {
  const { store, clock } = deps;
  /** client id -> current manifest digest (null: no manifest yet). */
  const tags = new Map<string, { digest: string } | null>();
  const changes = rowChanges(store.sqlite);
  changes.watch({ table: 'lo_clients', key: 'client_id', columns: ['client_id', 'manifest_digest'] }, (k) =>
    k === null ? tags.clear() : tags.delete(k),
  );
  const q = {
    tag: store.sqlite.prepare('SELECT manifest_digest AS digest FROM lo_clients WHERE client_id = ?'),
    current: store.sqlite.prepare(
      'SELECT manifest_version AS v, manifest AS bytes, manifest_digest AS digest FROM lo_clients WHERE client_id = ?',
    ),
    version: store.sqlite.prepare('SELECT manifest_version AS v FROM lo_clients WHERE client_id = ?'),
    allVersions: store.sqlite.prepare('SELECT client_id AS c, manifest_version AS v FROM lo_clients'),
    allLive: store.sqlite.prepare(
      'SELECT client_id AS c, deployment_id AS d, digest FROM lo_client_deployments WHERE until_version IS NULL',
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

  const entriesOf = (desired: DesiredDeployment[]): Entry[] => {
    for (const d of desired)
      if (!DEPLOYMENT_ID.test(d.deploymentId))
        throw new OutpostError(
          'invalid-input',
          `deployment id ${JSON.stringify(d.deploymentId)} must match ${DEPLOYMENT_ID.source}`,
        );
    return [...desired]
      .sort((a, b) => (a.deploymentId < b.deploymentId ? -1 : a.deploymentId > b.deploymentId ? 1 : 0))
      .map((d) => ({ ...d, digest: sha256Digest(d.yaml) }));
  };

  /** What a client has now: its manifest version and its live deployments (id -> digest). */
  interface Known {
    version: number;
    live: Map<string, string>;
  }
  const knownOne = (clientId: string): Known | undefined => {
    const v = q.version.get(clientId) as { v: number } | undefined;
    if (!v) return undefined;
    const live = new Map<string, string>();
    for (const r of q.live.all(clientId) as { deploymentId: string; digest: string }[])
      live.set(r.deploymentId, r.digest);
    return { version: v.v, live };
  };
  /** Every client at once: two scans instead of two queries per client (a deploy to thousands). */
  const knownAll = (): Map<string, Known> => {
    const all = new Map<string, Known>();
    for (const r of q.allVersions.all() as { c: string; v: number }[])
      all.set(r.c, { version: r.v, live: new Map() });
    for (const r of q.allLive.all() as { c: string; d: string; digest: string }[])
      all.get(r.c)?.live.set(r.d, r.digest);
    return all;
  };
  const sameAs = (k: Known | undefined, entries: Entry[]): boolean =>
    k !== undefined &&
    k.live.size === entries.length &&
    entries.every((e) => k.live.get(e.deploymentId) === e.digest);

  /** Writes one client's new manifest (inside the caller's transaction, `known` read in it). */
  const write = (
    clientId: string,
    entries: Entry[],
    commit: string | null,
    now: number,
    known: Known | undefined,
    bundles?: Map<string, { bytes: Buffer; digest: string }>,
  ): { manifest: StoredManifest; known: Known } => {
    const version = (known?.version ?? 0) + 1;
    let built: { bytes: Buffer; digest: string } | undefined;
    if (entries.length) {
      // The bundle is a function of the entries alone (ids and YAML bytes, by digest): clients with the
      // same deployments share one build.
      const key = entries.map((e) => `${e.deploymentId}@${e.digest}`).join(',');
      built = bundles?.get(key);
      if (!built) {
        const bytes = buildBundle(entries);
        built = { bytes, digest: sha256Digest(bytes) };
        if (bundles && bundles.size < MAX_SHARED_BUNDLES) bundles.set(key, built);
      }
    }
    const bundleBytes = built?.bytes;
    const bundleDigest = built ? built.digest : null;
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
    const bytes = encodeStateManifest(manifest);
    const digest = sha256Digest(bytes);
    if (known) q.updateClient.run(version, bytes, digest, bundleDigest, commit, now, clientId);
    else q.insertClient.run(clientId, version, bytes, digest, bundleDigest, commit, now);
    const live = new Map<string, string>();
    for (const e of entries) live.set(e.deploymentId, e.digest);
    for (const [deploymentId, d] of known?.live ?? [])
      if (live.get(deploymentId) !== d) q.close.run(version, now, clientId, deploymentId, d);
    for (const e of entries) {
      if (known?.live.get(e.deploymentId) === e.digest) continue;
      q.open.run(clientId, e.deploymentId, e.digest, e.yaml.byteLength, e.yaml, version);
    }
    if (bundleBytes && bundleDigest)
      q.bundle.run(clientId, bundleDigest, bundleBytes.byteLength, bundleBytes, version, now);
    return { manifest: { bytes, digest, manifestVersion: version }, known: { version, live } };
  };

  const store_: ManifestStore = {
    current,
    currentVersion(clientId) {
      return (q.version.get(clientId) as { v: number } | undefined)?.v;
    },
    tag(clientId) {
      if (changes.changedElsewhere()) tags.clear();
      let t = tags.get(clientId);
      if (t === undefined) {
        const r = q.tag.get(clientId) as { digest: string } | undefined;
        t = r ? { digest: r.digest } : null;
        if (tags.size >= MAX_TAGS) tags.clear();
        tags.set(clientId, t);
      }
      return t ?? undefined;
    },
    ensureEmpty(clientId) {
      return store.tx(() => current(clientId) ?? write(clientId, [], null, clock.now(), undefined).manifest);
    },
    // Everything runs in one synchronous transaction: what is compared is what is written over.
    async apply(clientId, desired, commit) {
      const entries = entriesOf(desired);
      return store.tx(() => {
        const known = knownOne(clientId);
        if (sameAs(known, entries)) {
          if (commit) q.touchCommit.run(commit, clientId);
          return { changed: false, manifest: current(clientId)! };
        }
        return { changed: true, manifest: write(clientId, entries, commit, clock.now(), known).manifest };
      });
    },
    async applyMany(items, commit) {
      const now = clock.now();
      const bundles = new Map<string, { bytes: Buffer; digest: string }>();
      const written = new Map<string, string>();
      const changed = store.tx(() => {
        written.clear();
        const all = items.length > 64 ? knownAll() : undefined;
        const out: string[] = [];
        for (const it of items) {
          const entries = entriesOf(it.desired);
          const known = all ? all.get(it.clientId) : knownOne(it.clientId);
          if (sameAs(known, entries)) continue;
          const w = write(it.clientId, entries, commit, now, known, bundles);
          all?.set(it.clientId, w.known);
          written.set(it.clientId, w.manifest.digest);
          out.push(it.clientId);
        }
        return out;
      });
      // Committed (the writes' triggers dropped these tags): the next poll of each client is answered
      // from memory instead of reading its row again. Not when an enclosing transaction may still roll back.
      if (!store.sqlite.inTransaction)
        for (const [clientId, digest] of written) if (tags.size < MAX_TAGS) tags.set(clientId, { digest });
      return changed;
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
