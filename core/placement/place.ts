/**
 * Placement: filter, then score, then explain (docs/architecture.md).
 *
 * `place()` evaluates every node in scope in one tight loop over the prepared arrays, recording a
 * failure bit mask per node (no strings, no objects); eligibility rules run only for nodes that pass
 * every earlier check, as the spec requires (capacity first). Eligible nodes are scored, ranked
 * (ties broken on the uid, so the result does not depend on input order) and picked with spread over
 * hosts. Reasons are turned into text only for the candidates that are listed.
 */
import { OutpostError } from '../../lib/errors/index.js';
import { ARCHITECTURES, rulesMatch } from './constraints.js';
import {
  BITS,
  labelMatches,
  nodeOutpostRuntimes,
  peripheralPresent,
  primaryCode,
  reasonsFor,
  rejectedPhrases,
  usableCores,
  type ReservedArrays,
} from './explain.js';
import { FLAGS, PRESENCE_CODES, isPreparedNodes, prepareNodes, type PreparedNodes } from './nodes.js';
import { compileRequest, type CompiledRequest } from './request.js';
import type {
  CapacityAfter,
  PlaceOptions,
  PlacementCandidate,
  PlacementNode,
  PlacementReason,
  PlacementRequest,
  PlacementResult,
} from '../../lib/model/index.js';

/** Tolerance for fractional cores and float sums. */
const EPS = 1e-9;

/** Score weights (ADR 0121); they add up to 100. */
export const SCORE_WEIGHTS = { freeCapacity: 40, preference: 30, health: 20, peripheralFit: 10 } as const;

// Local copies of imported constants and functions used in the node loop: some module loaders (the
// vitest transform) turn every use of an imported binding into a property read.
const {
  SITE: B_SITE,
  NOT_ENROLLED: B_NOT_ENROLLED,
  OFFLINE: B_OFFLINE,
  CORDONED: B_CORDONED,
  NO_CAPS: B_NO_CAPS,
  TYPE: B_TYPE,
  RUNTIME: B_RUNTIME,
  ARCH: B_ARCH,
  CPU: B_CPU,
  MEM: B_MEM,
  STORAGE: B_STORAGE,
  PERIPH: B_PERIPH,
  IFACE: B_IFACE,
  SELECTOR: B_SELECTOR,
  RULES: B_RULES,
} = BITS;
const { ENROLLED: F_ENROLLED, CORDONED: F_CORDONED, HAS_CAPS: F_HAS_CAPS } = FLAGS;
const { offline: OFFLINE, online: ONLINE, stale: STALE } = PRESENCE_CODES;
const ARCH_COUNT = ARCHITECTURES.length;
const matchRules = rulesMatch;
const matchLabel = labelMatches;
const coresFor = usableCores;
const hasPeripheral = peripheralPresent;
const GPU_BIT = 1; // PERIPHERAL_TYPES[0] === 'gpu'

function popcount(x: number): number {
  let c = 0;
  while (x) {
    x &= x - 1;
    c++;
  }
  return c;
}

