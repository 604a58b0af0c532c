import type Database from 'better-sqlite3';
import type { Node, NodeSortField } from '../../lib/contract/index.js';
import type { Presence, PresenceThresholds } from '../../lib/model/index.js';
import { toNodeView, type NodeRow } from './node-view.js';

/** `nodes.list` after the contract parsed it (defaults applied). */
export interface ListNodesQuery {
  siteId?: string | undefined;
  selector?: Record<string, string> | undefined;
  search?: string | undefined;
  presence?: Presence[] | undefined;
  sort?: { field: NodeSortField; direction: 'asc' | 'desc' } | undefined;
  limit?: number | undefined;
  offset: number;
  capabilities: boolean;
}

export interface ListNodesDeps {
  sqlite: Database.Database;
  thresholds: PresenceThresholds;
  /** Last heartbeat seen on the message bus (not yet in the database), when NATS runs. */
  liveSeen?: ((siteId: string, uid: string) => number | null) | undefined;
}

export interface ListNodesResult {
  nodes: Node[];
  total: number;
}

/** Presence as a number the database can sort and filter on; the same order the console shows. */
const RANK: Record<Presence, number> = { online: 0, stale: 1, offline: 2, unknown: 3 };

/**
 * A reported label value as text, the way the console and the selector compare it (`String(v)` in
 * JavaScript: arrays joined with commas). `r` is a row of `json_each`.
 */
const reportedText = (r: string) =>
  `CASE ${r}.type WHEN 'true' THEN 'true' WHEN 'false' THEN 'false' WHEN 'null' THEN 'null'
     WHEN 'array' THEN coalesce((SELECT group_concat(CASE e.type WHEN 'true' THEN 'true' WHEN 'false' THEN 'false'
       WHEN 'null' THEN '' ELSE CAST(e.value AS TEXT) END, ',') FROM json_each(${r}.value) e), '')
     ELSE CAST(${r}.value AS TEXT) END`;

interface RawRow {
  uid: string;
  tenantId: string;
  name: string;
  siteId: string;
  modelId: string | null;
  labels: string;
  cordoned: number;
  state: NodeRow['state'];
  capabilities: string | null;
  /** The JSON type of the document's `properties` (null when it has none). */
  capsProperties: string | null;
  capsCpus: string | null;
  capsMemory: string | null;
  capsStorage: string | null;
  capsLabels: string | null;
  /** An MCU child device's report from its host (presence), when it is one. */
  capsMcu: string | null;
  capabilitiesAt: number | null;
  seen: number | null;
  enrolledAt: number | null;
  revokedAt: number | null;
  createdAt: number;
}

/**
 * The tenant's nodes that match the filters, in the order asked for, one page of them, and how many match
 * in all. The database filters, sorts, counts and pages (ADR 0390); presence is classified in SQL with
 * the same thresholds, clock reading and last-seen (the newer of the database's and the bus's) that the
 * rows' views then show, so a presence filter or sort always agrees with the presence on the rows.
 */
