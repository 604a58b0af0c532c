/**
 * Human-readable reasons, built only for the nodes that are listed (never in the hot loop), and the
 * one-line summary. Codes are stable; messages are for people.
 */
import { OUTPOST_EXTENSION_KEY, type PlacementReason } from '../../lib/model/index.js';
import { ARCHITECTURES, INTERFACE_TYPES, explainRules } from './constraints.js';
import { F_MEM_UNREADABLE, F_STORAGE_UNREADABLE, type PreparedNodes } from './nodes.js';
import { formatBytes, formatCores } from './quantity.js';
import type { CompiledRequest } from './request.js';

/** Failure bits, in the order the primary reason is chosen (lowest bit first). */
export const REASON_CODES = [
  'unknown-node',
  'site',
  'not-enrolled',
  'offline',
  'cordoned',
  'no-capabilities',
  'deployment-type',
  'runtime',
  'arch',
  'capacity.cpu',
  'capacity.memory',
  'capacity.storage',
  'peripheral',
  'interface',
  'selector',
  'rule.no-match',
] as const;
export type FailureCode = (typeof REASON_CODES)[number];

/** Failure bit of each code (bit i = REASON_CODES[i]). */
export const BITS = {
  UNKNOWN: 1 << 0,
  SITE: 1 << 1,
  NOT_ENROLLED: 1 << 2,
  OFFLINE: 1 << 3,
  CORDONED: 1 << 4,
  NO_CAPS: 1 << 5,
  TYPE: 1 << 6,
  RUNTIME: 1 << 7,
  ARCH: 1 << 8,
  CPU: 1 << 9,
  MEM: 1 << 10,
  STORAGE: 1 << 11,
  PERIPH: 1 << 12,
  IFACE: 1 << 13,
  SELECTOR: 1 << 14,
  RULES: 1 << 15,
} as const;

/** The code of the lowest set bit. */
export function primaryCode(bits: number): FailureCode {
  return REASON_CODES[31 - Math.clz32(bits & -bits)]!;
}

export interface ReservedArrays {
  cpu: Float64Array;
  mem: Float64Array;
  storage: Float64Array;
}

function namesOf(mask: number, list: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < list.length; i++) if (mask & (1 << i)) out.push(list[i]!);
  return out;
}

function listOrNone(items: readonly string[]): string {
  return items.length ? items.join(', ') : 'none';
}

export function ago(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 90) return `${s}s`;
  const m = Math.round(s / 60);
  if (m < 90) return `${m}m`;
  const h = Math.round(m / 60);
  if (h < 48) return `${h}h`;
  return `${Math.round(h / 24)}d`;
}

/** Cores usable for the request on node i (the requested architectures only), NaN if unknown. */
export function usableCores(cr: CompiledRequest, P: PreparedNodes, i: number): number {
  const mask = cr.constraints.capacity.archMask;
  if (!mask) return P.cpuTotal[i]!;
  if (Number.isNaN(P.cpuTotal[i]!)) return Number.NaN;
  let sum = 0;
  for (let a = 0; a < ARCHITECTURES.length; a++) if (mask & (1 << a)) sum += P.cpuByArch[a]![i]!;
  return sum;
}

