import type Database from 'better-sqlite3';
import type {
  AuditEntry,
  McuSummary,
  Node,
  NodeDetail,
  NodeEvent,
  NodeWorkload,
} from '../../lib/contract/index.js';
import type { DeploymentStatus, PresenceThresholds } from '../../lib/model/index.js';
import { gatewayOf, mcuReportOf, type NodeRow } from './node-view.js';

export interface NodeDetailDeps {
  sqlite: Database.Database;
  thresholds: PresenceThresholds;
  view(row: NodeRow, now: number): Node;
  auditAbout(tenantId: string, target: string, limit: number): AuditEntry[];
}

const MAX_EVENTS = 50;

/** Everything the node page shows about one node, read in a handful of queries (ADR 0229). */
export function nodeDetail(deps: NodeDetailDeps, row: NodeRow, now: number): NodeDetail {
  const { sqlite } = deps;
  const svids = sqlite
    .prepare(
      `SELECT serial_hex AS serialHex, spiffe_id AS spiffeId, issued_at AS issuedAt, not_after AS notAfter,
         revoked_at AS revokedAt FROM svids WHERE client_id = ? ORDER BY issued_at DESC, serial_hex LIMIT 20`,
    )
    .all(row.uid) as NodeDetail['svids'];
  const model = row.modelId
    ? ((sqlite
        .prepare(
          `SELECT id, name, vendor, model_number AS modelNumber FROM device_models WHERE tenant_id = ? AND id = ?`,
        )
        .get(row.tenantId, row.modelId) as NodeDetail['model'] | undefined) ?? null)
    : null;
  const presenceHistory = sqlite
    .prepare(
      `SELECT presence, at FROM node_presence_history WHERE node_uid = ? ORDER BY at DESC, seq DESC LIMIT 100`,
    )
    .all(row.uid) as NodeDetail['presenceHistory'];

  const targets = sqlite
    .prepare(
      `SELECT t.deployment_id AS deploymentId, d.name AS deploymentName, d.app_id AS appId, t.version,
         t.desired, t.state, t.state_at AS stateAt, t.assigned_at AS assignedAt, t.status,
         t.reported_digest AS reportedDigest, t.yaml_digest AS yamlDigest
       FROM deployment_targets t JOIN deployments d ON d.id = t.deployment_id
       WHERE t.node_uid = ? ORDER BY d.name`,
    )
    .all(row.uid) as {
    deploymentId: string;
    deploymentName: string;
    appId: string;
    version: string;
    desired: 'present' | 'absent';
    state: string | null;
    stateAt: number | null;
    assignedAt: number;
    status: string | null;
    reportedDigest: string | null;
    yamlDigest: string | null;
  }[];
  const node = deps.view(row, now);
  // What runs on an MCU that cannot be reached is not known: never shown as it was last reported.
  const unreachable = gatewayOf(row.name) !== undefined && node.presence === 'offline';
  const workloads: NodeWorkload[] = targets.map((t) => {
    const status = t.status ? (JSON.parse(t.status) as DeploymentStatus) : null;
    if (unreachable)
      return {
        deploymentId: t.deploymentId,
        deploymentName: t.deploymentName,
        appId: t.appId,
        version: t.version,
        desired: t.desired,
        state: 'unknown',
        stateAt: t.stateAt,
        assignedAt: t.assignedAt,
        current: false,
        error: `the microcontroller is offline; it last reported ${t.state ?? 'nothing'}`,
        components: (status?.components ?? []).map((c) => ({ name: c.name, state: 'unknown', error: null })),
      };
    return {
      deploymentId: t.deploymentId,
      deploymentName: t.deploymentName,
      appId: t.appId,
      version: t.version,
      desired: t.desired,
      state: t.state ?? 'pending',
      stateAt: t.stateAt,
      assignedAt: t.assignedAt,
      current: t.reportedDigest !== null && t.reportedDigest === t.yamlDigest,
      error: errorText(status?.status.error),
      components: (status?.components ?? []).map((c) => ({
        name: c.name,
        state: c.state,
        error: errorText(c.error),
      })),
    };
  });

  const events: NodeEvent[] = [];
  for (const p of presenceHistory.slice(0, MAX_EVENTS))
    events.push({ at: p.at, kind: 'presence', text: `became ${p.presence}`, deploymentId: null });
  const names = new Map(targets.map((t) => [t.deploymentId, t.deploymentName]));
  for (const r of sqlite
    .prepare(
      `SELECT deployment_id AS deploymentId, state, received_at AS at FROM status_reports
       WHERE node_uid = ? ORDER BY seq DESC LIMIT ?`,
    )
    .all(row.uid, MAX_EVENTS) as { deploymentId: string; state: string; at: number }[])
    events.push({
      at: r.at,
      kind: 'status',
      text: `reported ${r.state} for ${names.get(r.deploymentId) ?? r.deploymentId}`,
      deploymentId: r.deploymentId,
    });
  events.push({
    at: row.createdAt,
    kind: 'registered',
    text: `registered at site ${row.siteId}`,
    deploymentId: null,
  });
  if (row.enrolledAt !== null)
    events.push({ at: row.enrolledAt, kind: 'enrolled', text: 'enrolled', deploymentId: null });
  if (row.revokedAt !== null)
    events.push({ at: row.revokedAt, kind: 'revoked', text: 'revoked', deploymentId: null });
  if (row.capabilitiesAt !== null)
    events.push({
      at: row.capabilitiesAt,
      kind: 'capabilities',
      text: 'reported its capabilities',
      deploymentId: null,
    });
  // An MCU: its last reset and its last connection change, as its host reported them (ADR 0441).
  const m = gatewayOf(row.name) ? mcuReportOf(row.capabilities) : undefined;
  if (m?.lastResetAt)
    events.push({
      at: m.lastResetAt,
      kind: 'reset',
      text: `reset (${m.resets} since its host's agent started): its containers were made again`,
      deploymentId: null,
    });
  if (m?.since)
    events.push({
      at: m.since,
      kind: 'connection',
      text: m.connected
        ? 'connected to its host'
        : `disconnected from its host: ${m.lastError ?? 'no answer'}`,
      deploymentId: null,
    });
  events.sort((a, b) => b.at - a.at);

  const live = svids.find((s) => s.revokedAt === null) ?? null;
  const parent = gatewayOf(row.name) ?? null;
  const mcus = parent
    ? []
    : (
        sqlite
          .prepare(
            `SELECT uid, tenant_id AS tenantId, name, site_id AS siteId, model_id AS modelId, labels, cordoned, state,
               capabilities, capabilities_at AS capabilitiesAt, last_seen_at AS lastSeenAt, enrolled_at AS enrolledAt,
               revoked_at AS revokedAt, created_at AS createdAt
             FROM nodes WHERE uid > ? AND uid < ? ORDER BY name`,
          )
          .all(`${row.uid}/`, `${row.uid}0`) as (Omit<NodeRow, 'labels' | 'capabilities' | 'cordoned'> & {
          labels: string;
          capabilities: string | null;
          cordoned: number;
        })[]
      ).map((r) =>
        mcuSummary(
          deps,
          {
            ...r,
            labels: JSON.parse(r.labels) as Record<string, string>,
            capabilities: r.capabilities === null ? null : (JSON.parse(r.capabilities) as unknown),
            cordoned: r.cordoned === 1,
          },
          now,
        ),
      );
  return {
    node,
    svid: live,
    svids,
    model,
    presenceHistory,
    staleAfterSeconds: deps.thresholds.staleAfterMs / 1000,
    offlineAfterSeconds: deps.thresholds.offlineAfterMs / 1000,
    workloads,
    mcus,
    parent,
    mcu: parent ? mcuSummary(deps, row, now, node, workloads) : null,
    events: events.slice(0, MAX_EVENTS),
    audit: deps.auditAbout(row.tenantId, `node/${row.name}`, 20),
    output: {
      available: false,
      reason:
        'Workload output is not collected yet: the agent has no log method in the Margo interface to read it through the LO.',
    },
    now,
  };
}

