import crypto from 'node:crypto';
import { z } from 'zod';
import { bundleError } from './errors.js';

/**
 * The bundle file (ADR 0400): a plain ustar archive holding an OCI image layout, entries in this fixed
 * order, small metadata first:
 *
 * ```
 * outpost-bundle.json            the bundle index (JSON, signed)
 * outpost-bundle.json.minisig    its minisign signature
 * oci-layout                     {"imageLayoutVersion":"1.0.0"}
 * index.json                     OCI image index: one manifest, ref name "outpost-bundle"
 * blobs/sha256/<manifest>        OCI image manifest: config below, one layer per blob, in index order
 * blobs/sha256/<config>          OCI image config whose labels repeat the index's header
 * blobs/sha256/<blob>...         every blob the index lists, in the order it lists them
 * (two zero blocks)
 * ```
 *
 * `oci-layout`, `index.json`, the manifest and the config are derived from the signed index byte for
 * byte, so a reader rebuilds and compares them: every byte of the file is signed, derived from what is
 * signed, or content-addressed by a digest the index lists. Every tar header is derived too (names,
 * sizes from the index, mode 0644, owner 0:0, mtime = the index's `created`).
 */

export const BUNDLE_FORMAT = 'outpost-bundle';
export const BUNDLE_VERSION = 1;

export const INDEX_ENTRY = 'outpost-bundle.json';
export const SIGNATURE_ENTRY = 'outpost-bundle.json.minisig';
export const LAYOUT_ENTRY = 'oci-layout';
export const OCI_INDEX_ENTRY = 'index.json';
/** The `org.opencontainers.image.ref.name` of the one manifest: `oci-archive:FILE:outpost-bundle`. */
export const BUNDLE_REF_NAME = 'outpost-bundle';

export const BundleMediaType = {
  /** `artifactType` of the bundle's OCI manifest. */
  artifact: 'application/vnd.outpost.bundle.v1',
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  ociConfig: 'application/vnd.oci.image.config.v1+json',
  octetStream: 'application/octet-stream',
} as const;

/** Annotation and label keys the format owns; blob annotations may not use this prefix. */
export const LABEL_PREFIX = 'dev.outpost.bundle.';
export const ROLE_ANNOTATION = `${LABEL_PREFIX}role`;

export type BundleKind = 'hq-to-site' | 'site-to-hq';

export interface BundleBlob {
  /** `sha256:<64 hex>`: the OCI layout stores blobs under `blobs/sha256/`. */
  digest: string;
  size: number;
  mediaType: string;
  /** What the blob is to the control plane (`git-pack`, `oci-manifest`, `oci-blob`, `status`, ...). */
  role: string;
  annotations?: Record<string, string>;
}

export interface GitRange {
  /** The ref the commits are for, e.g. `refs/heads/main`. */
  ref: string;
  /** The commit the receiver must be at (null: a full bundle, the receiver may have nothing). */
  from: string | null;
  /** The commit the ref moves to. */
  to: string;
}

/** A new key's minisign public key, signed by the old key (ADR 0402). */
export interface KeyRotation {
  /** The new key's public-key file text. */
  publicKey: string;
  /** minisign signature file text, by the old key, over the exact bytes of `publicKey`. */
  signature: string;
}

/** The signed bundle index, format version 1 (ADR 0400, 0401). */
export interface BundleIndex {
  format: typeof BUNDLE_FORMAT;
  version: typeof BUNDLE_VERSION;
  kind: BundleKind;
  /** Who wrote it: HQ's id for `hq-to-site`, the site's id for `site-to-hq`. */
  source: string;
  /** Who may import it: the site's id for `hq-to-site`, HQ's id for `site-to-hq`. */
  target: string;
  /** Strictly increasing per (kind, source, target), from 1. */
  sequence: number;
  /** ISO 8601 UTC. */
  created: string;
  /** ISO 8601 UTC, after `created`; the reader refuses the bundle from this instant on. */
  expires: string;
  /** The last sequence of the other direction the source has imported (null: none yet). */
  acknowledged: number | null;
  git: GitRange | null;
  /** Key id of the key that signed the index. */
  signer: string;
  /** Rotation statements leading from a key the reader trusts to `signer` (oldest first). */
  rotations: KeyRotation[];
  /** Small data the control plane owns (what the bundle carries, for the verify report). */
  meta: Record<string, unknown>;
  /** Every blob, in archive order. */
  blobs: BundleBlob[];
}

export const ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
const DIGEST = /^sha256:[a-f0-9]{64}$/;
const ISO_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?Z$/;
const COMMIT = /^(?:[a-f0-9]{40}|[a-f0-9]{64})$/;
// RFC 6838 type/subtype with optional +suffix and parameters kept out: what OCI media types look like.
const MEDIA_TYPE = /^[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}\/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}$/;
const ROLE = /^[a-z0-9][a-z0-9.-]{0,63}$/;
export const MAX_ROTATIONS = 8;