function reasonMessage(
  code: FailureCode,
  cr: CompiledRequest,
  P: PreparedNodes,
  i: number,
  R: ReservedArrays,
): string {
  const node = P.nodes[i]!;
  const cap = cr.constraints.capacity;
  const props = node.capabilities?.properties;
  switch (code) {
    case 'unknown-node':
    case 'site':
      return code; // built by the caller (needs the request)
    case 'not-enrolled':
      return 'node is not enrolled';
    case 'offline': {
      const last = P.lastSeen[i]!;
      return Number.isNaN(last)
        ? 'node is offline (never seen)'
        : `node is offline (last seen ${ago(cr.request.now - last)} ago)`;
    }
    case 'cordoned':
      return 'node is cordoned (no new deployments)';
    case 'no-capabilities':
      return 'no capabilities reported';
    case 'deployment-type':
      return `node does not support deployment type "${cr.profileType}" (supportedDeploymentTypes: ${listOrNone(
        (props?.supportedDeploymentTypes as string[] | undefined) ?? [],
      )})`;
    case 'runtime': {
      // Ocre runs on microcontrollers only: a host (no gateway) is never one (ADR 0441).
      if (cr.outpostRuntime === 'ocre' && node.gatewayId === undefined)
        return 'ocre apps run on microcontrollers, the child devices <host>/<mcu> of a host; this node is a host (list its MCUs under mcus: in its agent.yaml)';
      const wantMargo = cr.profileType === 'custom' ? 'custom' : 'oci';
      const rts = (props?.supportedRuntimes as string[] | undefined) ?? [];
      if (!rts.includes(wantMargo))
        return `node does not offer runtime "${wantMargo}" (supportedRuntimes: ${listOrNone(rts)})`;
      return `node does not offer the ${cr.outpostRuntime} runtime (${OUTPOST_EXTENSION_KEY}.runtimes: ${listOrNone(
        nodeOutpostRuntimes(node.capabilities?.extensions),
      )})`;
    }
    case 'arch':
      return `needs architecture ${cap.architectures.join(' or ')}, node has ${listOrNone(
        namesOf(P.archMask[i]!, ARCHITECTURES),
      )}`;
    case 'capacity.cpu': {
      if (Number.isNaN(P.cpuTotal[i]!))
        return `needs ${formatCores(cap.cpuCores)} CPU cores, node reports no CPUs`;
      const usable = usableCores(cr, P, i);
      const archText = cap.archMask ? ` ${cap.architectures.join('/')}` : '';
      return `needs ${formatCores(cap.cpuCores)}${archText} CPU cores, ${formatCores(usable - R.cpu[i]!)} free (${formatCores(
        usable,
      )} total, ${formatCores(R.cpu[i]!)} reserved)`;
    }
    case 'capacity.memory':
    case 'capacity.storage': {
      const mem = code === 'capacity.memory';
      const what = mem ? 'memory' : 'storage';
      const need = mem ? cap.memoryBytes : cap.storageBytes;
      const total = mem ? P.memTotal[i]! : P.storageTotal[i]!;
      const reserved = mem ? R.mem[i]! : R.storage[i]!;
      if (Number.isNaN(total)) {
        const unreadable = P.flags[i]! & (mem ? F_MEM_UNREADABLE : F_STORAGE_UNREADABLE);
        return unreadable
          ? `needs ${formatBytes(need)} ${what}, node ${what} ${JSON.stringify(props?.[what])} is not a quantity`
          : `needs ${formatBytes(need)} ${what}, node reports no ${what}`;
      }
      return `needs ${formatBytes(need)} ${what}, ${formatBytes(total - reserved)} free (${formatBytes(total)} total, ${formatBytes(
        reserved,
      )} reserved)`;
    }
    case 'peripheral': {
      const has = (props?.peripherals ?? []).map((p) =>
        [p.type, p.manufacturer, p.model].filter((x) => x !== undefined).join(' '),
      );
      const missing = cr.constraints.peripherals
        .filter((w) => !peripheralPresent(w, props?.peripherals))
        .map((w) => [w.type, w.manufacturer, w.model].filter((x) => x !== undefined).join(' '));
      return `needs peripheral ${missing.join(', ')} (node has: ${listOrNone(has)})`;
    }
    case 'interface': {
      const missing = namesOf(cr.constraints.interfaceMask & ~P.interfaceMask[i]!, INTERFACE_TYPES);
      return `needs interface ${missing.join(', ')} (node has: ${listOrNone(namesOf(P.interfaceMask[i]!, INTERFACE_TYPES))})`;
    }
    case 'selector': {
      const failing = cr.selector.filter(([k, v]) => !labelMatches(node.labels?.[k], v));
      return failing
        .map(([k, v]) => {
          const have = node.labels?.[k];
          return `selector ${k}=${v} does not match (${have === undefined ? 'label absent' : `label is ${JSON.stringify(have)}`})`;
        })
        .join('; ');
    }
    case 'rule.no-match':
      return explainRules(cr.constraints.rules ?? [], props, node.labels ?? {});
  }
}

export function nodeOutpostRuntimes(extensions: Record<string, unknown> | undefined): string[] {
  const ext = extensions?.[OUTPOST_EXTENSION_KEY] as { runtimes?: unknown } | undefined;
  return Array.isArray(ext?.runtimes) ? ext.runtimes.filter((x): x is string => typeof x === 'string') : [];
}

