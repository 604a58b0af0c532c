import crypto from 'node:crypto';
import fsp from 'node:fs/promises';
import path from 'node:path';
import type { Store } from '../store/db.js';
import type { Clock } from '../../lib/base/index.js';
import type { Logger } from '../../lib/log/index.js';
import type { Config } from '../config.js';
import { bundleFileName, writeBundle, type BlobInput } from '../../lib/bundle/index.js';
import type { BlobCache, RegistryClient } from '../../lib/oci/index.js';
import { OutpostError, errors } from '../../lib/errors/index.js';
import type { BundleSummary } from '../store/schema/index.js';
import { createDesiredStateReader } from '../lo/desired-state.js';
import { collectArtifacts, referencesOf } from './artifacts.js';
import { fileIn, type Destination } from './destination.js';
import { packRange } from './git-range.js';
import type { JobControl, JobOutcome } from './jobs.js';
import type { SigningKeys } from './keys.js';
import { AppVersionMediaType, GitPackMediaType, Role, type AppVersionBlob, type HqMeta } from './meta.js';
import type { BundleRegistryAccess } from './registry-port.js';
import type { Streams } from './streams.js';

export interface ExportSiteDeps {
  store: Store;
  config: Config;
  clock: Clock;
  logger: Logger;
  keys: SigningKeys;
  streams: Streams;
  registry: BundleRegistryAccess;
  /** The artifacts' registries and the cache in front of them (made on first use). */
  remote: () => { client: RegistryClient; cache: BlobCache } | undefined;
  repoDir(tenantId: string): string;
  branch: string;
  /** A scratch folder of this export (removed afterwards). */
  workRoot: string;
}

/** What the site reported in its last status bundle (kept in the site-to-hq stream's state). */
export interface SiteReport {
  mirrorCommit?: string | null;
  manifests?: string[];
}

/**
 * HQ writes a bundle for a site (issue 13, ADR 0406): everything the site lacks since what it last
 * reported (or everything with `full`): the deployments repository's new commits (a git pack and the
 * range), the descriptions of the applications its deployments run, and every OCI artifact they
 * reference, deduplicated by digest. The sequence is taken before the file is written; the stream moves
 * to it once the file is in place.
 */
