import { blob, index, integer, primaryKey, sqliteTable, text } from 'drizzle-orm/sqlite-core';

/**
 * LO state: what each Margo client (node) is served. `manifestVersion` only ever grows; the manifest
 * and bundle bytes are built once and stored.
 */
export const loClients = sqliteTable('lo_clients', {
  clientId: text('client_id').primaryKey(),
  manifestVersion: integer('manifest_version').notNull(),
  manifest: blob('manifest', { mode: 'buffer' }).notNull(),
  manifestDigest: text('manifest_digest').notNull(),
  bundleDigest: text('bundle_digest'),
  /** The desired-state commit this manifest reflects. */
  commit: text('commit'),
  updatedAt: integer('updated_at').notNull(),
});

/** Deployment YAMLs each client was served, by manifest version (kept a while after removal to avoid 404 races). */
export const loClientDeployments = sqliteTable(
  'lo_client_deployments',
  {
    clientId: text('client_id').notNull(),
    deploymentId: text('deployment_id').notNull(),
    digest: text('digest').notNull(),
    sizeBytes: integer('size_bytes').notNull(),
    /** The exact bytes served at /api/v1/deployments/{id}/{digest}. */
    yaml: blob('yaml', { mode: 'buffer' }).notNull(),
    /** First manifest version that listed it. */
    sinceVersion: integer('since_version').notNull(),
    /** First manifest version that no longer listed it (null while current). */
    untilVersion: integer('until_version'),
    untilAt: integer('until_at'),
  },
  (t) => [
    primaryKey({ columns: [t.clientId, t.deploymentId, t.digest] }),
    index('lo_cd_client').on(t.clientId),
  ],
);

/** Bundles built for clients (tar.gz of the YAMLs of one manifest), by digest. */
export const loBundles = sqliteTable(
  'lo_bundles',
  {
    clientId: text('client_id').notNull(),
    digest: text('digest').notNull(),
    sizeBytes: integer('size_bytes').notNull(),
    /** The exact tar.gz bytes, built once. */
    bytes: blob('bytes', { mode: 'buffer' }).notNull(),
    manifestVersion: integer('manifest_version').notNull(),
    createdAt: integer('created_at').notNull(),
  },
  (t) => [primaryKey({ columns: [t.clientId, t.digest] })],
);

/** Device capabilities reported over the MMI, per client and device id (`gw` or `gw/child`). */
export const loDevices = sqliteTable(
  'lo_devices',
  {
    clientId: text('client_id').notNull(),
    deviceId: text('device_id').notNull(),
    capabilities: text('capabilities', { mode: 'json' }).notNull(),
    updatedAt: integer('updated_at').notNull(),
  },
  (t) => [primaryKey({ columns: [t.clientId, t.deviceId] })],
);

/** One-time enrollment tokens (only the secret's hash is stored). */
export const enrollTokens = sqliteTable('enroll_tokens', {
  id: text('id').primaryKey(),
  tenantId: text('tenant_id').notNull(),
  siteId: text('site_id').notNull(),
  nodeName: text('node_name').notNull(),
  secretHash: text('secret_hash').notNull().unique(),
  expiresAt: integer('expires_at').notNull(),
  usedAt: integer('used_at'),
  createdAt: integer('created_at').notNull(),
  createdBy: text('created_by').notNull(),
});

/** SVIDs the site CA issued (for the deny list and the operator's view). */
export const svids = sqliteTable(
  'svids',
  {
    serialHex: text('serial_hex').primaryKey(),
    clientId: text('client_id').notNull(),
    spiffeId: text('spiffe_id').notNull(),
    issuedAt: integer('issued_at').notNull(),
    notAfter: integer('not_after').notNull(),
    revokedAt: integer('revoked_at'),
  },
  (t) => [index('svids_client').on(t.clientId)],
);

/**
 * The accepted-client policy: explicit allow or deny entries for SPIFFE IDs, or prefixes ending in `/*`.
 * Enrolled nodes are allowed by their enrollment; a deny entry always wins.
 */
