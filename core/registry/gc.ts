import fsp from 'node:fs/promises';
import path from 'node:path';
import type { Clock } from '../../lib/base/index.js';
import type { Logger } from '../../lib/log/index.js';
import { isTag } from '../../lib/oci/index.js';
import { listDir, readSmall, removeFile, statOrUndefined, syncDir, type Layout } from './files.js';
import { tryParseManifest } from './manifest.js';

/** A manifest something outside the registry needs (a deployment's component): repository and tag or digest. */
export interface GcRoot {
  repository: string;
  reference: string;
}

export interface GcOptions {
  /** Report what would be removed, remove nothing. */
  dryRun: boolean;
  /** Nothing younger than this is removed (pushes and imports in progress). */
  graceMs: number;
  /** Manifests deployments reference (by tag or digest), kept even when untagged. */
  roots: GcRoot[];
}

export interface GcReport {
  dryRun: boolean;
  /** Manifests kept: tagged, referenced by a deployment or an index, young, or referring to a kept one. */
  manifestsKept: number;
  /** Untagged manifests no deployment references, unlinked from their repository. */
  manifestsRemoved: number;
  blobsKept: number;
  blobsRemoved: number;
  bytesKept: number;
  bytesRemoved: number;
  uploadsRemoved: number;
  /** Deployment references with no manifest in the registry (the node pulls them elsewhere, or fails). */
  missingRoots: GcRoot[];
  /** Removed (or, in a dry run, removable) blobs; at most the first 1,000. */
  removed: { digest: string; size: number }[];
}

/** The report lists at most this many removed blobs (the counts cover all). */
const MAX_LISTED = 1000;

interface Revision {
  repository: string;
  hex: string;
  mediaType: string;
  mtimeMs: number;
}

/**
 * Mark and sweep (ADR 0420), run under the store's lock so no manifest is linked halfway through. Live
 * manifests: every tagged one, every deployment root, every one younger than the grace period, the
 * children of live indexes, and referrers (`subject`) of live ones. Live blobs: live manifests and what
 * they name. Swept: untagged manifest links that are not live, blobs that are not live and older than
 * the grace period, stale upload sessions and temporary files.
 */
