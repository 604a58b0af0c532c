import { blob, integer, sqliteTable, text, primaryKey } from 'drizzle-orm/sqlite-core';

/** Applications of the App Store (one row per Margo application id and tenant). */
export const apps = sqliteTable(
  'apps',
  {
    tenantId: text('tenant_id').notNull(),
    id: text('id').notNull(),
    createdAt: integer('created_at').notNull(),
    updatedAt: integer('updated_at').notNull(),
  },
  (t) => [primaryKey({ columns: [t.tenantId, t.id] })],
);

/** Every version of an application: the normalised description and the exact original bytes. */
export const appVersions = sqliteTable(
  'app_versions',
  {
    tenantId: text('tenant_id').notNull(),
    appId: text('app_id').notNull(),
    version: text('version').notNull(),
    digest: text('digest').notNull(),
    description: text('description', { mode: 'json' }).notNull(),
    original: blob('original', { mode: 'buffer' }).notNull(),
    warnings: text('warnings', { mode: 'json' }).notNull(),
    source: text('source', { mode: 'json' }).notNull(),
    icon: text('icon'),
    createdAt: integer('created_at').notNull(),
    createdBy: text('created_by').notNull(),
  },
  (t) => [primaryKey({ columns: [t.tenantId, t.appId, t.version] })],
);

/** Device models of the Device Store. */
export const deviceModels = sqliteTable(
  'device_models',
  {
    tenantId: text('tenant_id').notNull(),
    id: text('id').notNull(),
    name: text('name').notNull(),
    vendor: text('vendor').notNull(),
    modelNumber: text('model_number').notNull(),
    description: text('description'),
    runtimes: text('runtimes', { mode: 'json' }).$type<string[]>().notNull(),
    deploymentTypes: text('deployment_types', { mode: 'json' }).$type<string[]>().notNull(),
    capabilities: text('capabilities', { mode: 'json' }).notNull(),
    icon: text('icon'),
    documentationUrl: text('documentation_url'),
    original: blob('original', { mode: 'buffer' }).notNull(),
    createdAt: integer('created_at').notNull(),
  },
  (t) => [primaryKey({ columns: [t.tenantId, t.id] })],
);