export const clientPolicy = sqliteTable('client_policy', {
  pattern: text('pattern').primaryKey(),
  effect: text('effect', { enum: ['allow', 'deny'] }).notNull(),
  createdAt: integer('created_at').notNull(),
});

/** Desired-state sources the LO follows: the last commit adopted per tenant repository. */
export const loSources = sqliteTable('lo_sources', {
  tenantId: text('tenant_id').primaryKey(),
  commit: text('commit'),
  /** When the row last changed (any outcome). */
  updatedAt: integer('updated_at').notNull(),
  /** When `commit` was adopted (never moved by a failed fetch). */
  adoptedAt: integer('adopted_at'),
  /** When the source was last read successfully (fetched, or read in place). */
  checkedAt: integer('checked_at'),
  lastError: text('last_error'),
  lastErrorAt: integer('last_error_at'),
  /** refused (a rewritten history), unreachable (network, timeout), error (anything else). */
  lastErrorKind: text('last_error_kind', { enum: ['refused', 'unreachable', 'error'] }),
  /** The first failure of the current run of failures. */
  failingSince: integer('failing_since'),
});

/**
 * A remote LO's outbox toward the CO (role lo): status reports and node inventory changes, forwarded
 * over the bus in `seq` order; the last forwarded `seq` is kept in `meta`.
 */
export const loOutbox = sqliteTable('lo_outbox', {
  seq: integer('seq').primaryKey({ autoIncrement: true }),
  nodeUid: text('node_uid').notNull(),
  kind: text('kind', { enum: ['status', 'events'] }).notNull(),
  body: text('body', { mode: 'json' }).notNull(),
  createdAt: integer('created_at').notNull(),
});

/**
 * Enrollment requests (ADR 0462): a node without a token files its CSR at the LO and waits for an operator
 * to approve or reject it. Only the hash of the node's poll secret is stored; the SVID is issued at approval
 * and handed out when the node polls next.
 */
export const enrollRequests = sqliteTable(
  'enroll_requests',
  {
    id: text('id').primaryKey(),
    tenantId: text('tenant_id').notNull(),
    /** `sha256:<hex>` of the secret the requesting node polls with. */
    pollHash: text('poll_hash').notNull(),
    csr: text('csr').notNull(),
    /** `sha256:<hex>` of the CSR's public key (SPKI). */
    keyFingerprint: text('key_fingerprint').notNull(),
    /** Six digits both sides compute from the site CA and the node key, for the operator to compare. */
    code: text('code').notNull(),
    requestedName: text('requested_name'),
    hostname: text('hostname'),
    /** The address the request came from. */
    address: text('address').notNull(),
    hardware: text('hardware', { mode: 'json' }).$type<Record<string, unknown>>(),
    agentVersion: text('agent_version'),
    state: text('state', { enum: ['pending', 'approved', 'rejected', 'expired'] }).notNull(),
    createdAt: integer('created_at').notNull(),
    expiresAt: integer('expires_at').notNull(),
    decidedAt: integer('decided_at'),
    decidedBy: text('decided_by'),
    reason: text('reason'),
    nodeUid: text('node_uid'),
    siteId: text('site_id'),
    /** The SVID issued on approval (PEM). */
    certPem: text('cert_pem'),
    deliveredAt: integer('delivered_at'),
  },
  (t) => [index('enroll_requests_state').on(t.state), index('enroll_requests_address').on(t.address)],
);

/**
 * Extra CAs the operator trusts for client certificates (ADR 0463): third-party Margo devices whose
 * certificates another CA issued. They join the MMI's trust anchors; the certificates themselves are
 * registered one by one (`svids` rows), so trusting a CA alone admits nobody.
 */
export const trustedCas = sqliteTable('trusted_cas', {
  fingerprint: text('fingerprint').primaryKey(),
  certPem: text('cert_pem').notNull(),
  subject: text('subject').notNull(),
  notAfter: integer('not_after').notNull(),
  addedAt: integer('added_at').notNull(),
  addedBy: text('added_by').notNull(),
});
