import type { Node } from '../contract/index.js';
import type { DeviceCapabilities } from '../margo/types.js';
import { classifyPresence, type PresenceThresholds } from './presence.js';

export interface NodeRow {
  uid: string;
  tenantId: string;
  name: string;
  siteId: string;
  modelId: string | null;
  labels: Record<string, string>;
  cordoned: boolean;
  state: 'registered' | 'enrolled' | 'revoked';
  capabilities: unknown;
  capabilitiesAt: number | null;
  lastSeenAt: number | null;
  enrolledAt: number | null;
  revokedAt: number | null;
  createdAt: number;
}

export function nodeUid(tenantId: string, name: string): string {
  return `${tenantId}.${name}`;
}

/** The contract's view of a node: presence computed here (the renderer never decides health). */
export function toNodeView(
  row: NodeRow,
  now: number,
  thresholds: PresenceThresholds,
  children: { deviceId: string; updatedAt: number }[] = [],
): Node {
  const caps = (row.capabilities ?? null) as DeviceCapabilities | null;
  return {
    uid: row.uid,
    name: row.name,
    siteId: row.siteId,
    modelId: row.modelId,
    labels: row.labels,
    reportedLabels: (caps?.labels ?? {}) as Record<string, unknown>,
    cordoned: row.cordoned,
    state: row.state,
    presence: row.state === 'revoked' ? 'offline' : classifyPresence(row.lastSeenAt, now, thresholds),
    lastSeenAt: row.lastSeenAt,
    capabilitiesAt: row.capabilitiesAt,
    capabilities: caps,
    children,
    createdAt: row.createdAt,
    enrolledAt: row.enrolledAt,
  };
}
