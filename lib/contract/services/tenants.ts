import { z } from 'zod';
import { command, defineService, query } from '../define.js';
import { nameTextSchema, slugSchema } from './common.js';

export const tenantSchema = z.object({ id: z.string(), name: z.string(), createdAt: z.number() });
export type Tenant = z.infer<typeof tenantSchema>;

export const apiTokenInfoSchema = z.object({
  id: z.string(),
  tenantId: z.string(),
  name: z.string(),
  admin: z.boolean(),
  createdAt: z.number(),
  revokedAt: z.number().nullable(),
});
export type ApiTokenInfo = z.infer<typeof apiTokenInfoSchema>;

export const tenantsService = defineService('tenants', {
  list: query({
    summary: 'All tenants (administrators only).',
    adminOnly: true,
    input: z.object({}).strict().default({}),
    output: z.object({ tenants: z.array(tenantSchema) }),
  }),
  add: command({
    summary: 'Create a tenant (administrators only).',
    adminOnly: true,
    input: z.object({ id: slugSchema, name: nameTextSchema(200).optional() }).strict(),
    output: tenantSchema,
    errors: ['already-exists'],
    auditTarget: (i) => `tenant/${i.id}`,
  }),
  createToken: command({
    summary: 'Create an API token for the current tenant; the secret is shown once.',
    input: z.object({ name: nameTextSchema(200), admin: z.boolean().default(false) }).strict(),
    output: z.object({ token: z.string(), info: apiTokenInfoSchema }),
    auditTarget: (i) => `token/${i.name}`,
    secretResult: true,
  }),
  listTokens: query({
    summary: 'API tokens of the current tenant (never their secrets).',
    input: z.object({}).strict().default({}),
    output: z.object({ tokens: z.array(apiTokenInfoSchema) }),
  }),
  revokeToken: command({
    summary: 'Revoke an API token of the current tenant.',
    input: z.object({ id: z.string().min(1) }).strict(),
    output: apiTokenInfoSchema,
    errors: ['not-found'],
    auditTarget: (i) => `token/${i.id}`,
  }),
});