export async function exportSiteBundle(
  deps: ExportSiteDeps,
  input: {
    tenantId: string;
    siteId: string;
    full: boolean;
    expiresDays: number;
    overwrite: boolean;
    dest: Destination;
  },
  job: JobControl,
): Promise<JobOutcome> {
  const { store, config, clock } = deps;
  const site = store.sqlite
    .prepare('SELECT id, served_by AS servedBy FROM sites WHERE tenant_id = ? AND id = ?')
    .get(input.tenantId, input.siteId) as { id: string; servedBy: string } | undefined;
  if (!site) throw errors.notFound('site', input.siteId);
  if (site.servedBy === 'embedded')
    throw new OutpostError(
      'conflict',
      `site "${site.id}" is served by this server's own LO: it needs no bundle (mark it remote and air-gapped with edgectl co set-site ${site.id} --air-gapped)`,
    );
  const hqId = config.airgap.hqId;
  const key = { kind: 'hq-to-site' as const, source: hqId, target: site.id };
  const back = { kind: 'site-to-hq' as const, source: site.id, target: hqId };
  const backRow = deps.streams.get(back);
  const report = (backRow?.state ?? {}) as SiteReport;
  const outRow = deps.streams.get(key);
  const acked = outRow?.acknowledged ?? null;
  const ackedCovers = acked !== null ? deps.streams.covers(key, acked) : undefined;

  job.phase('collecting');
  const work = path.join(deps.workRoot, `export-${crypto.randomBytes(6).toString('hex')}`);
  await fsp.mkdir(work, { recursive: true });
  try {
    // 1. The desired state: the site's new commits.
    const repoDir = deps.repoDir(input.tenantId);
    const ref = `refs/heads/${deps.branch}`;
    const siteFrom = input.full
      ? null
      : (report.mirrorCommit ?? (ackedCovers?.gitTo as string | undefined) ?? null);
    let range = await packRange(repoDir, ref, siteFrom, work).catch(async (err: unknown) => {
      // The site's commit is not in this history (a repository rebuilt here): send everything.
      if (siteFrom !== null && err instanceof OutpostError && err.code === 'conflict') {
        deps.logger.warn(
          { site: site.id, from: siteFrom },
          'the site is at a commit HQ does not have; exporting the full history',
        );
        return packRange(repoDir, ref, null, work);
      }
      throw err;
    });
    if (range && siteFrom === null) range = { ...range, from: null };

    // 2. What the site's nodes run at that commit: deployment YAMLs, their applications and artifacts.
    const yamls: Buffer[] = [];
    const deploymentIds = new Set<string>();
    if (range) {
      const reader = createDesiredStateReader(repoDir);
      const keys = (await reader.allNodes(range.to)).filter((k) => k.siteId === site.id);
      for (const files of (await reader.nodesDeployments(range.to, keys)).values())
        for (const [id, yaml] of files) {
          deploymentIds.add(id);
          yamls.push(yaml);
        }
    }
    const apps = store.sqlite
      .prepare(
        `SELECT DISTINCT v.app_id AS appId, v.version AS version, v.digest AS digest, v.original AS original, v.icon AS icon
         FROM deployment_targets t JOIN deployments d ON d.id = t.deployment_id
         JOIN app_versions v ON v.tenant_id = d.tenant_id AND v.app_id = d.app_id AND v.version = t.version
         WHERE t.tenant_id = ? AND t.site_id = ? AND t.deployment_id IN (SELECT value FROM json_each(?))
         ORDER BY v.app_id, v.version`,
      )
      .all(input.tenantId, site.id, JSON.stringify([...deploymentIds])) as {
      appId: string;
      version: string;
      digest: string;
      original: Buffer;
      icon: string | null;
    }[];
    const { refs, skipped } = referencesOf(yamls);
    const artifacts = await collectArtifacts({
      refs,
      siteHas: new Set(input.full ? [] : (report.manifests ?? [])),
      own: deps.registry.store(),
      remote: refs.length ? deps.remote() : undefined,
      logger: deps.logger,
      signal: job.signal,
    });

    // 3. The blobs, small first: application descriptions, the git pack, then the artifacts.
    const blobs: BlobInput[] = [];
    for (const a of apps) {
      const body: AppVersionBlob = {
        appId: a.appId,
        version: a.version,
        digest: a.digest,
        original: a.original.toString('utf8'),
        icon: a.icon,
      };
      blobs.push({
        role: Role.app,
        mediaType: AppVersionMediaType,
        source: { bytes: Buffer.from(JSON.stringify(body)) },
      });
    }
    if (range?.packFile)
      blobs.push({ role: Role.gitPack, mediaType: GitPackMediaType, source: { file: range.packFile } });
    blobs.push(...artifacts.blobs);

    const carried: Record<string, number> = {
      commits: range?.commits.length ?? 0,
      artifacts: artifacts.carried,
      artifactBytes: artifacts.bytes,
      apps: apps.length,
      deployments: deploymentIds.size,
    };
    const meta: HqMeta = {
      type: 'outpost.hq-bundle',
      tenant: input.tenantId,
      full: input.full,
      artifacts: artifacts.entries,
      apps: apps.map((a) => ({ appId: a.appId, version: a.version, digest: a.digest })),
      skipped,
      carried,
    };

    // 4. The sequence, then the file.
    const current = deps.keys.current();
    const signerOfAcked = (ackedCovers?.signer as string | undefined) ?? null;
    const rotations = deps.keys.rotationsSince(signerOfAcked);
    const sequence = deps.streams.reserve(key, { gitTo: range?.to ?? null, signer: current.row.keyId });
    const file = fileIn(input.dest, bundleFileName({ source: hqId, target: site.id, sequence }));
    job.phase('writing', artifacts.bytes || null);
    try {
      const written = await writeBundle({
        file,
        header: {
          kind: 'hq-to-site',
          source: hqId,
          target: site.id,
          sequence,
          expires: new Date(clock.now() + input.expiresDays * 86_400_000),
          created: new Date(clock.now()),
          acknowledged: deps.streams.lastImported(back),
          git: range ? { ref: range.ref, from: range.from, to: range.to } : null,
          meta: meta as unknown as Record<string, unknown>,
        },
        blobs,
        signer: deps.keys.signer(),
        rotations,
        overwrite: input.overwrite,
        signal: job.signal,
        clock,
        onProgress: (p) => job.progress(p.bytes, p.totalBytes ?? null),
      });
      const summary: BundleSummary = {
        sequence,
        created: Date.parse(written.index.created),
        bytes: written.size,
        blobs: written.index.blobs.length,
        carried,
        file: written.file,
        gitTo: range?.to ?? null,
        indexDigest: written.indexDigest,
        signer: written.index.signer,
      };
      deps.streams.written(key, sequence, written.file, summary);
      return {
        file: written.file,
        fileName: path.basename(written.file),
        size: written.size,
        summary,
        report: null,
        throughput: written.blobBytes / Math.max(written.seconds, 0.001),
      };
    } catch (err) {
      deps.streams.failed(key, sequence);
      throw err;
    }
  } finally {
    await fsp.rm(work, { recursive: true, force: true });
  }
}
