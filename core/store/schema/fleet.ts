import { integer, sqliteTable, text, index, primaryKey, uniqueIndex } from 'drizzle-orm/sqlite-core';

/** Sites of a tenant. `orchestratorId` null: served by this server's embedded LO. */
export const sites = sqliteTable(
  'sites',
  {
    tenantId: text('tenant_id').notNull(),
    id: text('id').notNull(),
    name: text('name').notNull(),
    description: text('description'),
    labels: text('labels', { mode: 'json' }).$type<Record<string, string>>().notNull(),
    servedBy: text('served_by', { enum: ['embedded', 'remote'] }).notNull(),
    /** Reached only by signed bundles on removable drives (no bus link, no git push). */
    airGapped: integer('air_gapped', { mode: 'boolean' }).notNull().default(false),
    createdAt: integer('created_at').notNull(),
  },
  (t) => [primaryKey({ columns: [t.tenantId, t.id] })],
);

/** Remote Local Orchestrators (one per site). */
export const orchestrators = sqliteTable(
  'orchestrators',
  {
    tenantId: text('tenant_id').notNull(),
    id: text('id').notNull(),
    siteId: text('site_id').notNull(),
    name: text('name').notNull(),
    mmiUrl: text('mmi_url'),
    caFingerprint: text('ca_fingerprint'),
    lastSeenAt: integer('last_seen_at'),
    createdAt: integer('created_at').notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.tenantId, t.id] }),
    uniqueIndex('orchestrators_site').on(t.tenantId, t.siteId),
  ],
);

/**
 * Nodes (hosts running the agent). `uid` = `<tenant>.<name>` is global and is the node's Margo
 * client id (the last segment of its SPIFFE ID).
 */
export const nodes = sqliteTable(
  'nodes',
  {
    uid: text('uid').primaryKey(),
    tenantId: text('tenant_id').notNull(),
    name: text('name').notNull(),
    siteId: text('site_id').notNull(),
    modelId: text('model_id'),
    labels: text('labels', { mode: 'json' }).$type<Record<string, string>>().notNull(),
    cordoned: integer('cordoned', { mode: 'boolean' }).notNull().default(false),
    state: text('state', { enum: ['registered', 'enrolled', 'revoked'] }).notNull(),
    capabilities: text('capabilities', { mode: 'json' }),
    capabilitiesAt: integer('capabilities_at'),
    lastSeenAt: integer('last_seen_at'),
    enrolledAt: integer('enrolled_at'),
    revokedAt: integer('revoked_at'),
    createdAt: integer('created_at').notNull(),
  },
  (t) => [
    uniqueIndex('nodes_tenant_name').on(t.tenantId, t.name),
    index('nodes_tenant_site').on(t.tenantId, t.siteId),
  ],
);

/** Devices reported by a node besides itself: see-thru gateway children (`gw/child`). */
export const nodeDevices = sqliteTable(
  'node_devices',
  {
    nodeUid: text('node_uid')
      .notNull()
      .references(() => nodes.uid, { onDelete: 'cascade' }),
    deviceId: text('device_id').notNull(),
    capabilities: text('capabilities', { mode: 'json' }).notNull(),
    updatedAt: integer('updated_at').notNull(),
  },
  (t) => [primaryKey({ columns: [t.nodeUid, t.deviceId] })],
);