/** Failure bits of node i (0 = eligible). */
function evaluate(cr: CompiledRequest, P: PreparedNodes, i: number, R: ReservedArrays): number {
  let f = 0;
  const fl = P.flags[i]!;
  if (!(fl & F_ENROLLED)) f |= B_NOT_ENROLLED;
  if (P.presence[i] === OFFLINE) f |= B_OFFLINE;
  if (fl & F_CORDONED) f |= B_CORDONED;
  const c = cr.constraints;
  const node = P.nodes[i]!;
  if (!(fl & F_HAS_CAPS)) {
    f |= B_NO_CAPS;
  } else {
    if (!(P.deploymentTypes[i]! & cr.typeBit)) f |= B_TYPE;
    if (!(P.runtimes[i]! & cr.runtimeBit)) f |= B_RUNTIME;
    else if (cr.outpostRuntime !== null) {
      if (cr.outpostRuntimeBit) {
        if (!(P.outpostRuntimes[i]! & cr.outpostRuntimeBit)) f |= B_RUNTIME;
      } else if (!nodeOutpostRuntimes(node.capabilities?.extensions).includes(cr.outpostRuntime))
        f |= B_RUNTIME;
    }
    const cap = c.capacity;
    if (cap.hasCpu) {
      const total = P.cpuTotal[i]!;
      if (Number.isNaN(total)) f |= B_CPU;
      else {
        let usable = total;
        if (cap.archMask) {
          if (!(P.archMask[i]! & cap.archMask)) f |= B_ARCH;
          usable = 0;
          for (let a = 0; a < ARCH_COUNT; a++) if (cap.archMask & (1 << a)) usable += P.cpuByArch[a]![i]!;
        }
        if (!(f & B_ARCH) && usable - R.cpu[i]! + EPS < cap.cpuCores) f |= B_CPU;
      }
    }
    if (!Number.isNaN(cap.memoryBytes)) {
      const total = P.memTotal[i]!;
      if (!(total - R.mem[i]! + 0.5 >= cap.memoryBytes)) f |= B_MEM; // NaN total fails too
    }
    if (!Number.isNaN(cap.storageBytes)) {
      const total = P.storageTotal[i]!;
      if (!(total - R.storage[i]! + 0.5 >= cap.storageBytes)) f |= B_STORAGE;
    }
    if (c.peripheralMask) {
      if ((P.peripheralMask[i]! & c.peripheralMask) !== c.peripheralMask) f |= B_PERIPH;
      else
        for (let k = 0; k < c.peripherals.length; k++) {
          const w = c.peripherals[k]!;
          if (
            (w.manufacturer !== undefined || w.model !== undefined) &&
            !hasPeripheral(w, node.capabilities?.properties.peripherals)
          ) {
            f |= B_PERIPH;
            break;
          }
        }
    }
    if (c.interfaceMask && (P.interfaceMask[i]! & c.interfaceMask) !== c.interfaceMask) f |= B_IFACE;
  }
  const sel = cr.selector;
  for (let k = 0; k < sel.length; k++) {
    const pair = sel[k]!;
    if (!matchLabel(node.labels?.[pair[0]], pair[1])) {
      f |= B_SELECTOR;
      break;
    }
  }
  // Eligibility rules only for nodes that passed everything else (capacity first, as the spec requires).
  if (f === 0 && c.rules !== null && !matchRules(c.rules, node.capabilities!.properties, node.labels ?? {}))
    f |= B_RULES;
  return f;
}

function health(cr: CompiledRequest, P: PreparedNodes, i: number): number {
  const p = P.presence[i]!;
  const cap = p === ONLINE ? 1 : p === STALE ? 0.5 : 0.25;
  const last = P.lastSeen[i]!;
  if (Number.isNaN(last)) return 0;
  const stale = cr.request.staleAfterMs;
  const age = cr.request.now - last;
  const recency = age <= stale ? 1 : Math.max(0, 1 - (age - stale) / (4 * stale));
  return Math.min(cap, recency);
}

function clamp01(x: number): number {
  return x < 0 ? 0 : x > 1 ? 1 : x;
}

function freeFraction(cr: CompiledRequest, P: PreparedNodes, i: number, R: ReservedArrays): number {
  const res = cr.reservation;
  let sum = 0;
  let k = 0;
  const cpu = coresFor(cr, P, i);
  if (cpu > 0) {
    sum += clamp01((cpu - R.cpu[i]! - res.cpuCores) / cpu);
    k++;
  }
  const mem = P.memTotal[i]!;
  if (mem > 0) {
    sum += clamp01((mem - R.mem[i]! - res.memoryBytes) / mem);
    k++;
  }
  const sto = P.storageTotal[i]!;
  if (sto > 0) {
    sum += clamp01((sto - R.storage[i]! - res.storageBytes) / sto);
    k++;
  }
  return k ? sum / k : 0;
}