export async function runGc(deps: {
  layout: Layout;
  clock: Clock;
  logger: Logger;
  options: GcOptions;
  liveUploads: () => Set<string>;
  released: (bytes: number) => void;
}): Promise<GcReport> {
  const { layout, clock, options } = deps;
  const now = clock.now();
  const young = (mtimeMs: number) => now - mtimeMs < options.graceMs;

  // Every manifest link of every repository, and what the tags point at.
  const revisions = new Map<string, Revision>();
  const key = (repository: string, hex: string) => `${repository}@${hex}`;
  const live = new Set<string>();
  const repos: string[] = [];
  const walk = async (dir: string, prefix: string) => {
    for (const e of await listDir(dir)) {
      if (!e.isDirectory()) continue;
      if (e.name === '_manifests') repos.push(prefix);
      else await walk(path.join(dir, e.name), prefix ? `${prefix}/${e.name}` : e.name);
    }
  };
  await walk(layout.reposDir, '');
  for (const repository of repos) {
    for (const e of await listDir(layout.revisionsDir(repository))) {
      if (!e.isFile() || !/^[a-f0-9]{64}$/.test(e.name)) continue;
      const file = layout.revision(repository, e.name);
      const st = await statOrUndefined(file);
      const mediaType = (await readSmall(file))?.trim();
      if (!st || mediaType === undefined) continue;
      revisions.set(key(repository, e.name), { repository, hex: e.name, mediaType, mtimeMs: st.mtimeMs });
      if (young(st.mtimeMs)) live.add(key(repository, e.name));
    }
    for (const e of await listDir(layout.tagsDir(repository))) {
      if (!e.isFile() || !isTag(e.name)) continue;
      const d = (await readSmall(layout.tag(repository, e.name)))?.trim();
      if (d?.startsWith('sha256:')) live.add(key(repository, d.slice(7)));
    }
  }
  const missingRoots: GcRoot[] = [];
  for (const root of options.roots) {
    let hex: string | undefined;
    if (root.reference.startsWith('sha256:')) hex = root.reference.slice(7);
    else if (isTag(root.reference)) {
      const d = (await readSmall(layout.tag(root.repository, root.reference)).catch(() => undefined))?.trim();
      hex = d?.startsWith('sha256:') ? d.slice(7) : undefined;
    }
    if (hex !== undefined && revisions.has(key(root.repository, hex))) live.add(key(root.repository, hex));
    else missingRoots.push(root);
  }

  // Mark: walk from the live manifests (indexes to children, manifests to blobs), then referrers.
  const liveBlobs = new Set<string>();
  const parsedCache = new Map<string, ReturnType<typeof tryParseManifest> | null>();
  const parse = async (hex: string, mediaType: string) => {
    if (parsedCache.has(hex)) return parsedCache.get(hex) ?? undefined;
    let bytes: Buffer | undefined;
    try {
      bytes = await fsp.readFile(layout.blob(hex));
    } catch {
      bytes = undefined;
    }
    const parsed = bytes ? tryParseManifest(bytes, mediaType) : undefined;
    parsedCache.set(hex, parsed ?? null);
    if (bytes && !parsed)
      deps.logger.warn(
        { digest: `sha256:${hex}` },
        'stored manifest does not parse; its blobs are not kept for it',
      );
    return parsed;
  };
  const marked = new Set<string>();
  const mark = async (k: string) => {
    const queue = [k];
    while (queue.length) {
      const cur = queue.pop()!;
      if (marked.has(cur)) continue;
      marked.add(cur);
      const rev = revisions.get(cur);
      if (!rev) continue;
      liveBlobs.add(rev.hex);
      const parsed = await parse(rev.hex, rev.mediaType);
      if (!parsed) continue;
      for (const b of parsed.blobs) liveBlobs.add(b.digest.slice(7));
      for (const m of parsed.manifests) queue.push(key(rev.repository, m.digest.slice(7)));
    }
  };
  for (const k of live) await mark(k);
  for (let changed = true; changed;) {
    changed = false;
    for (const [k, rev] of revisions) {
      if (marked.has(k)) continue;
      const parsed = await parse(rev.hex, rev.mediaType);
      if (parsed?.subject && marked.has(key(rev.repository, parsed.subject.digest.slice(7)))) {
        await mark(k);
        changed = true;
      }
    }
  }

  const report: GcReport = {
    dryRun: options.dryRun,
    manifestsKept: marked.size,
    manifestsRemoved: 0,
    blobsKept: 0,
    blobsRemoved: 0,
    bytesKept: 0,
    bytesRemoved: 0,
    uploadsRemoved: 0,
    missingRoots,
    removed: [],
  };

  // Sweep manifest links nothing needs.
  const touchedDirs = new Set<string>();
  for (const [k, rev] of revisions) {
    if (marked.has(k)) continue;
    report.manifestsRemoved++;
    if (!options.dryRun) {
      await removeFile(layout.revision(rev.repository, rev.hex));
      touchedDirs.add(layout.revisionsDir(rev.repository));
    }
  }
  // A manifest kept in one repository keeps its bytes, whatever other repositories do.
  for (const k of marked) {
    const rev = revisions.get(k);
    if (rev) liveBlobs.add(rev.hex);
  }

  // Sweep blobs.
  for (const shard of await listDir(layout.blobsDir)) {
    if (!shard.isDirectory()) continue;
    const dir = path.join(layout.blobsDir, shard.name);
    for (const e of await listDir(dir)) {
      if (!e.isFile()) continue;
      const st = await statOrUndefined(path.join(dir, e.name));
      if (!st) continue;
      if (liveBlobs.has(e.name) || young(st.mtimeMs)) {
        report.blobsKept++;
        report.bytesKept += st.size;
        continue;
      }
      report.blobsRemoved++;
      report.bytesRemoved += st.size;
      if (report.removed.length < MAX_LISTED)
        report.removed.push({ digest: `sha256:${e.name}`, size: st.size });
      if (!options.dryRun && (await removeFile(path.join(dir, e.name)))) {
        deps.released(st.size);
        touchedDirs.add(dir);
      }
    }
  }

  // Upload sessions nobody continued, and leftover temporary files.
  const active = deps.liveUploads();
  for (const e of await listDir(layout.uploadsDir)) {
    const p = path.join(layout.uploadsDir, e.name);
    const st = await statOrUndefined(path.join(p, 'data'));
    if (active.has(e.name) && st && young(st.mtimeMs)) continue;
    if (st && young(st.mtimeMs)) continue;
    report.uploadsRemoved++;
    if (!options.dryRun) {
      await fsp.rm(p, { recursive: true, force: true });
      if (st) deps.released(st.size);
    }
  }
  if (!options.dryRun) {
    for (const e of await listDir(layout.tmpDir)) {
      const p = path.join(layout.tmpDir, e.name);
      const st = await statOrUndefined(p);
      if (st && !young(st.mtimeMs)) await fsp.rm(p, { force: true });
    }
    for (const d of touchedDirs) await syncDir(d);
  }
  deps.logger.info(
    {
      dryRun: options.dryRun,
      blobsRemoved: report.blobsRemoved,
      bytesRemoved: report.bytesRemoved,
      manifestsRemoved: report.manifestsRemoved,
      uploadsRemoved: report.uploadsRemoved,
    },
    options.dryRun ? 'registry garbage collection (dry run)' : 'registry garbage collection',
  );
  return report;
}
