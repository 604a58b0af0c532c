import type { Logger } from '../../lib/log/index.js';
import { parseApplicationDeployment } from '../../lib/margo/index.js';
import {
  formatReference,
  isIndex,
  parseReference,
  pullBlobToCache,
  type AnyManifest,
  type BlobCache,
  type Descriptor,
  type Reference,
  type RegistryClient,
} from '../../lib/oci/index.js';
import type { BlobInput } from '../../lib/bundle/index.js';
import { OutpostError } from '../../lib/errors/index.js';
import type { BundleRegistry } from './registry-port.js';
import { siteRepository } from '../../lib/registry/index.js';

/**
 * The OCI artifacts a site's deployments reference (ADR 0406): every component `repository:revision` of
 * every deployment YAML the site's nodes run, resolved to its manifest (an index with all its manifests),
 * configs and layers, deduplicated by digest. HQ takes each from its own site registry when it holds it
 * (roles all), else from the artifact's registry through a cache. At the site, each goes into the site
 * registry under the name the agents look for (`<host>/<repository>`, ADR 0422).
 */

/** An artifact as the bundle's index meta lists it: where it goes in the site registry. */
export interface ArtifactEntry {
  /** The reference as the deployment names it (`registry.example/x/y:1.0`). */
  reference: string;
  /** The site registry repository (`registry.example/x/y`). */
  repository: string;
  tag: string | null;
  digest: string;
  mediaType: string;
  /** Manifests an index names (in the same repository), committed before it. */
  children: { digest: string; mediaType: string }[];
}

/** The OCI references of deployment YAMLs (components with `repository` and `revision`). */
export function referencesOf(yamls: Iterable<Buffer | string>): { refs: Reference[]; skipped: string[] } {
  const refs = new Map<string, Reference>();
  const skipped = new Set<string>();
  const seen = new Set<string>();
  for (const y of yamls) {
    const text = typeof y === 'string' ? y : y.toString('utf8');
    if (seen.has(text)) continue;
    seen.add(text);
    let components;
    try {
      components = parseApplicationDeployment(text).spec.deploymentProfile.components;
    } catch {
      continue;
    }
    for (const c of components) {
      const { repository, revision } = c.properties as { repository?: string; revision?: string };
      if (!repository || !revision) continue;
      const base = repository.replace(/\/+$/, '');
      try {
        const ref = parseReference(
          revision.startsWith('sha256:') ? `${base}@${revision}` : `${base}:${revision}`,
        );
        refs.set(formatReference(ref), ref);
      } catch {
        skipped.add(`${repository} ${revision}`);
      }
    }
  }
  return { refs: [...refs.values()], skipped: [...skipped] };
}

export interface CollectedArtifacts {
  entries: ArtifactEntry[];
  /** Blobs in bundle order: manifests first (small), then configs, then layers. */
  blobs: BlobInput[];
  /** Blob bytes (layers, configs, manifests) the bundle carries for them. */
  bytes: number;
  /** Artifacts whose manifest the bundle carries (the others the site has). */
  carried: number;
}

interface Source {
  manifest(
    ref: Reference,
    repository: string,
    reference: string,
  ): Promise<{ digest: string; mediaType: string; bytes: Buffer }>;
  blob(ref: Reference, repository: string, d: Descriptor): Promise<BlobInput['source']>;
}

function parseManifestBytes(bytes: Buffer, what: string): AnyManifest {
  try {
    const m = JSON.parse(bytes.toString('utf8')) as AnyManifest;
    if (!m || typeof m !== 'object' || m.schemaVersion !== 2) throw new Error('not an OCI manifest');
    return m;
  } catch (err) {
    throw new OutpostError(
      'invalid-input',
      `${what}: the manifest is not JSON of an OCI manifest: ${(err as Error).message}`,
    );
  }
}

/**
 * Resolves every reference and lists the blobs to carry. `siteHas` holds `repository@digest` of manifests
 * the site reported in its last status bundle: those (and what only they need) are left out.
 */
