import { z } from 'zod';
import { command, defineService, query } from '../define.js';
import { nameTextSchema, slugSchema } from './common.js';
import { roleSchema } from '../roles.js';

export const tenantSchema = z.object({ id: z.string(), name: z.string(), createdAt: z.number() });
export type Tenant = z.infer<typeof tenantSchema>;

export const apiTokenInfoSchema = z.object({
  id: z.string(),
  tenantId: z.string(),
  name: z.string(),
  /** Tenant roles in `tenantId`, or `admin` alone (server-wide). */
  roles: z.array(roleSchema),
  createdAt: z.number(),
  /** When it stops working (ms since epoch); null: never. */
  expiresAt: z.number().nullable(),
  /** Who made it (audit id: `token:<id>`, `operator:local`, ...); revoking that token revokes this one. */
  createdBy: z.string().nullable(),
  revokedAt: z.number().nullable(),
});
export type ApiTokenInfo = z.infer<typeof apiTokenInfoSchema>;

export const tenantsService = defineService('tenants', {
  list: query({
    roles: ['admin'],
    summary: 'All tenants (administrators only).',
    input: z.object({}).strict().default({}),
    output: z.object({ tenants: z.array(tenantSchema) }),
  }),
  add: command({
    roles: ['admin'],
    summary: 'Create a tenant (administrators only).',
    input: z.object({ id: slugSchema, name: nameTextSchema(200).optional() }).strict(),
    output: tenantSchema,
    errors: ['already-exists'],
    auditTarget: (i) => `tenant/${i.id}`,
  }),
  createToken: command({
    roles: ['tenant-admin'],
    summary:
      'Create an API token for the current tenant with the given roles (never more than the caller holds); the secret is shown once.',
    input: z
      .object({
        name: nameTextSchema(200),
        roles: z.array(roleSchema).min(1).max(6),
        /** Seconds until it expires; default: when the caller's own token expires, else never. */
        ttlSeconds: z
          .number()
          .int()
          .positive()
          .max(10 * 366 * 24 * 3600)
          .optional(),
      })
      .strict(),
    output: z.object({ token: z.string(), info: apiTokenInfoSchema }),
    errors: ['forbidden'],
    auditTarget: (i) => `token/${i.name}`,
    secretResult: true,
  }),
  listTokens: query({
    roles: ['tenant-admin'],
    summary:
      'API tokens of the current tenant with their roles (never their secrets, never tokens more powerful than the caller).',
    input: z
      .object({ includeRevoked: z.boolean().default(true) })
      .strict()
      .default({ includeRevoked: true }),
    output: z.object({ tokens: z.array(apiTokenInfoSchema) }),
  }),
  revokeToken: command({
    roles: ['tenant-admin'],
    summary:
      'Revoke an API token of the current tenant, and every token it made: their open event streams end at once.',
    input: z.object({ id: z.string().min(1) }).strict(),
    output: z.object({ token: apiTokenInfoSchema, alsoRevoked: z.array(z.string()) }),
    errors: ['not-found', 'forbidden'],
    auditTarget: (i) => `token/${i.id}`,
  }),
});
