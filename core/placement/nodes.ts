/**
 * `prepareNodes()` turns the fleet into flat per-node numbers once (parsed quantities, CPU cores per
 * architecture, support bit masks, interned site and host ids) so that placing a deployment is a
 * tight loop over typed arrays. Callers may cache the result while the fleet does not change;
 * placement never mutates it.
 */
import { OutpostError } from '../../lib/errors/index.js';
import {
  OUTPOST_EXTENSION_KEY,
  type DeploymentType,
  parseByteQuantity,
  type Presence,
  type PlacementNode,
} from '../../lib/model/index.js';
import { ARCHITECTURES, INTERFACE_TYPES, PERIPHERAL_TYPES, bitOf } from './constraints.js';

export const DEPLOYMENT_TYPE_BITS: Readonly<Record<DeploymentType, number>> = {
  helm: 1,
  compose: 2,
  custom: 4,
};
export const RUNTIME_OCI = 1;
export const RUNTIME_CUSTOM = 2;
export const OUTPOST_RUNTIMES = ['wasm', 'ocre'] as const;

export const PRESENCE_CODES: Readonly<Record<Presence, number>> = {
  online: 0,
  stale: 1,
  offline: 2,
  unknown: 3,
};

/** Flags in PreparedNodes.flags. */
export const FLAGS = {
  ENROLLED: 1,
  CORDONED: 2,
  HAS_CAPS: 4,
  MEM_UNREADABLE: 8,
  STORAGE_UNREADABLE: 16,
} as const;
export const F_ENROLLED = FLAGS.ENROLLED;
export const F_CORDONED = FLAGS.CORDONED;
export const F_HAS_CAPS = FLAGS.HAS_CAPS;
export const F_MEM_UNREADABLE = FLAGS.MEM_UNREADABLE;
export const F_STORAGE_UNREADABLE = FLAGS.STORAGE_UNREADABLE;

export interface PreparedNodes {
  readonly kind: 'prepared-nodes';
  readonly count: number;
  readonly nodes: readonly PlacementNode[];
  /** uid -> index */
  readonly index: ReadonlyMap<string, number>;
  readonly flags: Uint8Array;
  readonly presence: Uint8Array;
  /** NaN when the node never reported. */
  readonly lastSeen: Float64Array;
  readonly site: Int32Array;
  readonly siteIndex: ReadonlyMap<string, number>;
  readonly host: Int32Array;
  readonly hostCount: number;
  /** Position of the uid in sorted order: ties are broken on it (deterministic, input-order independent). */
  readonly uidRank: Int32Array;
  /** Inverse of uidRank: node indices in uid order. */
  readonly byUidRank: Int32Array;
  /** Total cores; NaN when no CPU is reported. */
  readonly cpuTotal: Float64Array;
  /** Cores per architecture, `cpuByArch[a][i]` for ARCHITECTURES[a]. */
  readonly cpuByArch: readonly Float64Array[];
  /** Architectures present (bit mask over ARCHITECTURES). */
  readonly archMask: Uint8Array;
  /** NaN when not reported or unreadable (see flags). */
  readonly memTotal: Float64Array;
  readonly storageTotal: Float64Array;
  readonly reservedCpu: Float64Array;
  readonly reservedMem: Float64Array;
  readonly reservedStorage: Float64Array;
  readonly deploymentTypes: Uint8Array;
  readonly runtimes: Uint8Array;
  /** Bit mask over OUTPOST_RUNTIMES from the capabilities' `x-outpost-extensions.runtimes`. */
  readonly outpostRuntimes: Uint8Array;
  readonly peripheralMask: Uint8Array;
  readonly interfaceMask: Uint16Array;
}

export function isPreparedNodes(x: unknown): x is PreparedNodes {
  return typeof x === 'object' && x !== null && (x as { kind?: unknown }).kind === 'prepared-nodes';
}

function num(v: unknown): number {
  return typeof v === 'number' && Number.isFinite(v) && v >= 0 ? v : 0;
}

