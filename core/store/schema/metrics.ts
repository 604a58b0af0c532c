import { index, integer, primaryKey, sqliteTable, text } from 'drizzle-orm/sqlite-core';

/**
 * A compact time series of fleet health (ADR 0228): one row per (tenant, series, subject, step, bucket),
 * the counts seen at that moment as JSON (`{"online":12,"stale":1,...}`). Two resolutions: five-minute
 * samples kept for two days, hourly ones (the last sample of each hour) kept for ninety.
 */
export const metricSamples = sqliteTable(
  'metric_samples',
  {
    tenantId: text('tenant_id').notNull(),
    /** `presence` (nodes by presence), `deployments` (deployment targets by state), `site` (per site). */
    series: text('series').notNull(),
    /** '' for the tenant as a whole; the site id for `site`. */
    subject: text('subject').notNull(),
    /** The resolution in ms (300000 or 3600000). */
    step: integer('step').notNull(),
    /** The start of the bucket (ms since epoch, a multiple of `step`). */
    at: integer('at').notNull(),
    values: text('values', { mode: 'json' }).$type<Record<string, number>>().notNull(),
  },
  (t) => [primaryKey({ columns: [t.tenantId, t.series, t.subject, t.step, t.at] })],
);

/**
 * Every change of a node's presence (online, stale, offline, unknown) with the moment it happened, so a
 * node page can show its history. Kept ninety days; a node's newest row is always kept.
 */
export const nodePresenceHistory = sqliteTable(
  'node_presence_history',
  {
    seq: integer('seq').primaryKey({ autoIncrement: true }),
    nodeUid: text('node_uid').notNull(),
    tenantId: text('tenant_id').notNull(),
    presence: text('presence', { enum: ['online', 'stale', 'offline', 'unknown'] }).notNull(),
    /** When the node entered this presence (derived from its last-seen time and the thresholds). */
    at: integer('at').notNull(),
  },
  (t) => [index('node_presence_history_node').on(t.nodeUid, t.at)],
);
