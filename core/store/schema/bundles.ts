import { blob, index, integer, primaryKey, sqliteTable, text } from 'drizzle-orm/sqlite-core';

/**
 * Air-gap bundles (issue 13, ADR 0404-0406): this server's signing keys, the keys it trusts, one row per
 * bundle stream with what went each way, the bundles it wrote, and the import journal.
 */

/** This server's bundle signing keys; the newest row without `retiredAt` signs. */
export const bundleKeys = sqliteTable('bundle_keys', {
  keyId: text('key_id').primaryKey(),
  /** minisign public-key file text. */
  publicKey: text('public_key').notNull(),
  /** `file`: a minisign secret-key file (mode 0600) under `<home>/keys/bundle/`; `sealed`: `sealed` holds it. */
  storage: text('storage', { enum: ['file', 'sealed'] }).notNull(),
  /** The secret-key text encrypted by the desktop's keychain (Electron safeStorage). */
  sealed: blob('sealed', { mode: 'buffer' }),
  /** The statement by the previous key that introduced this one (ADR 0402), JSON `{publicKey, signature}`. */
  rotation: text('rotation', { mode: 'json' }).$type<{ publicKey: string; signature: string } | null>(),
  previousKeyId: text('previous_key_id'),
  createdAt: integer('created_at').notNull(),
  retiredAt: integer('retired_at'),
});

/** Keys whose bundles this server accepts; removed rows stay (refused even through a rotation). */
export const bundleTrust = sqliteTable('bundle_trust', {
  keyId: text('key_id').primaryKey(),
  publicKey: text('public_key').notNull(),
  name: text('name'),
  /** Pinned for one site (HQ pins each site LO's key), or null (a site pins HQ's key). */
  siteId: text('site_id'),
  /** `operator`, or `rotation` (followed from a trusted key in an imported bundle). */
  origin: text('origin', { enum: ['operator', 'rotation'] }).notNull(),
  /** For `rotation`: the key that signed the statement. */
  rotatedFrom: text('rotated_from'),
  addedAt: integer('added_at').notNull(),
  removedAt: integer('removed_at'),
});

/** A summary of one bundle for the console: what it carried. */
export interface BundleSummary {
  sequence: number;
  created: number;
  bytes: number;
  blobs: number;
  /** Counts by what the bundle carries (`commits`, `artifacts`, `apps`, `statuses`, `nodes`, ...). */
  carried: Record<string, number>;
  file?: string | null;
  gitTo?: string | null;
  indexDigest: string;
  signer: string;
}

/**
 * One row per bundle stream (kind, source, target): HQ to site S, and site S to HQ. `state` is what the
 * receiving end keeps to export only what the other side lacks (high-water marks, the mirror commit and
 * registry contents the site reported).
 */
export const bundleStreams = sqliteTable(
  'bundle_streams',
  {
    kind: text('kind', { enum: ['hq-to-site', 'site-to-hq'] }).notNull(),
    source: text('source').notNull(),
    target: text('target').notNull(),
    lastExportedSequence: integer('last_exported_sequence'),
    lastExportedAt: integer('last_exported_at'),
    lastExported: text('last_exported', { mode: 'json' }).$type<BundleSummary | null>(),
    lastImportedSequence: integer('last_imported_sequence'),
    lastImportedAt: integer('last_imported_at'),
    lastImported: text('last_imported', { mode: 'json' }).$type<BundleSummary | null>(),
    /** The last sequence of this stream the receiver acknowledged (learned from the other direction). */
    acknowledged: integer('acknowledged'),
    acknowledgedAt: integer('acknowledged_at'),
    state: text('state', { mode: 'json' }).$type<Record<string, unknown>>(),
  },
  (t) => [primaryKey({ columns: [t.kind, t.source, t.target] })],
);

/** Every bundle this server wrote (the sequence is taken here before the file is written). */
export const bundleExports = sqliteTable(
  'bundle_exports',
  {
    kind: text('kind', { enum: ['hq-to-site', 'site-to-hq'] }).notNull(),
    source: text('source').notNull(),
    target: text('target').notNull(),
    sequence: integer('sequence').notNull(),
    /** `writing` until the file is in place; a crash leaves a gap in the sequence, never a reuse. */
    state: text('state', { enum: ['writing', 'written', 'failed'] }).notNull(),
    file: text('file'),
    createdAt: integer('created_at').notNull(),
    summary: text('summary', { mode: 'json' }).$type<BundleSummary | null>(),
    /** What this bundle covered (the git commit it moves to, high-water marks of status data). */
    covers: text('covers', { mode: 'json' }).$type<Record<string, unknown>>().notNull(),
  },
  (t) => [primaryKey({ columns: [t.kind, t.source, t.target, t.sequence] })],
);

/**
 * The import journal: a row is written once a bundle is staged, verified and checked, before anything
 * changes; `applying` rows are finished at the next start from their staging folder (every step is
 * idempotent); the database transaction that sets `applied` is the commit point.
 */
export const bundleImports = sqliteTable(
  'bundle_imports',
  {
    id: text('id').primaryKey(),
    kind: text('kind', { enum: ['hq-to-site', 'site-to-hq'] }).notNull(),
    source: text('source').notNull(),
    target: text('target').notNull(),
    sequence: integer('sequence').notNull(),
    indexDigest: text('index_digest').notNull(),
    state: text('state', { enum: ['applying', 'applied', 'abandoned'] }).notNull(),
    stagingDir: text('staging_dir').notNull(),
    /** Everything the apply needs, decided before it starts (JSON). */
    plan: text('plan', { mode: 'json' }).$type<Record<string, unknown>>().notNull(),
    startedAt: integer('started_at').notNull(),
    finishedAt: integer('finished_at'),
    error: text('error'),
  },
  (t) => [index('bundle_imports_state').on(t.state)],
);

/** Audit entries and node events of air-gapped sites, as their status bundles carried them (HQ). */
export const siteRecords = sqliteTable(
  'site_records',
  {
    siteId: text('site_id').notNull(),
    stream: text('stream', { enum: ['audit', 'events'] }).notNull(),
    /** The site's own sequence number of the record. */
    seq: integer('seq').notNull(),
    at: integer('at').notNull(),
    record: text('record', { mode: 'json' }).notNull(),
    /** The status bundle that carried it (its sequence). */
    bundleSequence: integer('bundle_sequence').notNull(),
  },
  (t) => [primaryKey({ columns: [t.siteId, t.stream, t.seq] })],
);
