/**
 * Property-based tests (fast-check) of placement against a deliberately naive reference model written
 * here from the spec text, independent of the engine's compiled fast path.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type DeploymentProfile,
  type DeviceConstraints,
  type EligibilityRule,
  type MatchExpression,
  type PlacementNode,
  type PlacementRequest,
  parseByteQuantity,
} from '../../lib/model/index.js';
import { place, placeMany, prepareNodes } from './index.js';
import { randomFleet, randomProfile, rng } from './testing/random-fleet.js';

const NOW = Date.UTC(2026, 0, 1);

// ---------- reference model ----------

function refResolve(doc: unknown, pointer: string): { found: boolean; value?: unknown } {
  if (pointer === '') return { found: true, value: doc };
  let cur = doc;
  for (const raw of pointer.slice(1).split('/')) {
    const token = raw.replaceAll('~1', '/').replaceAll('~0', '~');
    if (Array.isArray(cur)) {
      if (!/^(0|[1-9][0-9]*)$/.test(token) || Number(token) >= cur.length) return { found: false };
      cur = cur[Number(token)];
    } else if (cur !== null && typeof cur === 'object' && Object.keys(cur).includes(token)) {
      cur = (cur as Record<string, unknown>)[token];
    } else return { found: false };
  }
  return cur === undefined ? { found: false } : { found: true, value: cur };
}

function refExpr(e: MatchExpression, root: unknown, isLabel: boolean): boolean {
  const { found, value } = isLabel
    ? root !== null && typeof root === 'object' && Object.keys(root).includes(e.key)
      ? { found: true, value: (root as Record<string, unknown>)[e.key] }
      : { found: false }
    : refResolve(root, e.key);
  const values = e.values ?? [];
  const type = typeof values[0];
  const scalarsOfType = (v: unknown): unknown[] | null => {
    if (typeof v === type) return [v];
    if (Array.isArray(v) && v.every((x) => typeof x === type)) return v;
    return null;
  };
  switch (e.operator) {
    case 'Exists':
      return found;
    case 'DoesNotExist':
      return !found;
    case 'In': {
      const list = found ? scalarsOfType(value) : null;
      return list !== null && list.some((x) => values.includes(x as never));
    }
    case 'NotIn': {
      const list = found ? scalarsOfType(value) : null;
      return list !== null && !list.some((x) => values.includes(x as never));
    }
    case 'Gt':
      return found && typeof value === 'number' && value > Number(values[0]);
    case 'Lt':
      return found && typeof value === 'number' && value < Number(values[0]);
    case 'ContainsAll':
    case 'ContainsAny': {
      if (!found || !Array.isArray(value) || value.length === 0) return false;
      if (!value.every((x) => x !== null && typeof x === 'object' && !Array.isArray(x))) return false;
      const items = e.itemSelector!.matchExpressions;
      return value.some((el) =>
        e.operator === 'ContainsAll'
          ? items.every((i) => refExpr(i, el, false))
          : items.some((i) => refExpr(i, el, false)),
      );
    }
  }
}

function refRules(rules: EligibilityRule[] | undefined, props: unknown, labels: unknown): boolean {
  if (!rules || rules.length === 0) return true;
  return rules.some(
    (r) =>
      (!r.propertySelector || r.propertySelector.matchExpressions.every((e) => refExpr(e, props, false))) &&
      (!r.labelSelector || r.labelSelector.matchExpressions.every((e) => refExpr(e, labels, true))),
  );
}

/** Is node n eligible for profile p given the reservations `reserved` (reference model)? */
function refEligible(
  n: PlacementNode,
  p: DeploymentProfile,
  reserved = n.reserved,
  selector: Record<string, string> = {},
): boolean {
  if (!n.enrolled || n.cordoned || n.presence === 'offline' || !n.capabilities) return false;
  const props = n.capabilities.properties;
  if (!(props.supportedDeploymentTypes ?? []).includes(p.type)) return false;
  if (!(props.supportedRuntimes ?? []).includes(p.type === 'custom' ? 'custom' : 'oci')) return false;
  const dc: DeviceConstraints = p.deviceConstraints ?? {};
  const cap = dc.capacityRequirements ?? {};
  if (cap.cpu) {
    const archs = cap.cpu.architectures;
    const cpus = (props.cpus ?? []).filter((c) => !archs || archs.includes(c.architecture!));
    if (!props.cpus?.length || (archs && cpus.length === 0)) return false;
    const cores = cpus.reduce((s, c) => s + c.cores, 0);
    if (cores - reserved.cpuCores < cap.cpu.cores - 1e-9) return false;
  }
  for (const dim of ['memory', 'storage'] as const) {
    if (!cap[dim]) continue;
    const total = parseByteQuantity(props[dim]);
    const used = dim === 'memory' ? reserved.memoryBytes : reserved.storageBytes;
    if (total === null || total - used < parseByteQuantity(cap[dim])!) return false;
  }
  for (const [k, v] of Object.entries(selector)) {
    const have = n.labels[k];
    const texts = Array.isArray(have) ? have.map(String) : have === undefined ? [] : [String(have)];
    if (!texts.includes(v)) return false;
  }
  return refRules(dc.eligibilityRules, props, n.labels);
}

