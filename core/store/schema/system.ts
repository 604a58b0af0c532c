import { sql } from 'drizzle-orm';
import { integer, sqliteTable, text, index, primaryKey } from 'drizzle-orm/sqlite-core';

/** Tenants: every record of the catalog, fleet and deployments belongs to exactly one. */
export const tenants = sqliteTable('tenants', {
  id: text('id').primaryKey(),
  name: text('name').notNull(),
  createdAt: integer('created_at').notNull(),
});

/** API tokens for the console API (CLI, web portal). Only a SHA-256 of the secret is stored. */
export const apiTokens = sqliteTable(
  'api_tokens',
  {
    id: text('id').primaryKey(),
    tenantId: text('tenant_id')
      .notNull()
      .references(() => tenants.id),
    name: text('name').notNull(),
    tokenHash: text('token_hash').notNull().unique(),
    /**
     * Tenant roles in `tenant_id`, or `["admin"]` (server-wide: may act on any tenant with an explicit
     * tenant header). ADR 0520.
     */
    roles: text('roles', { mode: 'json' }).$type<string[]>().notNull(),
    createdAt: integer('created_at').notNull(),
    /** When it stops working (ms since epoch); null: never. */
    expiresAt: integer('expires_at'),
    /** Who made it (`token:<id>`, `operator:local`, ...): revoking a token revokes the ones it made. */
    createdBy: text('created_by'),
    revokedAt: integer('revoked_at'),
  },
  (t) => [index('api_tokens_tenant').on(t.tenantId), index('api_tokens_created_by').on(t.createdBy)],
);

/**
 * Append-only audit log of every state-changing call: who, what, when, result.
 * Triggers (see the migration) refuse UPDATE and DELETE.
 */
export const audit = sqliteTable(
  'audit',
  {
    seq: integer('seq').primaryKey({ autoIncrement: true }),
    at: integer('at').notNull(),
    tenantId: text('tenant_id'),
    actor: text('actor').notNull(),
    transport: text('transport').notNull(),
    /** Where the call came from (ADR 0232): console, cli, agent, bundle or api. */
    source: text('source', { enum: ['console', 'cli', 'agent', 'bundle', 'api'] })
      .notNull()
      .default('api'),
    action: text('action').notNull(),
    target: text('target'),
    input: text('input'),
    result: text('result', { enum: ['ok', 'error'] }).notNull(),
    errorCode: text('error_code'),
    errorMessage: text('error_message'),
    requestId: text('request_id'),
    durationMs: integer('duration_ms'),
  },
  (t) => [
    index('audit_tenant_at').on(t.tenantId, t.at),
    // The node page reads the entries about one node.
    index('audit_tenant_target').on(t.tenantId, t.target),
    index('audit_tenant_source').on(t.tenantId, t.source),
  ],
);

/** Small key/value facts about this installation (instance id, first start). */
export const meta = sqliteTable('meta', {
  key: text('key').primaryKey(),
  value: text('value').notNull(),
  updatedAt: integer('updated_at')
    .notNull()
    .default(sql`(unixepoch() * 1000)`),
});

/**
 * Idempotency keys of state-changing calls (ADR 0480): written in the transaction that commits the
 * call's change, together with its audit row; the answer is added once the call returns. A retry with
 * the same key gets that answer (or, when the process died before answering, the record it made)
 * instead of making the change again. Kept for a day.
 */
export const idempotencyKeys = sqliteTable(
  'idempotency_keys',
  {
    tenantId: text('tenant_id').notNull(),
    key: text('key').notNull(),
    actor: text('actor').notNull(),
    action: text('action').notNull(),
    /** sha256 of the validated input: the same key with other input is refused. */
    inputDigest: text('input_digest').notNull(),
    /** The record the call made or acted on (e.g. a new deployment's id), known at commit. */
    ref: text('ref'),
    /** The answer as JSON; null while the call runs, and when it is not kept (secrets, too large). */
    result: text('result'),
    auditSeq: integer('audit_seq'),
    createdAt: integer('created_at').notNull(),
  },
  (t) => [primaryKey({ columns: [t.tenantId, t.key] }), index('idempotency_keys_created').on(t.createdAt)],
);