function score(cr: CompiledRequest, P: PreparedNodes, i: number, R: ReservedArrays): number {
  const wanted = cr.constraints.wantedPeripheralMask;
  const has = P.peripheralMask[i]!;
  const fit = wanted ? popcount(has & wanted) / popcount(wanted) : has & GPU_BIT ? 0.5 : 1;
  let prefer = 0;
  const pl = cr.prefer;
  if (pl.length) {
    const labels = P.nodes[i]!.labels;
    let m = 0;
    for (let k = 0; k < pl.length; k++) if (matchLabel(labels?.[pl[k]![0]], pl[k]![1])) m++;
    prefer = m / pl.length;
  }
  const raw =
    SCORE_WEIGHTS.freeCapacity * freeFraction(cr, P, i, R) +
    SCORE_WEIGHTS.preference * prefer +
    SCORE_WEIGHTS.health * health(cr, P, i) +
    SCORE_WEIGHTS.peripheralFit * fit;
  return Math.round(raw * 1000) / 1000;
}

function capacityAfter(cr: CompiledRequest, P: PreparedNodes, i: number, R: ReservedArrays): CapacityAfter {
  const res = cr.reservation;
  const cpu = usableCores(cr, P, i);
  const mem = P.memTotal[i]!;
  const sto = P.storageTotal[i]!;
  return {
    cpuCores: Number.isNaN(cpu) ? null : Math.round((cpu - R.cpu[i]! - res.cpuCores) * 1000) / 1000,
    memoryBytes: Number.isNaN(mem) ? null : mem - R.mem[i]! - res.memoryBytes,
    storageBytes: Number.isNaN(sto) ? null : sto - R.storage[i]! - res.storageBytes,
  };
}

interface Scope {
  /** Node indices in scope, or -1 for an unknown explicit uid; null = every node (0..count-1). */
  indices: Int32Array | null;
  count: number;
  unknownUids: string[];
  explicit: boolean;
}

function scopeOf(cr: CompiledRequest, P: PreparedNodes): Scope {
  const req = cr.request;
  if (req.nodeUids !== undefined) {
    const seen = new Set<string>();
    const idx: number[] = [];
    const unknownUids: string[] = [];
    for (const uid of req.nodeUids) {
      if (seen.has(uid)) continue;
      seen.add(uid);
      const i = P.index.get(uid);
      if (i === undefined) {
        idx.push(-1);
        unknownUids.push(uid);
      } else idx.push(i);
    }
    return { indices: Int32Array.from(idx), count: idx.length, unknownUids, explicit: true };
  }
  if (req.siteId !== undefined) {
    const s = P.siteIndex.get(req.siteId);
    if (s === undefined) return { indices: new Int32Array(0), count: 0, unknownUids: [], explicit: false };
    let n = 0;
    for (let i = 0; i < P.count; i++) if (P.site[i] === s) n++;
    const out = new Int32Array(n);
    let k = 0;
    for (let i = 0; i < P.count; i++) if (P.site[i] === s) out[k++] = i;
    return { indices: out, count: n, unknownUids: [], explicit: false };
  }
  return { indices: null, count: P.count, unknownUids: [], explicit: false };
}

/** What the node loop leaves behind for explaining the result. */
interface Evaluation {
  cr: CompiledRequest;
  P: PreparedNodes;
  R: ReservedArrays;
  scope: Scope;
  /** Failure bits per node index (-1 = not in scope). */
  bitsByNode: Int32Array;
  scores: Float64Array;
  /** 1-based rank per node index among eligible nodes (0 = not eligible); filled when candidates are built. */
  rankByNode: Int32Array | null;
  eligible: number[];
  picked: number[];
  placeable: boolean;
  placedSet: Set<number>;
  spreadSkipped: Set<number>;
  /** Eligible child devices set aside for a sibling of the same gateway: node -> the sibling kept. */
  gatewaySkipped: Map<number, number>;
}