// ---------- generators ----------

const propertyKeys = [
  '/vendor',
  '/cpus/0/cores',
  '/cpus/0/architecture',
  '/supportedDeploymentTypes',
  '/otelCollector',
  '/memory',
  '/missing',
  '/peripherals',
];
const labelKeys = ['example.com/zone', 'example.com/roles', 'tier', 'missing'];
const strings = [
  'EdgeCircuit Systems',
  'NanoEdge Devices',
  'Northstar Industrial Devices',
  'amd64',
  'arm64',
  'helm',
  'compose',
  'line-1',
  'line-2',
  'plc',
  'vision',
  'gold',
  '8 Gi',
  '16Gi',
];
const numbers = [2, 4, 8, 16, 24];

const valuesArb: fc.Arbitrary<(string | number | boolean)[]> = fc.oneof(
  fc.uniqueArray(fc.constantFrom(...strings), { minLength: 1, maxLength: 3 }),
  fc.uniqueArray(fc.constantFrom(...numbers), { minLength: 1, maxLength: 3 }),
  fc.boolean().map((b) => [b]),
);

const itemArb: fc.Arbitrary<MatchExpression> = fc.oneof(
  fc.record({
    key: fc.constant('/type'),
    operator: fc.constantFrom('In' as const, 'NotIn' as const),
    values: fc.uniqueArray(fc.constantFrom('gpu', 'camera', 'display'), { minLength: 1, maxLength: 2 }),
  }),
  fc.record({
    key: fc.constantFrom('/manufacturer', '/model'),
    operator: fc.constantFrom('Exists' as const, 'DoesNotExist' as const),
  }),
  fc.record({
    key: fc.constant('/manufacturer'),
    operator: fc.constant('In' as const),
    values: fc.constant<string[]>(['NVIDIA']),
  }),
);

function exprArb(keys: string[], withContains: boolean): fc.Arbitrary<MatchExpression> {
  const arbs: fc.Arbitrary<MatchExpression>[] = [
    fc.record({
      key: fc.constantFrom(...keys),
      operator: fc.constantFrom('In' as const, 'NotIn' as const),
      values: valuesArb,
    }),
    fc.record({
      key: fc.constantFrom(...keys),
      operator: fc.constantFrom('Exists' as const, 'DoesNotExist' as const),
    }),
    fc.record({
      key: fc.constantFrom(...keys),
      operator: fc.constantFrom('Gt' as const, 'Lt' as const),
      values: fc.constantFrom(...numbers).map((n) => [n]),
    }),
  ];
  if (withContains)
    arbs.push(
      fc.record({
        key: fc.constantFrom('/peripherals', '/interfaces', '/vendor'),
        operator: fc.constantFrom('ContainsAll' as const, 'ContainsAny' as const),
        itemSelector: fc.record({ matchExpressions: fc.array(itemArb, { minLength: 1, maxLength: 3 }) }),
      }),
    );
  return fc.oneof(...arbs);
}

const ruleArb: fc.Arbitrary<EligibilityRule> = fc
  .record(
    {
      propertySelector: fc.record({
        matchExpressions: fc.array(exprArb(propertyKeys, true), { minLength: 1, maxLength: 3 }),
      }),
      labelSelector: fc.record({
        matchExpressions: fc.array(exprArb(labelKeys, false), { minLength: 1, maxLength: 2 }),
      }),
    },
    { requiredKeys: [] },
  )
  .filter((r) => r.propertySelector !== undefined || r.labelSelector !== undefined);

const profileArb: fc.Arbitrary<DeploymentProfile> = fc.record({
  type: fc.constantFrom('compose' as const, 'helm' as const),
  id: fc.constant('p'),
  components: fc.constant([]),
  deviceConstraints: fc.record(
    {
      capacityRequirements: fc.record(
        {
          cpu: fc.record(
            {
              cores: fc.constantFrom(0.25, 0.5, 1, 2, 4, 8, 16),
              architectures: fc.uniqueArray(
                fc.constantFrom('amd64' as const, 'arm64' as const, 'arm' as const),
                { minLength: 1, maxLength: 2 },
              ),
            },
            { requiredKeys: ['cores'] },
          ),
          memory: fc.constantFrom('256Mi', '1024Mi', '2Gi', '8Gi', '32Gi'),
          storage: fc.constantFrom('1Gi', '10Gi', '100Gi', '1Ti'),
        },
        { requiredKeys: [] },
      ),
      eligibilityRules: fc.array(ruleArb, { maxLength: 3 }),
    },
    { requiredKeys: [] },
  ),
});

const requestArb = (nodes: number): fc.Arbitrary<PlacementRequest> =>
  fc.record(
    {
      profile: profileArb,
      replicas: fc.oneof(
        fc.constant('all' as const),
        fc.integer({ min: 1, max: Math.max(1, Math.ceil(nodes / 3)) }),
      ),
      selector: fc.constantFrom<Record<string, string>>({ tier: 'gold' }, { 'example.com/roles': 'vision' }),
      preferLabels: fc.constantFrom<Record<string, string>>(
        { tier: 'gold' },
        { 'example.com/zone': 'line-1' },
      ),
      now: fc.constant(NOW),
      staleAfterMs: fc.constant(60_000),
    },
    { requiredKeys: ['profile', 'replicas', 'now', 'staleAfterMs'] },
  );

