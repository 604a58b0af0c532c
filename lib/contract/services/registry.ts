import { z } from 'zod';
import { command, defineService, query } from '../define.js';

export const registryStatusSchema = z.object({
  /** Whether this server runs the site registry (roles lo and all, registry.enabled). */
  enabled: z.boolean(),
  /** HTTPS URL (certificate from the site CA); null when not listening. */
  url: z.string().nullable(),
  /** Plain-HTTP URL on 127.0.0.1 for tools on this machine; null when off. */
  loopbackUrl: z.string().nullable(),
  usedBytes: z.number().int().nonnegative(),
  quotaBytes: z.number().int().nonnegative().nullable(),
  freeBytes: z.number().int().nonnegative(),
  repositories: z.array(z.string()),
});
export type RegistryStatus = z.infer<typeof registryStatusSchema>;

const gcRootSchema = z.object({ repository: z.string(), reference: z.string() });

export const registryGcResultSchema = z.object({
  dryRun: z.boolean(),
  manifestsKept: z.number().int().nonnegative(),
  manifestsRemoved: z.number().int().nonnegative(),
  blobsKept: z.number().int().nonnegative(),
  blobsRemoved: z.number().int().nonnegative(),
  bytesKept: z.number().int().nonnegative(),
  bytesRemoved: z.number().int().nonnegative(),
  uploadsRemoved: z.number().int().nonnegative(),
  /** Artifacts deployments reference that the site registry does not hold. */
  missingRoots: z.array(gcRootSchema),
  /** Blobs removed (or removable, in a dry run); at most the first 1,000. */
  removed: z.array(z.object({ digest: z.string(), size: z.number().int().nonnegative() })),
});
export type RegistryGcResult = z.infer<typeof registryGcResultSchema>;

/** The site registry (OCI Distribution API served by the LO): its state and garbage collection. */
export const registryService = defineService('registry', {
  status: query({
    summary: 'Where the site registry listens, how much it stores, and its repositories.',
    input: z.object({}).strict().default({}),
    output: registryStatusSchema,
  }),
  gc: command({
    summary:
      'Remove blobs and untagged manifests that no tag and no deployment references (a dry run only reports them).',
    adminOnly: true,
    input: z
      .object({
        dryRun: z.boolean().default(false),
        /** Keep everything younger than this; default registry.gcGraceSeconds. */
        graceSeconds: z.number().nonnegative().optional(),
      })
      .strict()
      .default({ dryRun: false }),
    output: registryGcResultSchema,
    errors: ['registry/disabled'],
    auditTarget: () => 'site-registry',
  }),
});