/** One MCU as its host reports it, with the deployments on it (unknown while offline). */
function mcuSummary(
  deps: NodeDetailDeps,
  row: NodeRow,
  now: number,
  view = deps.view(row, now),
  workloads?: NodeWorkload[],
): McuSummary {
  const m = mcuReportOf(row.capabilities);
  const offline = view.presence === 'offline';
  const list =
    workloads ??
    (
      deps.sqlite
        .prepare(
          `SELECT t.deployment_id AS deploymentId, d.name AS deploymentName, t.state, t.state_at AS stateAt
           FROM deployment_targets t JOIN deployments d ON d.id = t.deployment_id WHERE t.node_uid = ? ORDER BY d.name`,
        )
        .all(row.uid) as {
        deploymentId: string;
        deploymentName: string;
        state: string | null;
        stateAt: number | null;
      }[]
    ).map((t) => ({ ...t, state: offline ? 'unknown' : (t.state ?? 'pending') }));
  return {
    name: row.name,
    presence: view.presence,
    lastSeenAt: view.lastSeenAt,
    since: m?.since ?? null,
    port: m?.port ?? null,
    board: m?.board ?? null,
    firmware: m?.firmware ?? null,
    ocre: m?.ocre ?? null,
    resets: m?.resets ?? 0,
    lastResetAt: m?.lastResetAt ?? null,
    lastError: m?.lastError ?? null,
    workloads: list.map((w) => ({
      deploymentId: w.deploymentId,
      deploymentName: w.deploymentName,
      state: w.state,
      stateAt: w.stateAt,
    })),
  };
}

function errorText(e: { code?: string; message?: string } | undefined | null): string | null {
  if (!e) return null;
  return [e.code, e.message].filter(Boolean).join(': ') || null;
}