const isoTime = z
  .string()
  .regex(ISO_UTC, 'an ISO 8601 UTC time (YYYY-MM-DDTHH:MM:SSZ)')
  .refine((s) => Number.isFinite(Date.parse(s)) && Date.parse(s) >= 0, 'a valid time after 1970');

const indexSchema = z
  .strictObject({
    format: z.literal(BUNDLE_FORMAT),
    version: z.literal(BUNDLE_VERSION),
    kind: z.enum(['hq-to-site', 'site-to-hq']),
    source: z.string().regex(ID_PATTERN, 'an id (letters, digits, ".", "_", "-")'),
    target: z.string().regex(ID_PATTERN, 'an id (letters, digits, ".", "_", "-")'),
    sequence: z.number().int().min(1).max(Number.MAX_SAFE_INTEGER),
    created: isoTime,
    expires: isoTime,
    acknowledged: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER).nullable(),
    git: z
      .strictObject({
        ref: z
          .string()
          .max(255)
          .regex(/^refs\/[A-Za-z0-9._/-]+$/, 'a full ref name (refs/...)'),
        from: z.string().regex(COMMIT, 'a commit id').nullable(),
        to: z.string().regex(COMMIT, 'a commit id'),
      })
      .nullable(),
    signer: z.string().regex(/^[0-9A-F]{16}$/, 'a minisign key id'),
    rotations: z
      .array(z.strictObject({ publicKey: z.string().max(1024), signature: z.string().max(9216) }))
      .max(MAX_ROTATIONS),
    meta: z.record(z.string(), z.unknown()),
    blobs: z.array(
      z.strictObject({
        digest: z.string().regex(DIGEST, 'a sha256 digest'),
        size: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
        mediaType: z.string().regex(MEDIA_TYPE, 'a media type'),
        role: z.string().regex(ROLE, 'a role (lower-case letters, digits, ".", "-")'),
        annotations: z
          .record(
            z
              .string()
              .min(1)
              .max(255)
              .refine((k) => !k.startsWith(LABEL_PREFIX), `keys starting with ${LABEL_PREFIX} are reserved`),
            z.string().max(4096),
          )
          .optional(),
      }),
    ),
  })
  .superRefine((idx, ctx) => {
    if (Date.parse(idx.expires) <= Date.parse(idx.created))
      ctx.addIssue({ code: 'custom', path: ['expires'], message: 'must be after created' });
    const seen = new Set<string>();
    idx.blobs.forEach((b, i) => {
      if (seen.has(b.digest))
        ctx.addIssue({ code: 'custom', path: ['blobs', i, 'digest'], message: 'listed twice' });
      seen.add(b.digest);
    });
  });

/** Checks a parsed index; `bundle/unsupported-version` for another format version, else `bundle/invalid-index`. */
export function validateIndex(value: unknown): BundleIndex {
  if (value && typeof value === 'object' && 'version' in value) {
    const v = (value as { version: unknown }).version;
    if (v !== BUNDLE_VERSION && (value as { format?: unknown }).format === BUNDLE_FORMAT)
      throw bundleError(
        'bundle/unsupported-version',
        `bundle format version ${String(v)} is not supported (this reader knows version ${BUNDLE_VERSION}); upgrade Outpost here`,
        { version: v },
      );
  }
  const r = indexSchema.safeParse(value);
  if (!r.success) {
    const issue = r.error.issues[0]!;
    const where = issue.path.length ? issue.path.join('.') : 'index';
    throw bundleError('bundle/invalid-index', `the bundle index is invalid: ${where}: ${issue.message}`, {
      issues: r.error.issues.slice(0, 20).map((i) => ({ path: i.path.join('.'), message: i.message })),
    });
  }
  return r.data as BundleIndex;
}

/** The index as the writer serialises it (indented JSON, one final newline). */
export function serializeIndex(index: BundleIndex): Buffer {
  return Buffer.from(`${JSON.stringify(index, null, 2)}\n`, 'utf8');
}

export function sha256(bytes: Uint8Array): string {
  return `sha256:${crypto.createHash('sha256').update(bytes).digest('hex')}`;
}

export function blobEntryName(digest: string): string {
  return `blobs/sha256/${digest.slice('sha256:'.length)}`;
}

/** The site a bundle speaks for: its target for HQ bundles, its source for status bundles. */
export function siteOf(index: Pick<BundleIndex, 'kind' | 'source' | 'target'>): string {
  return index.kind === 'hq-to-site' ? index.target : index.source;
}

