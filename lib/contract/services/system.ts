import { z } from 'zod';
import { AUDIT_SOURCES, defineService, query } from '../define.js';
import { roleSchema } from '../roles.js';

export const natsStateSchema = z.object({
  state: z.enum(['disabled', 'missing-binary', 'starting', 'running', 'restarting', 'stopped', 'failed']),
  /** Client URL of the embedded server when it runs. */
  url: z.string().nullable(),
  message: z.string().nullable(),
  /** When the state last changed (ms since epoch). */
  since: z.number(),
  restarts: z.number().int().nonnegative(),
});
export type NatsState = z.infer<typeof natsStateSchema>;

export const systemStatusSchema = z.object({
  product: z.literal('Outpost'),
  version: z.string(),
  role: z.enum(['co', 'lo', 'all']),
  roles: z.array(z.enum(['co', 'lo'])),
  startedAt: z.number(),
  uptimeSeconds: z.number().nonnegative(),
  now: z.number(),
  /** The data folder: administrators only (null for everyone else). */
  home: z.string().nullable(),
  tenant: z.string(),
  site: z.object({ id: z.string(), name: z.string() }),
  /** The database file is shown to administrators only (null for everyone else). */
  database: z.object({ file: z.string().nullable(), schemaVersion: z.string() }),
  nats: natsStateSchema.nullable(),
  /**
   * The LO's desired state for the caller's tenant: the commit it serves and the last refusal (a
   * rewritten history, an unreachable remote), with times. Null where this server runs no LO.
   */
  desiredState: z
    .object({
      commit: z.string().nullable(),
      /** When the commit was adopted (a failed fetch never moves it). */
      adoptedAt: z.number().nullable(),
      /** When the source was last read successfully. */
      checkedAt: z.number().nullable().optional(),
      lastError: z.string().nullable(),
      lastErrorAt: z.number().nullable(),
      /** refused: a rewritten history, nothing changed; unreachable: network or timeout; error: other. */
      lastErrorKind: z.enum(['refused', 'unreachable', 'error']).nullable().optional(),
      /** The first failure of the current run of failures. */
      failingSince: z.number().nullable().optional(),
    })
    .nullable(),
  counts: z.object({
    /** How many tenants the server has: administrators only (null for everyone else). */
    tenants: z.number().int().nonnegative().nullable(),
    apps: z.number().int().nonnegative(),
    deviceModels: z.number().int().nonnegative(),
    sites: z.number().int().nonnegative(),
    nodes: z.number().int().nonnegative(),
    deployments: z.number().int().nonnegative(),
  }),
});
export type SystemStatus = z.infer<typeof systemStatusSchema>;

/** Who the caller is and what it may do (the console hides what its roles cannot do). */
export const whoamiSchema = z.object({
  /** The principal's id as the audit log records it (`token:ab12cd34`, `operator:local`, ...). */
  id: z.string(),
  name: z.string(),
  /** The principal's own tenant. */
  tenantId: z.string(),
  /** The tenant this call acts on (an administrator may choose another). */
  actingTenant: z.string(),
  roles: z.array(roleSchema),
  /** When the credential expires (ms since epoch); null: never. */
  expiresAt: z.number().nullable(),
  /**
   * What the caller may do: every method of the contract (`apps.add`, ...) with the server's answer for
   * these roles, and the roles it needs. The console hides or disables what is not allowed and shows
   * `reason`; it never decides itself.
   */
  access: z.record(
    z.string(),
    z.object({ allowed: z.boolean(), needs: z.array(roleSchema), reason: z.string() }),
  ),
});
export type Whoami = z.infer<typeof whoamiSchema>;

export const auditEntrySchema = z.object({
  seq: z.number().int(),
  at: z.number(),
  tenantId: z.string().nullable(),
  actor: z.string(),
  transport: z.string(),
  /** Where the call came from: console, cli, agent, bundle or api (ADR 0232). */
  source: z.enum(AUDIT_SOURCES),
  action: z.string(),
  target: z.string().nullable(),
  input: z.unknown().nullable(),
  result: z.enum(['ok', 'error']),
  errorCode: z.string().nullable(),
  errorMessage: z.string().nullable(),
  durationMs: z.number().nullable(),
});
export type AuditEntry = z.infer<typeof auditEntrySchema>;

export const auditQuerySchema = z
  .object({
    limit: z.number().int().min(1).max(1000).default(100),
    /** Matching entries to skip, newest first (paging by page number). */
    offset: z.number().int().min(0).max(10_000_000).default(0),
    /** Entries with a sequence number below this (paging by cursor). */
    before: z.number().int().positive().optional(),
    /** The exact action (`nodes.label`). */
    action: z.string().max(200).optional(),
    /** The exact target (`node/edge-1`). */
    target: z.string().max(500).optional(),
    result: z.enum(['ok', 'error']).optional(),
    /** Only calls from this source (console, cli, agent, bundle, api). */
    source: z.enum(AUDIT_SOURCES).optional(),
    /** Entries at or after this time (ms since epoch). */
    since: z.number().int().nonnegative().optional(),
    /** Text found (ASCII case-insensitive) in the actor, action, target, error or input. */
    search: z.string().max(200).optional(),
  })
  .strict()
  .default({ limit: 100, offset: 0 });
export type AuditQuery = z.input<typeof auditQuerySchema>;

export const systemService = defineService('system', {
  status: query({
    roles: ['viewer'],
    summary:
      'Version, roles, uptime, database schema, NATS state and record counts (the data folder, database file and tenant count for administrators only).',
    input: z.object({}).strict().default({}),
    output: systemStatusSchema,
  }),
  whoami: query({
    roles: ['viewer'],
    summary: 'The caller: its id, tenant, roles and expiry, and which methods those roles may call.',
    input: z.object({}).strict().default({}),
    output: whoamiSchema,
  }),
  audit: query({
    roles: ['viewer'],
    summary:
      'The audit log of the current tenant, newest first: filtered and paged by the server, with the number of matches.',
    input: auditQuerySchema,
    output: z.object({
      entries: z.array(auditEntrySchema),
      /** Entries matching the filters, over all pages. */
      total: z.number().int().nonnegative(),
    }),
  }),
});
