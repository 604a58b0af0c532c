import type { Store } from '../store/db.js';
import {
  type PlacementNode,
  type Reservation,
  type DeviceCapabilities,
  type PresenceThresholds,
} from '../../lib/model/index.js';
import { childPresence, gatewayOf, type NodeRow } from '../fleet/node-view.js';

/**
 * The label that names the physical host a node runs on (ADR 0361): nodes that share a value are one
 * host for placement's spread (e.g. VMs on one hypervisor). A node without it is its own host.
 */
export const HOST_LABEL = 'outpost.dev/host';

/**
 * Builds placement's view of a tenant's nodes: presence from last-seen, capability labels merged with
 * operator labels (operator labels win), the host each node runs on (`outpost.dev/host`), and what
 * existing deployments already reserve on each node (including one being removed, until the node says
 * it is gone).
 */
export function placementNodes(
  store: Store,
  rows: NodeRow[],
  now: number,
  thresholds: PresenceThresholds,
  options: { excludeDeployment?: string } = {},
): PlacementNode[] {
  const reserved = new Map<string, Reservation>();
  // A deployment reserves a node while it should run there, and while it is being removed from it until
  // the node reports it removed (the workload still holds its memory and storage until then).
  const stmt = store.sqlite.prepare(
    `SELECT t.node_uid AS uid, t.reservation AS reservation FROM deployment_targets t JOIN deployments d ON d.id = t.deployment_id
     WHERE t.tenant_id = ? AND t.deployment_id != ? AND d.state != 'removed'
       AND (t.desired = 'present' OR t.state IS NULL OR t.state != 'removed')`,
  );
  const tenants = new Set(rows.map((r) => r.tenantId));
  for (const tenant of tenants) {
    for (const r of stmt.all(tenant, options.excludeDeployment ?? '') as {
      uid: string;
      reservation: string | null;
    }[]) {
      if (!r.reservation) continue;
      const res = JSON.parse(r.reservation) as Reservation;
      const cur = reserved.get(r.uid) ?? { cpuCores: 0, memoryBytes: 0, storageBytes: 0 };
      reserved.set(r.uid, {
        cpuCores: cur.cpuCores + res.cpuCores,
        memoryBytes: cur.memoryBytes + res.memoryBytes,
        storageBytes: cur.storageBytes + res.storageBytes,
      });
    }
  }
  return rows.map((r) => {
    const caps = (r.capabilities ?? null) as DeviceCapabilities | null;
    const labels = { ...((caps?.labels ?? {}) as PlacementNode['labels']), ...r.labels };
    const host = labels[HOST_LABEL];
    // A child device (an MCU) lives on its gateway's host; it takes one deployment per gateway.
    const gateway = gatewayOf(r.name);
    return {
      uid: r.uid,
      name: r.name,
      siteId: r.siteId,
      enrolled: r.state === 'enrolled',
      cordoned: r.cordoned,
      presence: childPresence(r, now, thresholds),
      lastSeenAt: r.lastSeenAt,
      capabilities: caps,
      ...(gateway !== undefined
        ? { hostId: `${r.siteId}/${gateway}`, gatewayId: gateway }
        : typeof host === 'string' && host !== ''
          ? { hostId: `${r.siteId}/${host}` }
          : {}),
      labels,
      reserved: reserved.get(r.uid) ?? { cpuCores: 0, memoryBytes: 0, storageBytes: 0 },
    };
  });
}