export function listNodes(
  deps: ListNodesDeps,
  tenantId: string,
  q: ListNodesQuery,
  now: number,
): ListNodesResult {
  const { sqlite, thresholds } = deps;
  const params: Record<string, unknown> = {
    tenant: tenantId,
    now,
    stale: thresholds.staleAfterMs,
    offline: thresholds.offlineAfterMs,
  };
  const where: string[] = ['n.tenant_id = @tenant'];
  if (q.siteId) {
    where.push('n.site_id = @site');
    params.site = q.siteId;
  }
  Object.entries(q.selector ?? {}).forEach(([k, v], i) => {
    // The operator's label wins over the reported one with the same key.
    where.push(`coalesce(
        (SELECT o.value FROM json_each(n.labels) o WHERE o.key = @selKey${i}),
        (SELECT ${reportedText('r')} FROM json_each(n.capabilities, '$.labels') r WHERE r.key = @selKey${i})
      ) = @selValue${i}`);
    params[`selKey${i}`] = k;
    params[`selValue${i}`] = v;
  });
  // ASCII folding on both sides: SQLite's lower() folds only A-Z, so a Unicode toLowerCase() here would
  // miss exact-case non-ASCII text ('Ära' would look for 'ära' in 'hall=Ära').
  const search = q.search?.trim().replace(/[A-Z]/g, (c) => c.toLowerCase());
  if (search) {
    where.push(`(instr(lower(n.name), @search) > 0
      OR EXISTS (SELECT 1 FROM json_each(n.labels) o WHERE instr(lower(o.key || '=' || o.value), @search) > 0)
      OR EXISTS (SELECT 1 FROM json_each(n.capabilities, '$.labels') r
                 WHERE instr(lower(r.key || '=' || ${reportedText('r')}), @search) > 0))`);
    params.search = search;
  }

  // The bus's heartbeats count for every row when presence or last-seen decides which rows and in which
  // order; otherwise only the page's rows need them (below).
  const sort = q.sort ?? { field: 'name', direction: 'asc' };
  const needsLive =
    deps.liveSeen !== undefined &&
    (q.presence !== undefined || sort.field === 'presence' || sort.field === 'lastSeenAt');
  let join = '';
  let seen = 'n.last_seen_at';
  if (needsLive) {
    const newer = liveNewerThanStored(deps, tenantId, q.siteId);
    if (newer.length) {
      join = `LEFT JOIN (SELECT value ->> 0 AS uid, value ->> 1 AS at FROM json_each(@live)) l ON l.uid = n.uid`;
      seen = `(CASE WHEN l.at > coalesce(n.last_seen_at, 0) THEN l.at ELSE n.last_seen_at END)`;
      params.live = JSON.stringify(newer);
    }
  }
  // An MCU its host reports as disconnected is offline (ADR 0441), as its view says.
  const rank = `(CASE WHEN n.state = 'revoked' THEN ${RANK.offline}
    WHEN json_extract(n.capabilities, '$.extensions."x-outpost-extensions".mcu.connected') = 0 THEN ${RANK.offline}
    WHEN ${seen} IS NULL THEN ${RANK.unknown}
    WHEN @now - ${seen} < @stale THEN ${RANK.online} WHEN @now - ${seen} < @offline THEN ${RANK.stale}
    ELSE ${RANK.offline} END)`;
  if (q.presence) where.push(`${rank} IN (${[...new Set(q.presence)].map((p) => RANK[p]).join(', ')})`);

  const dir = sort.direction === 'desc' ? 'DESC' : 'ASC';
  const back = sort.direction === 'desc' ? 'ASC' : 'DESC';
  let models = '';
  const keys: string[] = [];
  switch (sort.field) {
    case 'name':
      break;
    case 'siteId':
      keys.push(`n.site_id ${dir}`);
      break;
    case 'state':
      keys.push(`(CASE n.state WHEN 'registered' THEN 0 WHEN 'enrolled' THEN 1 ELSE 2 END) ${dir}`);
      break;
    case 'presence':
      // Online first, and within a state the most recently seen first.
      keys.push(`${rank} ${dir}`, `${seen} ${back}`);
      break;
    case 'lastSeenAt':
      keys.push(`${seen} ${dir}`);
      break;
    case 'model':
      models = 'LEFT JOIN device_models m ON m.tenant_id = n.tenant_id AND m.id = n.model_id';
      keys.push(`coalesce(m.name, n.model_id) ${dir}`);
      break;
    case 'cordoned':
      keys.push(`n.cordoned ${dir}`);
      break;
    case 'createdAt':
      keys.push(`n.created_at ${dir}`);
      break;
  }
  keys.push(`n.name ${dir}`); // unique within a tenant: a total order, so pages never overlap

  const from = `FROM nodes n ${join} ${models} WHERE ${where.join(' AND ')}`;
  const caps = q.capabilities
    ? 'n.capabilities AS capabilities'
    : `NULL AS capabilities, json_type(n.capabilities, '$.properties') AS capsProperties,
       n.capabilities -> '$.properties.cpus' AS capsCpus,
       n.capabilities -> '$.properties.memory' AS capsMemory, n.capabilities -> '$.properties.storage' AS capsStorage,
       n.capabilities -> '$.labels' AS capsLabels,
       n.capabilities -> '$.extensions."x-outpost-extensions".mcu' AS capsMcu`;
  const page =
    q.limit === undefined ? (q.offset ? 'LIMIT -1 OFFSET @offset' : '') : 'LIMIT @limit OFFSET @offset';
  params.limit = q.limit ?? -1;
  params.offset = q.offset;
  const raw = sqlite
    .prepare(
      `SELECT n.uid, n.tenant_id AS tenantId, n.name, n.site_id AS siteId, n.model_id AS modelId, n.labels,
         n.cordoned, n.state, ${caps}, n.capabilities_at AS capabilitiesAt, ${seen} AS seen,
         n.enrolled_at AS enrolledAt, n.revoked_at AS revokedAt, n.created_at AS createdAt
       ${from} ORDER BY ${keys.join(', ')} ${page}`,
    )
    .all(params) as RawRow[];
  const total =
    q.limit === undefined && !q.offset
      ? raw.length
      : (sqlite.prepare(`SELECT count(*) AS n ${from}`).get(params) as { n: number }).n;

  const children = childrenOf(
    sqlite,
    raw.map((r) => r.uid),
  );
  const nodes = raw.map((r) => {
    let lastSeenAt = r.seen;
    if (!needsLive && deps.liveSeen) {
      const at = deps.liveSeen(r.siteId, r.uid);
      if (at !== null && at > (lastSeenAt ?? 0)) lastSeenAt = at;
    }
    const row: NodeRow = {
      uid: r.uid,
      tenantId: r.tenantId,
      name: r.name,
      siteId: r.siteId,
      modelId: r.modelId,
      labels: JSON.parse(r.labels) as Record<string, string>,
      cordoned: r.cordoned === 1,
      state: r.state,
      capabilities: q.capabilities ? parse(r.capabilities) : partialCapabilities(r),
      capabilitiesAt: r.capabilitiesAt,
      lastSeenAt,
      enrolledAt: r.enrolledAt,
      revokedAt: r.revokedAt,
      createdAt: r.createdAt,
    };
    return toNodeView(row, now, thresholds, children.get(r.uid) ?? [], { document: q.capabilities });
  });
  return { nodes, total };
}