function run(
  cr: CompiledRequest,
  P: PreparedNodes,
  R: ReservedArrays,
  options: PlaceOptions,
  lazy: boolean,
): PlacementResult {
  const scope = scopeOf(cr, P);
  const siteIdx = cr.request.siteId !== undefined ? (P.siteIndex.get(cr.request.siteId) ?? -2) : -1;
  const m = scope.count;
  const indices = scope.indices;
  const bitsByNode = new Int32Array(P.count).fill(-1);
  const scores = new Float64Array(P.count);
  const eligible: number[] = [];
  const rejected: Record<string, number> = {};
  let unknownCount = 0;

  for (let k = 0; k < m; k++) {
    const i = indices === null ? k : indices[k]!;
    if (i < 0) {
      unknownCount++;
      continue;
    }
    let f = evaluate(cr, P, i, R);
    if (scope.explicit && siteIdx !== -1 && P.site[i] !== siteIdx) f |= B_SITE;
    bitsByNode[i] = f;
    if (f === 0) {
      eligible.push(i);
      scores[i] = score(cr, P, i, R);
    } else {
      const code = primaryCode(f);
      rejected[code] = (rejected[code] ?? 0) + 1;
    }
  }
  if (unknownCount) rejected['unknown-node'] = unknownCount;

  const uidRank = P.uidRank;
  eligible.sort((a, b) => scores[b]! - scores[a]! || uidRank[a]! - uidRank[b]!);

  // A gateway serves one manifest: one child device per gateway takes a deployment (ADR 0443). The
  // best-ranked child of each gateway stays a candidate; its siblings are set aside with a reason.
  const gatewaySkipped = new Map<number, number>();
  {
    const taken = new Map<string, number>();
    const kept: number[] = [];
    for (const i of eligible) {
      const gw = P.nodes[i]!.gatewayId;
      if (gw === undefined) kept.push(i);
      else if (taken.has(gw)) gatewaySkipped.set(i, taken.get(gw)!);
      else {
        taken.set(gw, i);
        kept.push(i);
      }
    }
    if (gatewaySkipped.size) eligible.splice(0, eligible.length, ...kept);
  }

  // Pick: every eligible node for 'all', else the best ones, spreading over hosts first.
  let picked: number[];
  const spreadSkipped = new Set<number>();
  const replicas = cr.replicas;
  if (replicas === 'all') {
    picked = eligible;
  } else {
    picked = [];
    const used = new Uint8Array(P.hostCount);
    for (let k = 0; k < eligible.length && picked.length < replicas; k++) {
      const i = eligible[k]!;
      if (used[P.host[i]!]) spreadSkipped.add(i);
      else {
        used[P.host[i]!] = 1;
        picked.push(i);
      }
    }
    if (picked.length < replicas)
      for (let k = 0; k < eligible.length && picked.length < replicas; k++) {
        const i = eligible[k]!;
        if (spreadSkipped.has(i)) {
          spreadSkipped.delete(i);
          picked.push(i);
        }
      }
  }
  const placeable =
    replicas === 'all'
      ? picked.length > 0 && (!scope.explicit || picked.length === m)
      : picked.length === replicas;
  const placedSet = placeable ? new Set(picked) : new Set<number>();

  const ev: Evaluation = {
    cr,
    P,
    R,
    scope,
    bitsByNode,
    scores,
    rankByNode: null,
    eligible,
    picked,
    placeable,
    placedSet,
    spreadSkipped,
    gatewaySkipped,
  };
  const placed = placeable ? picked.map((i) => P.nodes[i]!.uid) : [];
  const detail = options.candidates ?? 'all';
  const result = {
    placeable,
    placed,
    reservation: { ...cr.reservation },
    candidates: [] as PlacementCandidate[],
    considered: m,
    eligibleCount: eligible.length,
    rejected,
    summary: summarize(cr, placeable, placed.length, m, eligible.length, rejected, scope.explicit),
  };
  if (detail === 'none') return result;
  if (!lazy) {
    result.candidates = buildCandidates(ev, detail);
    return result;
  }
  // Built on first read (JSON.stringify, structured clone and zod all read it), then cached.
  let cache: PlacementCandidate[] | null = null;
  Object.defineProperty(result, 'candidates', {
    enumerable: true,
    configurable: true,
    get: () => (cache ??= buildCandidates(ev, detail)),
    set: (v: PlacementCandidate[]) => {
      cache = v;
    },
  });
  return result;
}

