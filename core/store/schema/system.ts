import { sql } from 'drizzle-orm';
import { integer, sqliteTable, text, index } from 'drizzle-orm/sqlite-core';

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
    /** Admin tokens may act on any tenant (with an explicit tenant header); others only on their own. */
    admin: integer('admin', { mode: 'boolean' }).notNull().default(false),
    createdAt: integer('created_at').notNull(),
    revokedAt: integer('revoked_at'),
  },
  (t) => [index('api_tokens_tenant').on(t.tenantId)],
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
