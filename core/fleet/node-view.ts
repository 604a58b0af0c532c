import type { Capacity, Node } from '../../lib/contract/index.js';
import {
  type DeviceCapabilities,
  OUTPOST_EXTENSION_KEY,
  classifyPresence,
  type PresenceThresholds,
} from '../../lib/model/index.js';

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

/** The gateway of a child device node (`<host>/<mcu>`, ADR 0443), or undefined for a host. */
export function gatewayOf(name: string): string | undefined {
  const slash = name.indexOf('/');
  return slash > 0 ? name.slice(0, slash) : undefined;
}

/**
 * What a host says of its MCU child device (`x-outpost-extensions.mcu` of the child's capabilities,
 * ADR 0441): whether it answers on its line, since when, its board, firmware and resets.
 */
export interface McuPresenceReport {
  connected: boolean;
  since?: number;
  lastSeenAt?: number | null;
  port?: string;
  board?: string | null;
  firmware?: string | null;
  zephyr?: string | null;
  ocre?: string | null;
  resets?: number;
  lastResetAt?: number | null;
  lastError?: string | null;
}

export function mcuReportOf(caps: unknown): McuPresenceReport | undefined {
  const ext = (caps as { extensions?: Record<string, unknown> } | null)?.extensions?.[
    OUTPOST_EXTENSION_KEY
  ] as { mcu?: unknown } | undefined;
  const m = ext?.mcu as McuPresenceReport | undefined;
  return m && typeof m === 'object' && typeof m.connected === 'boolean' ? m : undefined;
}

/** An MCU its host reports as disconnected is offline whatever its host's presence. */
export function childPresence(
  row: Pick<NodeRow, 'state' | 'lastSeenAt' | 'capabilities'>,
  now: number,
  thresholds: PresenceThresholds,
) {
  if (row.state === 'revoked') return 'offline' as const;
  if (mcuReportOf(row.capabilities)?.connected === false) return 'offline' as const;
  return classifyPresence(row.lastSeenAt, now, thresholds);
}

export function nodeUid(tenantId: string, name: string): string {
  return `${tenantId}.${name}`;
}

/**
 * The contract's view of a node: presence computed here (the renderer never decides health). With
 * `document: false` the capabilities document stays out (`capacity` and `reportedLabels` still come from it).
 */
export function toNodeView(
  row: NodeRow,
  now: number,
  thresholds: PresenceThresholds,
  children: { deviceId: string; updatedAt: number }[] = [],
  options: { document?: boolean } = {},
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
    presence: childPresence(row, now, thresholds),
    lastSeenAt: row.lastSeenAt,
    capabilitiesAt: row.capabilitiesAt,
    capabilities: options.document === false ? null : caps,
    capacity: capacityOf(caps),
    children,
    createdAt: row.createdAt,
    enrolledAt: row.enrolledAt,
  };
}

/** Size from reported capabilities: architectures (each once), cores over all CPUs, memory and storage. */
export function capacityOf(caps: Pick<DeviceCapabilities, 'properties'> | null): Capacity | null {
  const p = caps?.properties;
  if (!p) return null;
  const cpus = Array.isArray(p.cpus) ? p.cpus : [];
  const architectures = [
    ...new Set(cpus.map((c) => c?.architecture).filter((a): a is NonNullable<typeof a> => Boolean(a))),
  ].map(String);
  const cores = cpus.reduce((s, c) => s + (typeof c?.cores === 'number' ? c.cores : 0), 0);
  return {
    architectures,
    cores,
    memory: typeof p.memory === 'string' ? p.memory : null,
    storage: typeof p.storage === 'string' ? p.storage : null,
  };
}