/** Placed first (in rank order), then the other eligible ones by rank, then the rest in uid order. */
function buildCandidates(ev: Evaluation, detail: 'all' | 'placed'): PlacementCandidate[] {
  const { P, bitsByNode } = ev;
  // Ranks: the picked nodes first (in pick order), then the other eligible ones by score.
  const rankByNode = new Int32Array(P.count);
  let r = 0;
  for (const i of ev.picked) rankByNode[i] = ++r;
  for (const i of ev.eligible) if (rankByNode[i] === 0) rankByNode[i] = ++r;
  for (const i of ev.gatewaySkipped.keys()) if (rankByNode[i] === 0) rankByNode[i] = ++r;
  ev.rankByNode = rankByNode;
  const out: PlacementCandidate[] = [];
  const ranked = ev.placeable
    ? ev.picked.concat(ev.eligible.filter((i) => !ev.placedSet.has(i)))
    : ev.eligible;
  for (const i of ranked) {
    if (detail === 'placed' && !ev.placedSet.has(i)) break;
    out.push(candidate(ev, i));
  }
  if (detail === 'placed') return out;
  for (const i of ev.gatewaySkipped.keys()) out.push(candidate(ev, i));
  for (let k = 0; k < P.count; k++) {
    const i = P.byUidRank[k]!;
    const f = bitsByNode[i]!;
    if (f > 0 && rankByNode[i] === 0) out.push(candidate(ev, i));
  }
  for (const uid of ev.scope.unknownUids)
    out.push({
      uid,
      name: uid,
      siteId: '',
      eligible: false,
      placed: false,
      score: null,
      rank: null,
      reasons: [{ code: 'unknown-node', message: `no node with uid "${uid}"` }],
    });
  return out;
}

function candidate(ev: Evaluation, i: number): PlacementCandidate {
  const { cr, P, R } = ev;
  const node = P.nodes[i]!;
  const f = ev.bitsByNode[i]!;
  const ok = f === 0;
  const isPlaced = ev.placedSet.has(i);
  const cand: PlacementCandidate = {
    uid: node.uid,
    name: node.name,
    siteId: node.siteId,
    eligible: ok,
    placed: isPlaced,
    score: ok ? ev.scores[i]! : null,
    rank: ok ? ev.rankByNode![i]! : null,
    reasons: ok ? (isPlaced ? [] : [notSelected(ev, i)]) : reasonsFor(f, cr, P, i, R),
  };
  if (P.flags[i]! & F_HAS_CAPS) cand.capacityAfter = capacityAfter(cr, P, i, R);
  return cand;
}