export async function collectArtifacts(options: {
  refs: Reference[];
  siteHas: ReadonlySet<string>;
  /** HQ's own site registry (roles all), tried first. */
  own: BundleRegistry | undefined;
  /** The artifacts' registries, through a cache. */
  remote: { client: RegistryClient; cache: BlobCache } | undefined;
  logger: Logger;
  signal?: AbortSignal;
  onProgress?: (what: string) => void;
}): Promise<CollectedArtifacts> {
  const { own, remote } = options;
  const ownSource: Source | undefined = own && {
    async manifest(_ref, repository, reference) {
      const m = await own.getManifest(repository, reference);
      if (!m)
        throw new OutpostError(
          'not-found',
          `${repository}:${reference} is not in this server's site registry`,
        );
      return m;
    },
    async blob(_ref, _repository, d) {
      const b = await own.openBlob(d.digest);
      if (!b) throw new OutpostError('not-found', `blob ${d.digest} is not in this server's site registry`);
      await b.close();
      return {
        stream: () => {
          const s = { opened: undefined as Awaited<ReturnType<BundleRegistry['openBlob']>> };
          return (async function* () {
            s.opened = await own.openBlob(d.digest);
            if (!s.opened) throw new OutpostError('not-found', `blob ${d.digest} left the site registry`);
            try {
              for await (const chunk of s.opened.stream()) yield chunk as Uint8Array;
            } finally {
              await s.opened.close();
            }
          })();
        },
      };
    },
  };
  const remoteSource: Source | undefined = remote && {
    async manifest(ref, _repository, reference) {
      const target = reference.startsWith('sha256:')
        ? { registry: ref.registry, repository: ref.repository, digest: reference }
        : { registry: ref.registry, repository: ref.repository, tag: reference };
      const m = await remote.client.fetchManifest(target, { signal: options.signal });
      return { digest: m.digest, mediaType: m.mediaType, bytes: m.bytes };
    },
    async blob(ref, _repository, d) {
      const file = await pullBlobToCache(remote.client, remote.cache, ref, d, {
        signal: options.signal,
      });
      return { file };
    },
  };

  const entries: ArtifactEntry[] = [];
  const manifestBlobs: BlobInput[] = [];
  const configBlobs: BlobInput[] = [];
  const layerBlobs: BlobInput[] = [];
  const queued = new Set<string>();
  let bytes = 0;
  let carried = 0;
  const queueBlob = async (
    list: BlobInput[],
    src: Source,
    ref: Reference,
    repository: string,
    d: Descriptor,
  ) => {
    if (queued.has(d.digest)) return;
    queued.add(d.digest);
    list.push({
      role: 'oci-blob',
      mediaType: d.mediaType,
      digest: d.digest,
      size: d.size,
      source: await src.blob(ref, repository, d),
    });
    bytes += d.size;
  };

  for (const ref of options.refs) {
    options.onProgress?.(formatReference(ref));
    const repository = siteRepository(ref);
    if (!repository) {
      options.logger.warn(
        { ref: formatReference(ref) },
        'artifact host cannot be mirrored in a site registry; left out',
      );
      continue;
    }
    const reference = ref.digest ?? ref.tag ?? 'latest';
    // Own registry first (what operators pushed there), then the artifact's registry.
    let src: Source | undefined;
    let top: { digest: string; mediaType: string; bytes: Buffer } | undefined;
    const errs: string[] = [];
    for (const s of [ownSource, remoteSource]) {
      if (!s) continue;
      try {
        top = await s.manifest(ref, repository, reference);
        src = s;
        break;
      } catch (err) {
        if (options.signal?.aborted) throw err;
        errs.push((err as Error).message);
      }
    }
    if (!src || !top)
      throw new OutpostError(
        'not-found',
        `${formatReference(ref)} is needed by the site's deployments and could not be fetched: ${errs.join('; ') || 'no registry to fetch it from'}`,
      );
    const entry: ArtifactEntry = {
      reference: formatReference(ref),
      repository,
      tag: ref.digest ? null : (ref.tag ?? 'latest'),
      digest: top.digest,
      mediaType: top.mediaType,
      children: [],
    };
    entries.push(entry);
    if (options.siteHas.has(`${repository}@${top.digest}`)) continue;
    carried++;
    const manifests: { digest: string; mediaType: string; bytes: Buffer }[] = [];
    const parsed = parseManifestBytes(top.bytes, entry.reference);
    if (isIndex(parsed)) {
      for (const child of parsed.manifests) {
        const m = await src.manifest(ref, repository, child.digest);
        manifests.push(m);
        entry.children.push({ digest: m.digest, mediaType: m.mediaType });
      }
    }
    manifests.push(top);
    for (const m of manifests) {
      if (!queued.has(m.digest)) {
        queued.add(m.digest);
        manifestBlobs.push({
          role: 'oci-manifest',
          mediaType: m.mediaType,
          digest: m.digest,
          size: m.bytes.length,
          source: { bytes: m.bytes },
        });
        bytes += m.bytes.length;
      }
      const pm = parseManifestBytes(m.bytes, entry.reference);
      if (isIndex(pm)) continue;
      await queueBlob(configBlobs, src, ref, repository, pm.config);
      for (const l of pm.layers) await queueBlob(layerBlobs, src, ref, repository, l);
    }
  }
  return { entries, blobs: [...manifestBlobs, ...configBlobs, ...layerBlobs], bytes, carried };
}

/** The digests a manifest names (config, layers, or an index's manifests). */
export function manifestReferences(
  bytes: Buffer,
  what: string,
): { blobs: Descriptor[]; manifests: Descriptor[] } {
  const m = parseManifestBytes(bytes, what);
  if (isIndex(m)) return { blobs: [], manifests: m.manifests ?? [] };
  if (!m.config || !Array.isArray(m.layers))
    throw new OutpostError('invalid-input', `${what}: the manifest has no config or no layers`);
  return { blobs: [m.config, ...m.layers], manifests: [] };
}