const fleetArb = fc.record({
  seed: fc.integer({ min: 1, max: 1_000_000 }),
  size: fc.integer({ min: 1, max: 60 }),
});

// ---------- properties ----------

describe('placement properties', () => {
  it('marks exactly the nodes the reference model finds eligible, and never places on another', () => {
    fc.assert(
      fc.property(fleetArb, requestArb(60), ({ seed, size }, req) => {
        const nodes = randomFleet({ nodes: size, seed, sites: 2, now: NOW });
        const r = place(req, nodes);
        const expected = nodes
          .filter((n) => refEligible(n, req.profile, n.reserved, req.selector))
          .map((n) => n.uid);
        const eligible = r.candidates.filter((c) => c.eligible).map((c) => c.uid);
        expect(eligible.sort()).toEqual(expected.sort());
        for (const uid of r.placed) expect(expected).toContain(uid);
        expect(r.eligibleCount).toBe(expected.length);
        expect(r.considered).toBe(size);
      }),
      { numRuns: 200 },
    );
  });

  it('places exactly the requested number of distinct nodes, or nothing', () => {
    fc.assert(
      fc.property(fleetArb, requestArb(60), ({ seed, size }, req) => {
        const r = place(req, randomFleet({ nodes: size, seed, now: NOW }));
        expect(new Set(r.placed).size).toBe(r.placed.length);
        if (!r.placeable) expect(r.placed).toEqual([]);
        else if (req.replicas === 'all') expect(r.placed.length).toBe(r.eligibleCount);
        else expect(r.placed.length).toBe(req.replicas);
        expect(r.candidates.filter((c) => c.placed).map((c) => c.uid)).toEqual(r.placed);
      }),
      { numRuns: 200 },
    );
  });

  it('never exceeds a node capacity across many placements', () => {
    fc.assert(
      fc.property(
        fleetArb,
        fc.array(requestArb(20), { minLength: 1, maxLength: 25 }),
        ({ seed, size }, reqs) => {
          const nodes = randomFleet({ nodes: size, seed, now: NOW });
          const results = placeMany(reqs, nodes);
          const used = new Map(nodes.map((n) => [n.uid, { ...n.reserved }]));
          results.forEach((res, k) => {
            const profile = reqs[k]!.profile;
            const cap = profile.deviceConstraints?.capacityRequirements ?? {};
            for (const uid of res.placed) {
              const node = nodes.find((n) => n.uid === uid)!;
              const u = used.get(uid)!;
              // Eligible with the reservations made so far, per the reference model ...
              expect(refEligible(node, profile, u)).toBe(true);
              u.cpuCores += cap.cpu?.cores ?? 0;
              u.memoryBytes += cap.memory ? parseByteQuantity(cap.memory)! : 0;
              u.storageBytes += cap.storage ? parseByteQuantity(cap.storage)! : 0;
              // ... and within capacity afterwards.
              const props = node.capabilities!.properties;
              if (cap.cpu)
                expect(u.cpuCores).toBeLessThanOrEqual(props.cpus!.reduce((s, c) => s + c.cores, 0) + 1e-9);
              if (cap.memory) expect(u.memoryBytes).toBeLessThanOrEqual(parseByteQuantity(props.memory)!);
              if (cap.storage) expect(u.storageBytes).toBeLessThanOrEqual(parseByteQuantity(props.storage)!);
            }
          });
        },
      ),
      { numRuns: 100 },
    );
  });

  it('gives the same placement for the same input, whatever the order of the nodes', () => {
    fc.assert(
      fc.property(fleetArb, requestArb(60), fc.integer(), ({ seed, size }, req, shuffleSeed) => {
        const nodes = randomFleet({ nodes: size, seed, now: NOW });
        const a = place(req, nodes);
        const b = place(req, nodes);
        expect(JSON.stringify(b)).toBe(JSON.stringify(a));
        const r = rng(shuffleSeed);
        const shuffled = [...nodes].sort(() => r() - 0.5);
        const c = place(req, prepareNodes(shuffled));
        expect(c.placed).toEqual(a.placed);
        expect(JSON.stringify(c.candidates)).toBe(JSON.stringify(a.candidates));
      }),
      { numRuns: 100 },
    );
  });

  it('agrees with the reference model on the benchmark profiles too', () => {
    const nodes = randomFleet({ nodes: 400, seed: 7, now: NOW });
    const r = rng(11);
    for (let k = 0; k < 40; k++) {
      const profile = randomProfile(r, `p${k}`);
      const res = place({ profile, replicas: 'all', now: NOW, staleAfterMs: 60_000 }, nodes);
      const expected = nodes.filter((n) => refEligible(n, profile)).map((n) => n.uid);
      expect(res.placed.slice().sort()).toEqual(expected.sort());
    }
  });
});