function notSelected(ev: Evaluation, i: number): PlacementReason {
  const { cr, P } = ev;
  const s = ev.scores[i]!;
  if (!ev.placeable) {
    const wanted = cr.replicas === 'all' ? 'every listed node was' : `${cr.replicas} were`;
    return {
      code: 'not-selected',
      message: `eligible (score ${s}), but only ${ev.eligible.length} node(s) fit and ${wanted} requested: nothing placed`,
    };
  }
  const sibling = ev.gatewaySkipped.get(i);
  if (sibling !== undefined) {
    const gw = P.nodes[i]!.gatewayId;
    return {
      code: 'not-selected',
      message: `eligible (score ${s}), but its host "${gw}" takes this deployment on ${P.nodes[sibling]!.name} already: one child device per host (ADR 0443)`,
    };
  }
  if (ev.spreadSkipped.has(i)) {
    const host = P.nodes[i]!.hostId ?? P.nodes[i]!.uid;
    return {
      code: 'not-selected',
      message: `eligible (score ${s}), but host "${host}" already has a replica; ${ev.picked.length} replica(s) requested`,
    };
  }
  return {
    code: 'not-selected',
    message: `eligible (score ${s}), ranked ${ev.rankByNode![i]} of ${ev.eligible.length}; ${ev.picked.length} replica(s) requested`,
  };
}

function summarize(
  cr: CompiledRequest,
  placeable: boolean,
  placedCount: number,
  considered: number,
  eligibleCount: number,
  rejected: Record<string, number>,
  explicit: boolean,
): string {
  const nodes = (n: number) => `${n} node${n === 1 ? '' : 's'}`;
  if (placeable) return `placed on ${placedCount} of ${nodes(considered)}`;
  if (considered === 0)
    return cr.request.siteId !== undefined
      ? `not placeable: site "${cr.request.siteId}" has no nodes`
      : 'not placeable: no nodes';
  const why = rejectedPhrases(rejected, cr);
  if (eligibleCount === 0) return `not placeable: ${nodes(considered)}, none fits: ${why}`;
  const need = cr.replicas === 'all' ? (explicit ? considered : 1) : cr.replicas;
  return `not placeable: needs ${nodes(need)}, ${eligibleCount} of ${considered} fit${why ? `; ${why}` : ''}`;
}

function reservedOf(P: PreparedNodes): ReservedArrays {
  return { cpu: P.reservedCpu, mem: P.reservedMem, storage: P.reservedStorage };
}

/**
 * Places one deployment. Pure and synchronous: nothing is written; the caller records the
 * reservations of `placed` (see `reservationFor`) only when `placeable` is true.
 * Throws `invalid-input` or `placement/invalid-constraints` for a bad request.
 */
export function place(
  request: PlacementRequest,
  nodes: readonly PlacementNode[] | PreparedNodes,
  options: PlaceOptions = {},
): PlacementResult {
  const cr = compileRequest(request);
  const P = isPreparedNodes(nodes) ? nodes : prepareNodes(nodes);
  return run(cr, P, reservedOf(P), options, true);
}

/**
 * Places several deployments one after another, each seeing the capacity the earlier ones reserved.
 * All requests are validated first (an error names `requests[i]`), so a bad one places nothing.
 * Lists only the placed candidates unless asked otherwise (1,000 full lists would be large).
 */
export function placeMany(
  requests: readonly PlacementRequest[],
  nodes: readonly PlacementNode[] | PreparedNodes,
  options: PlaceOptions = { candidates: 'placed' },
): PlacementResult[] {
  if (!Array.isArray(requests)) throw new OutpostError('invalid-input', 'requests: must be an array');
  const compiled = requests.map((r, k) => compileRequest(r, `requests[${k}]`));
  const P = isPreparedNodes(nodes) ? nodes : prepareNodes(nodes);
  const R: ReservedArrays = {
    cpu: P.reservedCpu.slice(),
    mem: P.reservedMem.slice(),
    storage: P.reservedStorage.slice(),
  };
  const out: PlacementResult[] = [];
  for (const cr of compiled) {
    const result = run(cr, P, R, options, false);
    if (result.placeable) {
      for (const uid of result.placed) {
        const i = P.index.get(uid)!;
        R.cpu[i]! += cr.reservation.cpuCores;
        R.mem[i]! += cr.reservation.memoryBytes;
        R.storage[i]! += cr.reservation.storageBytes;
      }
    }
    out.push(result);
  }
  return out;
}
