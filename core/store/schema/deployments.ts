import { blob, index, integer, primaryKey, sqliteTable, text } from 'drizzle-orm/sqlite-core';

/**
 * Deployments (CO): the operator's intent. The deployments repository in git is a projection of these
 * rows (rebuilt from them at start), so a crash between the database and git loses nothing.
 */
export const deployments = sqliteTable(
  'deployments',
  {
    id: text('id').primaryKey(),
    tenantId: text('tenant_id').notNull(),
    name: text('name').notNull(),
    appId: text('app_id').notNull(),
    version: text('version').notNull(),
    profileId: text('profile_id').notNull(),
    /** Resolved parameters: name -> { value, targets }. */
    parameters: text('parameters', { mode: 'json' }).notNull(),
    /** What the operator asked for: explicit nodes, or a site with a label selector. */
    target: text('target', { mode: 'json' }).notNull(),
    /** active | removing | removed */
    state: text('state', { enum: ['active', 'removing', 'removed'] }).notNull(),
    /** Rollout plan and progress (JSON), null for all-at-once. */
    rollout: text('rollout', { mode: 'json' }),
    /** Bumped by every operator action on this deployment. */
    generation: integer('generation').notNull(),
    /** Last git commit that reflects this deployment's rows (null while a write is pending). */
    commit: text('commit'),
    createdAt: integer('created_at').notNull(),
    updatedAt: integer('updated_at').notNull(),
    createdBy: text('created_by').notNull(),
  },
  (t) => [index('deployments_tenant').on(t.tenantId)],
);

/** One row per (deployment, node): the desired YAML and the last reported status. */
export const deploymentTargets = sqliteTable(
  'deployment_targets',
  {
    deploymentId: text('deployment_id')
      .notNull()
      .references(() => deployments.id, { onDelete: 'cascade' }),
    nodeUid: text('node_uid').notNull(),
    tenantId: text('tenant_id').notNull(),
    siteId: text('site_id').notNull(),
    nodeName: text('node_name').notNull(),
    /** present: the node must run it; absent: it must be removed (file deleted from git). */
    desired: text('desired', { enum: ['present', 'absent'] }).notNull(),
    /** The revision (deployment generation) this node is told to run; 0 = not told anything yet. */
    generation: integer('generation').notNull(),
    /** The application version of that revision. */
    version: text('version').notNull(),
    /** The revision the node was told before (for rollback), and the digest of its YAML. */
    prevGeneration: integer('prev_generation'),
    prevYamlDigest: text('prev_yaml_digest'),
    /** The exact YAML written to git and served to the node. */
    yaml: blob('yaml', { mode: 'buffer' }),
    yamlDigest: text('yaml_digest'),
    /** Reservation made by placement (for capacity accounting). */
    reservation: text('reservation', { mode: 'json' }),
    /** Last status the node reported for this deployment. */
    state: text('state'),
    /** When that state was reached: the report's event time (ADR 0169), else when it was received. */
    stateAt: integer('state_at'),
    /** When the last report reached this server (later than stateAt when it was queued on the way). */
    receivedAt: integer('received_at'),
    adoptedManifestVersion: integer('adopted_manifest_version'),
    status: text('status', { mode: 'json' }),
    /** Digest of the YAML the node's last report refers to (resolved by the LO from adoptedManifestVersion). */
    reportedDigest: text('reported_digest'),
    assignedAt: integer('assigned_at').notNull(),
  },
  (t) => [primaryKey({ columns: [t.deploymentId, t.nodeUid] }), index('targets_node').on(t.nodeUid)],
);

/** Every status report received (history), in arrival order. */
export const statusReports = sqliteTable(
  'status_reports',
  {
    seq: integer('seq').primaryKey({ autoIncrement: true }),
    deploymentId: text('deployment_id').notNull(),
    nodeUid: text('node_uid').notNull(),
    deviceId: text('device_id'),
    state: text('state').notNull(),
    adoptedManifestVersion: integer('adopted_manifest_version'),
    /** Digest of the YAML the report is about (resolved by the LO), when known. */
    digest: text('digest'),
    body: text('body', { mode: 'json' }).notNull(),
    receivedAt: integer('received_at').notNull(),
    /** When the node made the report (its outbox time, carried end to end, ADR 0169); null if unknown. */
    eventAt: integer('event_at'),
  },
  (t) => [index('status_reports_deployment').on(t.deploymentId, t.seq)],
);

/**
 * Idempotent report handling (ADR 0168): per origin (a site's node as the bus names it), the highest
 * sequence number applied, written in the same transaction as the report's effect. A report at or below
 * it is a replay (after a crash of this server before its stream cursor was saved) and changes nothing.
 */
export const reportCursors = sqliteTable('report_cursors', {
  origin: text('origin').primaryKey(),
  seq: integer('seq').notNull(),
  appliedAt: integer('applied_at').notNull(),
});

/** Every revision of a deployment (an operator action that changed what nodes run). */
export const deploymentRevisions = sqliteTable(
  'deployment_revisions',
  {
    deploymentId: text('deployment_id')
      .notNull()
      .references(() => deployments.id, { onDelete: 'cascade' }),
    generation: integer('generation').notNull(),
    version: text('version').notNull(),
    profileId: text('profile_id').notNull(),
    parameters: text('parameters', { mode: 'json' }).notNull(),
    createdAt: integer('created_at').notNull(),
    createdBy: text('created_by').notNull(),
  },
  (t) => [primaryKey({ columns: [t.deploymentId, t.generation] })],
);
