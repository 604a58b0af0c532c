/**
 * Seeded random fleets and deployment profiles for property tests and benchmarks. Deterministic:
 * the same seed gives the same fleet. Not used by production code.
 */
import type {
  CpuArchitecture,
  DeploymentProfile,
  DeviceCapabilities,
  MatchExpression,
  Presence,
  PlacementNode,
  PlacementRequest,
} from '../../../lib/model/index.js';

/** mulberry32: a small, fast, seedable PRNG (returns [0, 1)). */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function pick<T>(r: () => number, list: readonly T[]): T {
  return list[Math.floor(r() * list.length)]!;
}

function weighted<T>(r: () => number, entries: readonly (readonly [T, number])[]): T {
  const total = entries.reduce((s, e) => s + e[1], 0);
  let x = r() * total;
  for (const [v, w] of entries) {
    x -= w;
    if (x < 0) return v;
  }
  return entries[entries.length - 1]![0];
}

const GI = 1024 ** 3;
const VENDORS = [
  'Northstar Industrial Devices',
  'EdgeCircuit Systems',
  'NanoEdge Devices',
  'SilicaTrail Technologies',
];
const ZONES = ['line-1', 'line-2', 'line-3', 'packaging', 'warehouse'];

export interface FleetOptions {
  nodes: number;
  seed: number;
  sites?: number;
  /** Epoch ms the fleet is observed at. */
  now?: number;
}

export function randomFleet(opts: FleetOptions): PlacementNode[] {
  const r = rng(opts.seed);
  const sites = opts.sites ?? Math.max(1, Math.round(opts.nodes / 500));
  const now = opts.now ?? Date.UTC(2026, 0, 1);
  const out: PlacementNode[] = [];
  let gateway: string | null = null;
  for (let i = 0; i < opts.nodes; i++) {
    const uid = `node-${opts.seed}-${i.toString().padStart(6, '0')}`;
    const presence = weighted<Presence>(r, [
      ['online', 85],
      ['stale', 7],
      ['offline', 5],
      ['unknown', 3],
    ]);
    const arch = weighted<CpuArchitecture>(r, [
      ['amd64', 60],
      ['arm64', 35],
      ['arm', 5],
    ]);
    const cores = pick(r, [2, 4, 8, 16, 24, 32]);
    const memGi = pick(r, [2, 4, 8, 16, 32, 64]);
    const storageGi = pick(r, [32, 64, 128, 256, 512, 1862]);
    const kind = weighted(r, [
      ['both', 60],
      ['compose', 30],
      ['wasm', 10],
    ]);
    const gpu = r() < 0.15;
    const camera = r() < 0.2;
    // Some nodes are MCUs behind the previous gateway: same host.
    const child = kind === 'wasm' && gateway !== null && r() < 0.5;
    if (!child && kind !== 'wasm') gateway = uid;
    const capabilities: DeviceCapabilities | null =
      r() < 0.02
        ? null
        : {
            properties: {
              id: `dev-${i}`,
              vendor: pick(r, VENDORS),
              modelNumber: pick(r, ['332ANZE1-N1', 'EF1.234.32', 'TRS-002']),
              serialNumber: `SN${i}`,
              cpus: [{ cores, architecture: arch }],
              memory: r() < 0.5 ? `${memGi}Gi` : `${memGi} Gi`,
              storage: `${storageGi} Gi`,
              peripherals: [
                ...(gpu ? [{ type: 'gpu' as const, manufacturer: pick(r, ['NVIDIA', 'AMD']) }] : []),
                ...(camera ? [{ type: 'camera' as const }] : []),
              ],
              interfaces: [{ type: 'ethernet' as const }, ...(r() < 0.5 ? [{ type: 'wifi' as const }] : [])],
              otelCollector: r() < 0.5,
              supportedRuntimes: kind === 'wasm' ? ['custom'] : ['oci'],
              supportedDeploymentTypes:
                kind === 'both' ? ['helm', 'compose'] : kind === 'compose' ? ['compose'] : ['custom'],
            },
            labels: {
              'example.com/zone': pick(r, ZONES),
              'example.com/roles': r() < 0.3 ? ['vision', 'plc'] : ['plc'],
            },
            ...(kind === 'wasm' ? { extensions: { 'x-outpost-extensions': { runtimes: ['wasm'] } } } : {}),
          };
    const used = r() * 0.7;
    out.push({
      uid,
      name: `edge-${i}`,
      siteId: `site-${Math.floor(r() * sites)}`,
      ...(child && gateway ? { hostId: gateway } : {}),
      enrolled: r() < 0.97,
      cordoned: r() < 0.02,
      presence,
      lastSeenAt:
        presence === 'unknown' ? null : now - Math.floor(r() * (presence === 'online' ? 30_000 : 3_600_000)),
      capabilities,
      labels: {
        ...(capabilities?.labels ?? {}),
        ...(r() < 0.3 ? { tier: pick(r, ['gold', 'silver']) } : {}),
      },
      reserved: {
        cpuCores: Math.round(cores * used * 4) / 4,
        memoryBytes: Math.floor(memGi * GI * used),
        storageBytes: Math.floor(storageGi * GI * used * 0.5),
      },
    });
  }
  return out;
}