const parse = (s: string | null): unknown => (s === null ? null : JSON.parse(s));

/** The parts of a capabilities document a row without documents still shows (capacity, reported labels). */
function partialCapabilities(r: RawRow): unknown {
  if (r.capsProperties === null && r.capsLabels === null && !r.capsMcu) return null;
  return {
    ...(r.capsProperties === null
      ? {}
      : {
          properties: {
            ...(r.capsCpus === null ? {} : { cpus: parse(r.capsCpus) }),
            ...(r.capsMemory === null ? {} : { memory: parse(r.capsMemory) }),
            ...(r.capsStorage === null ? {} : { storage: parse(r.capsStorage) }),
          },
        }),
    ...(r.capsLabels === null ? {} : { labels: parse(r.capsLabels) }),
    ...(r.capsMcu ? { extensions: { 'x-outpost-extensions': { mcu: parse(r.capsMcu) } } } : {}),
  };
}

/** Heartbeats the bus saw after the database's last-seen, as `[uid, at]` pairs. */
function liveNewerThanStored(
  deps: ListNodesDeps,
  tenantId: string,
  siteId: string | undefined,
): [string, number][] {
  const rows = deps.sqlite
    .prepare(
      `SELECT uid, site_id AS siteId, last_seen_at AS lastSeenAt FROM nodes
       WHERE tenant_id = ? ${siteId ? 'AND site_id = ?' : ''}`,
    )
    .all(...(siteId ? [tenantId, siteId] : [tenantId])) as {
    uid: string;
    siteId: string;
    lastSeenAt: number | null;
  }[];
  const out: [string, number][] = [];
  for (const r of rows) {
    const at = deps.liveSeen!(r.siteId, r.uid);
    if (at !== null && at > (r.lastSeenAt ?? 0)) out.push([r.uid, at]);
  }
  return out;
}

/** Child devices of these nodes, in one query. */
function childrenOf(
  sqlite: Database.Database,
  uids: string[],
): Map<string, { deviceId: string; updatedAt: number }[]> {
  const out = new Map<string, { deviceId: string; updatedAt: number }[]>();
  if (!uids.length) return out;
  const rows = sqlite
    .prepare(
      `SELECT node_uid AS uid, device_id AS deviceId, updated_at AS updatedAt FROM node_devices
       WHERE node_uid IN (SELECT value FROM json_each(?)) ORDER BY device_id`,
    )
    .all(JSON.stringify(uids)) as { uid: string; deviceId: string; updatedAt: number }[];
  for (const c of rows) {
    const list = out.get(c.uid) ?? [];
    list.push({ deviceId: c.deviceId, updatedAt: c.updatedAt });
    out.set(c.uid, list);
  }
  return out;
}