export function peripheralPresent(
  want: { type: string; manufacturer?: string; model?: string },
  have: readonly { type: string; manufacturer?: string; model?: string }[] | undefined,
): boolean {
  if (!Array.isArray(have)) return false;
  for (const p of have) {
    if (p?.type !== want.type) continue;
    if (want.manufacturer !== undefined && p.manufacturer !== want.manufacturer) continue;
    if (want.model !== undefined && p.model !== want.model) continue;
    return true;
  }
  return false;
}

/** Operator `key=value` matching: a string label equals the value; numbers and booleans compare as text; arrays match on any element. */
export function labelMatches(have: unknown, want: string): boolean {
  if (typeof have === 'string') return have === want;
  if (typeof have === 'number' || typeof have === 'boolean') return String(have) === want;
  if (Array.isArray(have)) {
    for (let i = 0; i < have.length; i++) if (String(have[i]) === want) return true;
  }
  return false;
}

/** Every reason for the failure bits of node i. */
export function reasonsFor(
  bits: number,
  cr: CompiledRequest,
  P: PreparedNodes,
  i: number,
  R: ReservedArrays,
): PlacementReason[] {
  const out: PlacementReason[] = [];
  for (let b = 0; b < REASON_CODES.length; b++) {
    if (!(bits & (1 << b))) continue;
    const code = REASON_CODES[b]!;
    if (code === 'site') {
      out.push({ code, message: `node is in site "${P.nodes[i]!.siteId}", not "${cr.request.siteId}"` });
      continue;
    }
    out.push({ code, message: reasonMessage(code, cr, P, i, R) });
  }
  return out;
}

function plural(n: number, one: string, many: string): string {
  return n === 1 ? one : many;
}

/** Short phrase for the summary, e.g. "4 lack memory (need 2Gi)". */
export function summaryPhrase(code: string, n: number, cr: CompiledRequest): string {
  const cap = cr.constraints.capacity;
  switch (code) {
    case 'unknown-node':
      return `${n} unknown`;
    case 'site':
      return `${n} in another site`;
    case 'not-enrolled':
      return `${n} not enrolled`;
    case 'offline':
      return `${n} offline`;
    case 'cordoned':
      return `${n} cordoned`;
    case 'no-capabilities':
      return `${n} without capabilities`;
    case 'deployment-type':
      return `${n} ${plural(n, 'lacks', 'lack')} deployment type ${cr.profileType}`;
    case 'runtime':
      return `${n} ${plural(n, 'lacks', 'lack')} runtime ${cr.outpostRuntime ?? (cr.profileType === 'custom' ? 'custom' : 'oci')}`;
    case 'arch':
      return `${n} wrong architecture (need ${cap.architectures.join(' or ')})`;
    case 'capacity.cpu':
      return `${n} ${plural(n, 'lacks', 'lack')} CPU (need ${formatCores(cap.cpuCores)} cores)`;
    case 'capacity.memory':
      return `${n} ${plural(n, 'lacks', 'lack')} memory (need ${formatBytes(cap.memoryBytes)})`;
    case 'capacity.storage':
      return `${n} ${plural(n, 'lacks', 'lack')} storage (need ${formatBytes(cap.storageBytes)})`;
    case 'peripheral':
      return `${n} ${plural(n, 'lacks', 'lack')} peripherals (need ${cr.constraints.peripherals.map((p) => p.type).join(', ')})`;
    case 'interface':
      return `${n} ${plural(n, 'lacks', 'lack')} interfaces (need ${cr.constraints.interfaces.join(', ')})`;
    case 'selector':
      return `${n} outside the selector`;
    case 'rule.no-match':
      return `${n} ${plural(n, 'matches', 'match')} no eligibility rule`;
    default:
      return `${n} ${code}`;
  }
}

export function rejectedPhrases(rejected: Record<string, number>, cr: CompiledRequest): string {
  const order = (c: string): number => {
    const i = (REASON_CODES as readonly string[]).indexOf(c);
    return i < 0 ? REASON_CODES.length : i;
  };
  return Object.entries(rejected)
    .sort((a, b) => b[1] - a[1] || order(a[0]) - order(b[0]))
    .map(([code, n]) => summaryPhrase(code, n, cr))
    .join(', ');
}