export function prepareNodes(nodes: readonly PlacementNode[]): PreparedNodes {
  const n = nodes.length;
  const index = new Map<string, number>();
  const siteIndex = new Map<string, number>();
  const hostIndex = new Map<string, number>();
  const flags = new Uint8Array(n);
  const presence = new Uint8Array(n);
  const lastSeen = new Float64Array(n);
  const site = new Int32Array(n);
  const host = new Int32Array(n);
  const cpuTotal = new Float64Array(n);
  const cpuByArch = ARCHITECTURES.map(() => new Float64Array(n));
  const archMask = new Uint8Array(n);
  const memTotal = new Float64Array(n);
  const storageTotal = new Float64Array(n);
  const reservedCpu = new Float64Array(n);
  const reservedMem = new Float64Array(n);
  const reservedStorage = new Float64Array(n);
  const deploymentTypes = new Uint8Array(n);
  const runtimes = new Uint8Array(n);
  const outpostRuntimes = new Uint8Array(n);
  const peripheralMask = new Uint8Array(n);
  const interfaceMask = new Uint16Array(n);

  for (let i = 0; i < n; i++) {
    const node = nodes[i]!;
    if (typeof node?.uid !== 'string' || node.uid === '')
      throw new OutpostError('invalid-input', `nodes[${i}]: uid must be a non-empty string`);
    if (index.has(node.uid))
      throw new OutpostError('invalid-input', `nodes[${i}]: duplicate node uid "${node.uid}"`);
    index.set(node.uid, i);
    let f = 0;
    if (node.enrolled) f |= F_ENROLLED;
    if (node.cordoned) f |= F_CORDONED;
    presence[i] = PRESENCE_CODES[node.presence] ?? PRESENCE_CODES.unknown;
    lastSeen[i] = typeof node.lastSeenAt === 'number' ? node.lastSeenAt : Number.NaN;
    let s = siteIndex.get(node.siteId);
    if (s === undefined) siteIndex.set(node.siteId, (s = siteIndex.size));
    site[i] = s;
    const hostKey = node.hostId ?? `\u0000${node.uid}`;
    let h = hostIndex.get(hostKey);
    if (h === undefined) hostIndex.set(hostKey, (h = hostIndex.size));
    host[i] = h;
    reservedCpu[i] = num(node.reserved?.cpuCores);
    reservedMem[i] = num(node.reserved?.memoryBytes);
    reservedStorage[i] = num(node.reserved?.storageBytes);

    const caps = node.capabilities;
    const props = caps?.properties;
    if (!caps || !props || typeof props !== 'object') {
      cpuTotal[i] = memTotal[i] = storageTotal[i] = Number.NaN;
      flags[i] = f;
      continue;
    }
    f |= F_HAS_CAPS;
    let total = Number.NaN;
    let am = 0;
    if (Array.isArray(props.cpus) && props.cpus.length > 0) {
      total = 0;
      for (const c of props.cpus) {
        const cores = num(c?.cores);
        total += cores;
        const a = ARCHITECTURES.indexOf(c?.architecture as (typeof ARCHITECTURES)[number]);
        if (a >= 0) {
          cpuByArch[a]![i]! += cores;
          am |= 1 << a;
        }
      }
    }
    cpuTotal[i] = total;
    archMask[i] = am;
    const mem = props.memory === undefined ? null : parseByteQuantity(props.memory);
    if (props.memory !== undefined && mem === null) f |= F_MEM_UNREADABLE;
    memTotal[i] = mem ?? Number.NaN;
    const sto = props.storage === undefined ? null : parseByteQuantity(props.storage);
    if (props.storage !== undefined && sto === null) f |= F_STORAGE_UNREADABLE;
    storageTotal[i] = sto ?? Number.NaN;

    let dt = 0;
    for (const t of Array.isArray(props.supportedDeploymentTypes) ? props.supportedDeploymentTypes : [])
      dt |= DEPLOYMENT_TYPE_BITS[t] ?? 0;
    deploymentTypes[i] = dt;
    let rt = 0;
    for (const r of Array.isArray(props.supportedRuntimes) ? props.supportedRuntimes : [])
      rt |= r === 'oci' ? RUNTIME_OCI : r === 'custom' ? RUNTIME_CUSTOM : 0;
    runtimes[i] = rt;
    const ext = caps.extensions?.[OUTPOST_EXTENSION_KEY] as { runtimes?: unknown } | undefined;
    let or = 0;
    if (ext && Array.isArray(ext.runtimes))
      for (const r of ext.runtimes) or |= bitOf(OUTPOST_RUNTIMES, r as (typeof OUTPOST_RUNTIMES)[number]);
    outpostRuntimes[i] = or;
    let pm = 0;
    if (Array.isArray(props.peripherals))
      for (const p of props.peripherals) pm |= bitOf(PERIPHERAL_TYPES, p?.type);
    peripheralMask[i] = pm;
    let im = 0;
    if (Array.isArray(props.interfaces))
      for (const it of props.interfaces) im |= bitOf(INTERFACE_TYPES, it?.type);
    interfaceMask[i] = im;
    flags[i] = f;
  }

  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => {
    const ua = nodes[a]!.uid;
    const ub = nodes[b]!.uid;
    return ua < ub ? -1 : ua > ub ? 1 : 0;
  });
  const uidRank = new Int32Array(n);
  order.forEach((nodeIdx, rank) => (uidRank[nodeIdx] = rank));
  const byUidRank = Int32Array.from(order);

  return {
    kind: 'prepared-nodes',
    count: n,
    nodes,
    index,
    flags,
    presence,
    lastSeen,
    site,
    siteIndex,
    host,
    hostCount: hostIndex.size,
    uidRank,
    byUidRank,
    cpuTotal,
    cpuByArch,
    archMask,
    memTotal,
    storageTotal,
    reservedCpu,
    reservedMem,
    reservedStorage,
    deploymentTypes,
    runtimes,
    outpostRuntimes,
    peripheralMask,
    interfaceMask,
  };
}
