import zlib from 'node:zlib';
import { and, eq, isNull, lte, or, gt } from 'drizzle-orm';
import tar from 'tar-stream';
import type { Store } from '../store/db.js';
import type { Clock } from '../clock.js';
import { loBundles, loClientDeployments, loClients } from '../store/schema/index.js';
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
 */
export interface ManifestStore {
  current(clientId: string): StoredManifest | undefined;
  /** The client's manifest, creating version 1 with no deployments (`bundle: null`) if it has none. */
  ensureEmpty(clientId: string): StoredManifest;
  /** Sets the client's deployments; returns whether a new manifest version was made. */
  apply(
    clientId: string,
    desired: DesiredDeployment[],
    commit: string | null,
  ): Promise<{ changed: boolean; manifest: StoredManifest }>;
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

export function createManifestStore(deps: { store: Store; clock: Clock }): ManifestStore {
  const { store, clock } = deps;
  const db = store.db;

  const current = (clientId: string): StoredManifest | undefined => {
    const row = db.select().from(loClients).where(eq(loClients.clientId, clientId)).get();
    return row
      ? { bytes: row.manifest, digest: row.manifestDigest, manifestVersion: row.manifestVersion }
      : undefined;
  };

  return {
    current,
    ensureEmpty(clientId) {
      return store.tx(() => {
        const existing = current(clientId);
        if (existing) return existing;
        const bytes = serializeStateManifest({ manifestVersion: 1, bundle: null, deployments: [] });
        const digest = sha256Digest(bytes);
        db.insert(loClients)
          .values({
            clientId,
            manifestVersion: 1,
            manifest: bytes,
            manifestDigest: digest,
            bundleDigest: null,
            commit: null,
            updatedAt: clock.now(),
          })
          .run();
        return { bytes, digest, manifestVersion: 1 };
      });
    },
    async apply(clientId, desired, commit) {
      const sorted = [...desired].sort((a, b) =>
        a.deploymentId < b.deploymentId ? -1 : a.deploymentId > b.deploymentId ? 1 : 0,
      );
      const entries = sorted.map((d) => ({ ...d, digest: sha256Digest(d.yaml) }));
      const live = db
        .select({ deploymentId: loClientDeployments.deploymentId, digest: loClientDeployments.digest })
        .from(loClientDeployments)
        .where(and(eq(loClientDeployments.clientId, clientId), isNull(loClientDeployments.untilVersion)))
        .all();
      const existing = current(clientId);
      const same =
        existing !== undefined &&
        live.length === entries.length &&
        entries.every((e) => live.some((l) => l.deploymentId === e.deploymentId && l.digest === e.digest));
      if (same) {
        if (commit) db.update(loClients).set({ commit }).where(eq(loClients.clientId, clientId)).run();
        return { changed: false, manifest: existing };
      }
      const bundleBytes = entries.length ? await buildBundle(entries) : undefined;
      const bundleDigest = bundleBytes ? sha256Digest(bundleBytes) : null;
      const now = clock.now();

      return store.tx(() => {
        // Re-read inside the transaction: the version only ever grows, whatever ran concurrently.
        const prev = db.select().from(loClients).where(eq(loClients.clientId, clientId)).get();
        const version = (prev?.manifestVersion ?? 0) + 1;
        const manifest: StateManifest = {
          manifestVersion: version,
          bundle: bundleBytes
            ? {
                mediaType: BUNDLE_MEDIA_TYPE,
                digest: bundleDigest!,
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
        const row = {
          clientId,
          manifestVersion: version,
          manifest: bytes,
          manifestDigest: digest,
          bundleDigest,
          commit,
          updatedAt: now,
        };
        if (prev) db.update(loClients).set(row).where(eq(loClients.clientId, clientId)).run();
        else db.insert(loClients).values(row).run();
        const stillLive = db
          .select()
          .from(loClientDeployments)
          .where(and(eq(loClientDeployments.clientId, clientId), isNull(loClientDeployments.untilVersion)))
          .all();
        for (const l of stillLive) {
          if (!entries.some((e) => e.deploymentId === l.deploymentId && e.digest === l.digest)) {
            db.update(loClientDeployments)
              .set({ untilVersion: version, untilAt: now })
              .where(
                and(
                  eq(loClientDeployments.clientId, clientId),
                  eq(loClientDeployments.deploymentId, l.deploymentId),
                  eq(loClientDeployments.digest, l.digest),
                ),
              )
              .run();
          }
        }
        for (const e of entries) {
          if (stillLive.some((l) => l.deploymentId === e.deploymentId && l.digest === e.digest)) continue;
          db.insert(loClientDeployments)
            .values({
              clientId,
              deploymentId: e.deploymentId,
              digest: e.digest,
              sizeBytes: e.yaml.byteLength,
              yaml: e.yaml,
              sinceVersion: version,
              untilVersion: null,
              untilAt: null,
            })
            .onConflictDoUpdate({
              target: [
                loClientDeployments.clientId,
                loClientDeployments.deploymentId,
                loClientDeployments.digest,
              ],
              set: { sinceVersion: version, untilVersion: null, untilAt: null },
            })
            .run();
        }
        if (bundleBytes && bundleDigest) {
          db.insert(loBundles)
            .values({
              clientId,
              digest: bundleDigest,
              sizeBytes: bundleBytes.byteLength,
              bytes: bundleBytes,
              manifestVersion: version,
              createdAt: now,
            })
            .onConflictDoNothing()
            .run();
        }
        return { changed: true, manifest: { bytes, digest, manifestVersion: version } };
      });
    },
    yaml(clientId, deploymentId, digest) {
      return db
        .select({ yaml: loClientDeployments.yaml })
        .from(loClientDeployments)
        .where(
          and(
            eq(loClientDeployments.clientId, clientId),
            eq(loClientDeployments.deploymentId, deploymentId),
            eq(loClientDeployments.digest, digest),
          ),
        )
        .get()?.yaml;
    },
    bundle(clientId, digest) {
      return db
        .select({ bytes: loBundles.bytes })
        .from(loBundles)
        .where(and(eq(loBundles.clientId, clientId), eq(loBundles.digest, digest)))
        .get()?.bytes;
    },
    digestAt(clientId, deploymentId, version) {
      return db
        .select({ digest: loClientDeployments.digest })
        .from(loClientDeployments)
        .where(
          and(
            eq(loClientDeployments.clientId, clientId),
            eq(loClientDeployments.deploymentId, deploymentId),
            lte(loClientDeployments.sinceVersion, version),
            or(isNull(loClientDeployments.untilVersion), gt(loClientDeployments.untilVersion, version)),
          ),
        )
        .get()?.digest;
    },
    everServed(clientId, deploymentId) {
      return (
        db
          .select({ d: loClientDeployments.deploymentId })
          .from(loClientDeployments)
          .where(
            and(
              eq(loClientDeployments.clientId, clientId),
              eq(loClientDeployments.deploymentId, deploymentId),
            ),
          )
          .get() !== undefined
      );
    },
    clients() {
      return db
        .select({ id: loClients.clientId })
        .from(loClients)
        .all()
        .map((r) => r.id);
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
  return zlib.gzipSync(Buffer.concat(chunks), { level: 9 });
}