/** The tar mtime of every entry: the index's `created`, in whole seconds. */
export function entryMtime(index: Pick<BundleIndex, 'created'>): number {
  return Math.floor(Date.parse(index.created) / 1000);
}

export interface DerivedEntries {
  ociLayout: Buffer;
  ociIndex: Buffer;
  manifest: Buffer;
  manifestDigest: string;
  config: Buffer;
  configDigest: string;
}

/**
 * The OCI layout files derived from the index (and the digest of its exact signed bytes). Compact JSON
 * with a fixed key order, so the same index always gives the same bytes. The manifest's config is an
 * OCI image config (with empty architecture and os) rather than an artifact config, because
 * `skopeo inspect` refuses non-image configs; its labels show the bundle's header.
 */
export function deriveEntries(index: BundleIndex, indexDigest: string): DerivedEntries {
  const config = Buffer.from(
    JSON.stringify({
      created: index.created,
      architecture: '',
      os: '',
      config: {
        Labels: {
          [`${LABEL_PREFIX}kind`]: index.kind,
          [`${LABEL_PREFIX}source`]: index.source,
          [`${LABEL_PREFIX}target`]: index.target,
          [`${LABEL_PREFIX}sequence`]: String(index.sequence),
          [`${LABEL_PREFIX}expires`]: index.expires,
          [`${LABEL_PREFIX}signer`]: index.signer,
          [`${LABEL_PREFIX}index`]: indexDigest,
        },
      },
      rootfs: { type: 'layers', diff_ids: [] },
    }),
    'utf8',
  );
  const configDigest = sha256(config);
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: BundleMediaType.ociManifest,
      artifactType: BundleMediaType.artifact,
      config: { mediaType: BundleMediaType.ociConfig, digest: configDigest, size: config.length },
      layers: index.blobs.map((b) => ({
        mediaType: b.mediaType,
        digest: b.digest,
        size: b.size,
        annotations: { [ROLE_ANNOTATION]: b.role, ...(b.annotations ?? {}) },
      })),
      annotations: {
        'org.opencontainers.image.created': index.created,
        'org.opencontainers.image.title': `outpost bundle ${index.source} to ${index.target} #${index.sequence}`,
      },
    }),
    'utf8',
  );
  const manifestDigest = sha256(manifest);
  const ociIndex = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: BundleMediaType.ociIndex,
      manifests: [
        {
          mediaType: BundleMediaType.ociManifest,
          artifactType: BundleMediaType.artifact,
          digest: manifestDigest,
          size: manifest.length,
          annotations: { 'org.opencontainers.image.ref.name': BUNDLE_REF_NAME },
        },
      ],
    }),
    'utf8',
  );
  const ociLayout = Buffer.from('{"imageLayoutVersion":"1.0.0"}', 'utf8');
  return { ociLayout, ociIndex, manifest, manifestDigest, config, configDigest };
}

/** Every entry of a bundle, in archive order, with its size. */
export function entryPlan(
  index: BundleIndex,
  indexBytes: number,
  signatureBytes: number,
  derived: DerivedEntries,
): { name: string; size: number; bytes?: Buffer; digest?: string }[] {
  return [
    { name: INDEX_ENTRY, size: indexBytes },
    { name: SIGNATURE_ENTRY, size: signatureBytes },
    { name: LAYOUT_ENTRY, size: derived.ociLayout.length, bytes: derived.ociLayout },
    { name: OCI_INDEX_ENTRY, size: derived.ociIndex.length, bytes: derived.ociIndex },
    {
      name: blobEntryName(derived.manifestDigest),
      size: derived.manifest.length,
      bytes: derived.manifest,
      digest: derived.manifestDigest,
    },
    {
      name: blobEntryName(derived.configDigest),
      size: derived.config.length,
      bytes: derived.config,
      digest: derived.configDigest,
    },
    ...index.blobs.map((b) => ({ name: blobEntryName(b.digest), size: b.size, digest: b.digest })),
  ];
}

/** The trusted comment of an index signature: minisign's fields plus what the bundle is. */
export function indexTrustedComment(
  index: Pick<BundleIndex, 'created' | 'kind' | 'source' | 'target' | 'sequence'>,
): string {
  return `timestamp:${entryMtime(index)}\tfile:${INDEX_ENTRY}\tbundle:${index.kind} ${index.source} to ${index.target} #${index.sequence}`;
}

/** The untrusted comment a bundle's signature file carries (the reader requires exactly this). */
export function indexUntrustedComment(keyId: string): string {
  return `signature from outpost bundle key ${keyId}`;
}

/** A name for the file: `<source>-to-<target>-<sequence>.outpost.tar`. */
export function bundleFileName(index: Pick<BundleIndex, 'source' | 'target' | 'sequence'>): string {
  return `${index.source}-to-${index.target}-${index.sequence}.outpost.tar`;
}
