import { z } from 'zod';
import { bundleError } from './errors.js';

/**
 * What the control plane puts in a bundle (ADR 0406): the index's `meta` (small, signed with the index)
 * and the roles and shapes of its blobs. A verified bundle whose content does not match these is refused
 * with `bundle/invalid-content` before anything changes.
 */

export const Role = {
  gitPack: 'git-pack',
  ociManifest: 'oci-manifest',
  ociBlob: 'oci-blob',
  app: 'app-description',
  nodes: 'status-nodes',
  statuses: 'status-reports',
  audit: 'status-audit',
  events: 'status-events',
  registry: 'status-registry',
} as const;

export const AppVersionMediaType = 'application/vnd.outpost.app-version.v1+json';
export const NdjsonMediaType = 'application/x-ndjson';
export const JsonMediaType = 'application/json';
export const GitPackMediaType = 'application/x-git-packfile';

const digest = z.string().regex(/^sha256:[a-f0-9]{64}$/);

export const artifactEntrySchema = z.strictObject({
  reference: z.string().max(1024),
  repository: z.string().max(255),
  tag: z.string().max(128).nullable(),
  digest,
  mediaType: z.string().max(255),
  children: z.array(z.strictObject({ digest, mediaType: z.string().max(255) })),
});

export const hqMetaSchema = z.strictObject({
  type: z.literal('outpost.hq-bundle'),
  /** HQ's tenant of the site (the site keeps the desired state under its own tenant). */
  tenant: z.string().max(128),
  full: z.boolean(),
  artifacts: z.array(artifactEntrySchema),
  apps: z.array(z.strictObject({ appId: z.string().max(256), version: z.string().max(256), digest })),
  /** References the bundle could not carry (not OCI). */
  skipped: z.array(z.string().max(1024)),
  carried: z.record(z.string(), z.number()),
});
export type HqMeta = z.infer<typeof hqMetaSchema>;

const range = z.strictObject({ from: z.number().int().min(0), to: z.number().int().min(0) });

export const statusMetaSchema = z.strictObject({
  type: z.literal('outpost.site-status'),
  siteId: z.string().max(128),
  siteName: z.string().max(256),
  desiredState: z.strictObject({ commit: z.string().nullable(), adoptedAt: z.number().nullable() }),
  /** Records the bundle carries: (from, to] of the site's own sequences. */
  ranges: z.strictObject({ statuses: range, audit: range, events: range }),
  full: z.boolean(),
  carried: z.record(z.string(), z.number()),
});
export type StatusMeta = z.infer<typeof statusMetaSchema>;

export const appVersionSchema = z.strictObject({
  appId: z.string().max(256),
  version: z.string().max(256),
  digest,
  /** The description's exact text. */
  original: z.string(),
  icon: z.string().nullable(),
});
export type AppVersionBlob = z.infer<typeof appVersionSchema>;

export const nodeRecordSchema = z.strictObject({
  name: z.string().max(256),
  state: z.enum(['registered', 'enrolled', 'revoked']),
  labels: z.record(z.string(), z.string()),
  capabilities: z.unknown().nullable(),
  capabilitiesAt: z.number().nullable(),
  lastSeenAt: z.number().nullable(),
  enrolledAt: z.number().nullable(),
  revokedAt: z.number().nullable(),
});
export type NodeRecord = z.infer<typeof nodeRecordSchema>;

export const statusRecordSchema = z.strictObject({
  seq: z.number().int().min(1),
  /** The site's client id of the node (`<its tenant>.<name>`). */
  clientId: z.string().max(512),
  deploymentId: z.string().max(256),
  digest: z.string().nullable(),
  receivedAt: z.number(),
  status: z.record(z.string(), z.unknown()),
});
export type StatusRecord = z.infer<typeof statusRecordSchema>;

export const auditRecordSchema = z.strictObject({
  seq: z.number().int().min(1),
  at: z.number(),
  entry: z.record(z.string(), z.unknown()),
});

export const eventRecordSchema = z.strictObject({
  seq: z.number().int().min(1),
  nodeUid: z.string().max(512),
  kind: z.string().max(64),
  body: z.unknown(),
  createdAt: z.number(),
});

export const registryRecordSchema = z.strictObject({
  /** `repository@digest` of every manifest the site registry holds a tag for. */
  manifests: z.array(z.string().max(600)),
});

export function parseMeta<T>(schema: z.ZodType<T>, value: unknown, what: string): T {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  const i = r.error.issues[0]!;
  throw bundleError(
    'bundle/invalid-content',
    `${what}: ${i.path.length ? i.path.join('.') : 'value'}: ${i.message}`,
  );
}
