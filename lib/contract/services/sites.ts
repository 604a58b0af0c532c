import { z } from 'zod';
import { command, defineService, query } from '../define.js';
import { freeTextSchema, labelsSchema, nameTextSchema, slugSchema } from './common.js';

export const orchestratorSchema = z.object({
  id: z.string(),
  siteId: z.string(),
  name: z.string(),
  /** Base URL of its Margo Management Interface, when known. */
  mmiUrl: z.string().nullable(),
  caFingerprint: z.string().nullable(),
  embedded: z.boolean(),
  lastSeenAt: z.number().nullable(),
  createdAt: z.number(),
});
export type Orchestrator = z.infer<typeof orchestratorSchema>;

export const siteSchema = z.object({
  id: z.string(),
  name: z.string(),
  description: z.string().nullable(),
  labels: z.record(z.string(), z.string()),
  /** Who serves the site's nodes: this server's embedded LO, or a remote LO. */
  servedBy: z.enum(['embedded', 'remote']),
  orchestrator: orchestratorSchema.nullable(),
  /** Reached only by signed bundles on removable drives (no bus link, no git push). */
  airGapped: z.boolean(),
  /**
   * The bundles exchanged with the site (air-gapped sites, and any site a bundle went to): the newest each
   * way, and `asOf`, when the last status bundle from the site was made: the age of what HQ knows of it.
   */
  bundles: z
    .object({
      toSite: z.object({ sequence: z.number(), created: z.number(), at: z.number() }).nullable(),
      fromSite: z.object({ sequence: z.number(), created: z.number(), at: z.number() }).nullable(),
      /** The newer of the two bundles' creation times. */
      lastBundleAt: z.number().nullable(),
      asOf: z.number().nullable(),
    })
    .nullable(),
  nodeCount: z.number().int().nonnegative(),
  createdAt: z.number(),
});
export type Site = z.infer<typeof siteSchema>;

export const sitesService = defineService('sites', {
  list: query({
    roles: ['viewer'],
    summary: 'Sites of the tenant.',
    input: z.object({}).strict().default({}),
    output: z.object({ sites: z.array(siteSchema) }),
  }),
  get: query({
    roles: ['viewer'],
    summary: 'One site.',
    input: z.object({ id: z.string().min(1) }).strict(),
    output: siteSchema,
    errors: ['not-found'],
  }),
  add: command({
    roles: ['tenant-admin'],
    summary: 'Create a site.',
    input: z
      .object({
        id: slugSchema,
        name: nameTextSchema(200).optional(),
        description: freeTextSchema(2000).optional(),
        labels: labelsSchema.optional(),
        /** Default `embedded`, or `remote` when air-gapped. */
        servedBy: z.enum(['embedded', 'remote']).optional(),
        /** Reached only by bundles (served by its own LO, with no bus link and no git push). */
        airGapped: z.boolean().default(false),
      })
      .strict(),
    output: siteSchema,
    errors: ['already-exists', 'conflict'],
    auditTarget: (i) => `site/${i.id}`,
  }),
  set: command({
    roles: ['tenant-admin'],
    summary: 'Change how a site is reached: air-gapped (bundles only) or connected.',
    input: z.object({ id: z.string().min(1), airGapped: z.boolean() }).strict(),
    output: siteSchema,
    errors: ['not-found', 'conflict'],
    auditTarget: (i) => `site/${i.id}`,
  }),
  remove: command({
    roles: ['tenant-admin'],
    summary: 'Remove a site that has no nodes.',
    input: z.object({ id: z.string().min(1) }).strict(),
    output: z.object({ id: z.string() }),
    errors: ['not-found', 'conflict'],
    auditTarget: (i) => `site/${i.id}`,
  }),
  addOrchestrator: command({
    roles: ['tenant-admin'],
    summary: 'Register the remote Local Orchestrator that serves a site.',
    input: z
      .object({
        id: slugSchema,
        siteId: z.string().min(1),
        name: nameTextSchema(200).optional(),
        mmiUrl: z.string().url().optional(),
        caFingerprint: z
          .string()
          .regex(/^sha256:[0-9a-f]{64}$/)
          .optional(),
      })
      .strict(),
    output: orchestratorSchema,
    errors: ['not-found', 'already-exists'],
    auditTarget: (i) => `orchestrator/${i.id}`,
  }),
  listOrchestrators: query({
    roles: ['viewer'],
    summary: 'Local Orchestrators known to this CO.',
    input: z.object({}).strict().default({}),
    output: z.object({ orchestrators: z.array(orchestratorSchema) }),
  }),
});