export function randomProfile(r: () => number, id: string): DeploymentProfile {
  const type = weighted<'compose' | 'helm'>(r, [
    ['compose', 60],
    ['helm', 40],
  ]);
  const rules: {
    propertySelector?: { matchExpressions: MatchExpression[] };
    labelSelector?: { matchExpressions: MatchExpression[] };
  }[] = [];
  const ruleKind = r();
  if (ruleKind < 0.3) {
    rules.push({
      propertySelector: {
        matchExpressions: [{ key: '/vendor', operator: 'In', values: [pick(r, VENDORS), pick(r, VENDORS)] }],
      },
      labelSelector: {
        matchExpressions: [{ key: 'example.com/zone', operator: 'NotIn', values: [pick(r, ZONES)] }],
      },
    });
    rules.push({
      labelSelector: { matchExpressions: [{ key: 'example.com/roles', operator: 'In', values: ['vision'] }] },
    });
  } else if (ruleKind < 0.45) {
    rules.push({
      propertySelector: {
        matchExpressions: [
          {
            key: '/peripherals',
            operator: 'ContainsAll',
            itemSelector: { matchExpressions: [{ key: '/type', operator: 'In', values: ['gpu'] }] },
          },
          { key: '/cpus/0/cores', operator: 'Gt', values: [4] },
        ],
      },
    });
  }
  return {
    type,
    id,
    components: [{ name: 'app', properties: { repository: 'oci://registry.local/app', revision: '1.0.0' } }],
    deviceConstraints: {
      capacityRequirements: {
        cpu: {
          cores: pick(r, [0.25, 0.5, 1, 2]),
          ...(r() < 0.3 ? { architectures: [pick(r, ['amd64', 'arm64'] as const)] } : {}),
        },
        memory: pick(r, ['256Mi', '512Mi', '1024Mi', '2Gi', '4Gi']),
        storage: pick(r, ['1Gi', '5Gi', '10Gi', '20Gi']),
      },
      ...(rules.length ? { eligibilityRules: rules } : {}),
    },
  };
}

export function randomRequests(count: number, seed: number, now = Date.UTC(2026, 0, 1)): PlacementRequest[] {
  const r = rng(seed);
  return Array.from({ length: count }, (_, k) => ({
    profile: randomProfile(r, `profile-${k}`),
    replicas: r() < 0.1 ? ('all' as const) : pick(r, [1, 1, 2, 3, 5]),
    now,
    staleAfterMs: 60_000,
    ...(r() < 0.2 ? { preferLabels: { tier: 'gold' } } : {}),
  }));
}
