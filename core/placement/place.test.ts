import { describe, expect, it } from 'vitest';
import { OutpostError } from '../../lib/errors/index.js';
import { PREFERRED_LABEL, place, placeMany, prepareNodes } from './index.js';
import type { PlacementNode, PlacementResult } from '../../lib/model/index.js';
import {
  Gi,
  NOW,
  testNode as node,
  testProfile as profile,
  testRequest as request,
} from './testing/nodes.js';

function candidate(result: PlacementResult, uid: string) {
  const c = result.candidates.find((x) => x.uid === uid);
  if (!c) throw new Error(`no candidate ${uid}`);
  return c;
}

function codes(result: PlacementResult, uid: string): string[] {
  return candidate(result, uid).reasons.map((r) => r.code);
}

function errorOf(fn: () => unknown): OutpostError {
  try {
    fn();
  } catch (err) {
    if (err instanceof OutpostError) return err;
    throw err;
  }
  throw new Error('expected an OutpostError');
}

const needs = (cpu: number, memory?: string, storage?: string) =>
  profile({
    capacityRequirements: {
      cpu: { cores: cpu },
      ...(memory ? { memory } : {}),
      ...(storage ? { storage } : {}),
    },
  });

describe('filters', () => {
  it.each<[string, PlacementNode, string, RegExp]>([
    ['not enrolled', node('n', { enrolled: false }), 'not-enrolled', /not enrolled/],
    [
      'offline',
      node('n', { presence: 'offline', lastSeenAt: NOW - 2 * 3600_000 }),
      'offline',
      /offline \(last seen 2h ago\)/,
    ],
    ['offline, never seen', node('n', { presence: 'offline', lastSeenAt: null }), 'offline', /never seen/],
    ['cordoned', node('n', { cordoned: true }), 'cordoned', /cordoned/],
    ['no capabilities', node('n', { capabilities: null }), 'no-capabilities', /no capabilities reported/],
    [
      'deployment type not supported',
      node('n', { props: { supportedDeploymentTypes: ['helm'] } }),
      'deployment-type',
      /deployment type "compose" \(supportedDeploymentTypes: helm\)/,
    ],
    [
      'no oci runtime',
      node('n', { props: { supportedRuntimes: ['custom'] } }),
      'runtime',
      /runtime "oci" \(supportedRuntimes: custom\)/,
    ],
    [
      'deployment types not reported',
      node('n', { props: { supportedDeploymentTypes: undefined } }),
      'deployment-type',
      /supportedDeploymentTypes: none/,
    ],
  ])('%s', (_name, n, code, message) => {
    const r = place(request(), [n]);
    expect(r.placeable).toBe(false);
    expect(r.placed).toEqual([]);
    const c = candidate(r, 'n');
    expect(c.eligible).toBe(false);
    expect(c.reasons[0]!.code).toBe(code);
    expect(c.reasons[0]!.message).toMatch(message);
  });

  it('keeps stale and unknown nodes eligible (only offline ones are excluded)', () => {
    const r = place(request({ replicas: 'all' }), [
      node('a', { presence: 'stale', lastSeenAt: NOW - 10 * 60_000 }),
      node('b', { presence: 'unknown', lastSeenAt: null }),
    ]);
    expect(r.placed.sort()).toEqual(['a', 'b']);
  });

  it('lists every failing check of a node, not only the first', () => {
    const r = place(request({ profile: needs(16, '32Gi') }), [
      node('n', { cordoned: true, presence: 'offline' }),
    ]);
    expect(codes(r, 'n')).toEqual(['offline', 'cordoned', 'capacity.cpu', 'capacity.memory']);
  });

  it('evaluates eligibility rules only for nodes that pass capacity (capacity first)', () => {
    const p = profile({
      capacityRequirements: { memory: '64Gi' },
      eligibilityRules: [
        { labelSelector: { matchExpressions: [{ key: 'zone', operator: 'In', values: ['a'] }] } },
      ],
    });
    const r = place(request({ profile: p }), [node('n', { labels: { zone: 'b' } })]);
    expect(codes(r, 'n')).toEqual(['capacity.memory']);
  });

  it('matches custom wasm profiles against the node runtimes extension', () => {
    const wasmProfile = profile(undefined, {
      type: 'custom',
      extensions: { 'x-outpost-extensions': { runtime: 'wasm' } },
    });
    const custom = { supportedRuntimes: ['custom' as const], supportedDeploymentTypes: ['custom' as const] };
    const r = place(request({ profile: wasmProfile, replicas: 'all' }), [
      node('wasm', { props: custom, extensions: { 'x-outpost-extensions': { runtimes: ['wasm'] } } }),
      node('ocre', { props: custom, extensions: { 'x-outpost-extensions': { runtimes: ['ocre'] } } }),
      node('none', { props: custom }),
      node('oci', { extensions: { 'x-outpost-extensions': { runtimes: ['wasm'] } } }),
    ]);
    expect(r.placed).toEqual(['wasm']);
    expect(candidate(r, 'ocre').reasons[0]).toEqual({
      code: 'runtime',
      message: 'node does not offer the wasm runtime (x-outpost-extensions.runtimes: ocre)',
    });
    expect(codes(r, 'none')).toEqual(['runtime']);
    expect(codes(r, 'oci')).toEqual(['deployment-type', 'runtime']);
  });

  it('places a custom profile without our extension on any custom node (its rules decide the rest)', () => {
    const r = place(request({ profile: profile(undefined, { type: 'custom' }) }), [
      node('c', { props: { supportedRuntimes: ['custom'], supportedDeploymentTypes: ['custom'] } }),
    ]);
    expect(r.placed).toEqual(['c']);
  });

  it('checks architectures and counts only matching cores', () => {
    const p = profile({ capacityRequirements: { cpu: { cores: 6, architectures: ['arm64'] } } });
    const r = place(request({ profile: p, replicas: 'all' }), [
      node('amd', {}),
      node('mixed', {
        props: {
          cpus: [
            { cores: 4, architecture: 'arm64' },
            { cores: 8, architecture: 'amd64' },
          ],
        },
      }),
      node('arm', {
        props: {
          cpus: [
            { cores: 4, architecture: 'arm64' },
            { cores: 4, architecture: 'arm64' },
          ],
        },
      }),
      node('noarch', { props: { cpus: [{ cores: 64 }] } }),
    ]);
    expect(r.placed).toEqual(['arm']);
    expect(candidate(r, 'amd').reasons[0]).toEqual({
      code: 'arch',
      message: 'needs architecture arm64, node has amd64',
    });
    expect(candidate(r, 'mixed').reasons[0]!.message).toBe(
      'needs 6 arm64 CPU cores, 4 free (4 total, 0 reserved)',
    );
    expect(codes(r, 'noarch')).toEqual(['arch']);
  });

  it('subtracts what existing deployments reserve, and accepts an exact fit', () => {
    const r = place(request({ profile: needs(2, '4Gi', '50Gi'), replicas: 'all' }), [
      node('exact', { reserved: { cpuCores: 6, memoryBytes: 12 * Gi, storageBytes: 50 * Gi } }),
      node('cpu', { reserved: { cpuCores: 6.5, memoryBytes: 0, storageBytes: 0 } }),
      node('mem', { reserved: { cpuCores: 0, memoryBytes: 12.5 * Gi, storageBytes: 0 } }),
      node('disk', { reserved: { cpuCores: 0, memoryBytes: 0, storageBytes: 60 * Gi } }),
    ]);
    expect(r.placed).toEqual(['exact']);
    expect(candidate(r, 'exact').capacityAfter).toEqual({ cpuCores: 0, memoryBytes: 0, storageBytes: 0 });
    expect(candidate(r, 'cpu').reasons[0]!.message).toBe(
      'needs 2 CPU cores, 1.5 free (8 total, 6.5 reserved)',
    );
    expect(candidate(r, 'mem').reasons[0]!.message).toBe(
      'needs 4Gi memory, 3.5Gi free (16Gi total, 12.5Gi reserved)',
    );
    expect(candidate(r, 'disk').reasons[0]!.message).toBe(
      'needs 50Gi storage, 40Gi free (100Gi total, 60Gi reserved)',
    );
    expect(candidate(r, 'mem').capacityAfter?.memoryBytes).toBe(-0.5 * Gi);
  });

  it('reads capability quantities with a space ("59 Gi") and rejects unreported or unreadable ones', () => {
    const r = place(request({ profile: needs(1, '40Gi', '1Ti'), replicas: 'all' }), [
      node('spaced', { props: { memory: '59 Gi', storage: '1862 Gi' } }),
      node('nocpu', { props: { cpus: undefined, memory: '59 Gi', storage: '1862 Gi' } }),
      node('nomem', { props: { memory: undefined, storage: '1862 Gi' } }),
      node('garbled', { props: { memory: 'plenty', storage: '1862 Gi' } }),
    ]);
    expect(r.placed).toEqual(['spaced']);
    expect(candidate(r, 'nocpu').reasons[0]!.message).toBe('needs 1 CPU cores, node reports no CPUs');
    expect(candidate(r, 'nomem').reasons[0]!.message).toBe('needs 40Gi memory, node reports no memory');
    expect(candidate(r, 'garbled').reasons[0]!.message).toBe(
      'needs 40Gi memory, node memory "plenty" is not a quantity',
    );
  });

  it('honours legacy required peripherals (with manufacturer) and interfaces', () => {
    const p = profile({
      requiredPeripherals: [{ type: 'gpu', manufacturer: 'NVIDIA' }, { type: 'display' }],
      requiredInterfaces: [{ type: 'ethernet' }, { type: 'bluetooth' }],
    });
    const all = { interfaces: [{ type: 'ethernet' as const }, { type: 'bluetooth' as const }] };
    const r = place(request({ profile: p, replicas: 'all' }), [
      node('ok', {
        props: { ...all, peripherals: [{ type: 'gpu', manufacturer: 'NVIDIA' }, { type: 'display' }] },
      }),
      node('amd', {
        props: { ...all, peripherals: [{ type: 'gpu', manufacturer: 'AMD' }, { type: 'display' }] },
      }),
      node('nodisplay', { props: { ...all, peripherals: [{ type: 'gpu', manufacturer: 'NVIDIA' }] } }),
      node('nobt', {
        props: { peripherals: [{ type: 'gpu', manufacturer: 'NVIDIA' }, { type: 'display' }] },
      }),
    ]);
    expect(r.placed).toEqual(['ok']);
    expect(candidate(r, 'amd').reasons[0]).toEqual({
      code: 'peripheral',
      message: 'needs peripheral gpu NVIDIA (node has: gpu AMD, display)',
    });
    expect(codes(r, 'nodisplay')).toEqual(['peripheral']);
    expect(candidate(r, 'nobt').reasons[0]).toEqual({
      code: 'interface',
      message: 'needs interface bluetooth (node has: ethernet)',
    });
  });

  it('applies the operator selector (ANDed, labels with arrays, numbers and booleans as text)', () => {
    const r = place(request({ selector: { zone: 'line-1', vision: 'true' }, replicas: 'all' }), [
      node('a', { labels: { zone: 'line-1', vision: true } }),
      node('b', { labels: { zone: ['line-2', 'line-1'], vision: 'true' } }),
      node('c', { labels: { zone: 'line-1' } }),
      node('d', { labels: { zone: 'line-2', vision: true } }),
    ]);
    expect(r.placed.sort()).toEqual(['a', 'b']);
    expect(candidate(r, 'c').reasons[0]).toEqual({
      code: 'selector',
      message: 'selector vision=true does not match (label absent)',
    });
    expect(candidate(r, 'd').reasons[0]!.message).toBe(
      'selector zone=line-1 does not match (label is "line-2")',
    );
  });

  it('explains a failed eligibility rule with the value it saw', () => {
    const p = profile({
      eligibilityRules: [
        {
          propertySelector: {
            matchExpressions: [{ key: '/vendor', operator: 'In', values: ['NanoEdge Devices'] }],
          },
        },
      ],
    });
    const r = place(request({ profile: p }), [node('n')]);
    expect(candidate(r, 'n').reasons).toEqual([
      {
        code: 'rule.no-match',
        message:
          'no eligibility rule matches (rule 1: /vendor In ["NanoEdge Devices"]: /vendor is "Northstar Industrial Devices", not in ["NanoEdge Devices"])',
      },
    ]);
  });
});

describe('scoring and selection', () => {
  it('prefers the node with the most free capacity after placement', () => {
    const r = place(request({ profile: needs(1, '1Gi') }), [
      node('busy', { reserved: { cpuCores: 6, memoryBytes: 12 * Gi, storageBytes: 0 } }),
      node('idle'),
    ]);
    expect(r.placed).toEqual(['idle']);
    expect(candidate(r, 'idle').score!).toBeGreaterThan(candidate(r, 'busy').score!);
    expect(candidate(r, 'busy').reasons[0]!.code).toBe('not-selected');
  });

  it('prefers a node that reported recently over a stale one', () => {
    // Named so that the uid tie-break alone would pick the stale one.
    const r = place(request(), [
      node('a-stale', { presence: 'stale', lastSeenAt: NOW - 5 * 60_000 }),
      node('b-fresh'),
    ]);
    expect(r.placed).toEqual(['b-fresh']);
    const old = place(request(), [node('a-old', { lastSeenAt: NOW - 10 * 60_000 }), node('b-recent')]);
    expect(old.placed).toEqual(['b-recent']);
  });

  it('prefers nodes with the operator preference labels', () => {
    const r = place(request({ preferLabels: { tier: 'gold' } }), [
      node('a'),
      node('b', { labels: { tier: 'gold' } }),
    ]);
    expect(r.placed).toEqual(['b']);
  });

  it('prefers the nodes an operator labelled outpost.dev/preferred=true when the request names no labels', () => {
    const nodes = [node('a'), node('b', { labels: { [PREFERRED_LABEL]: 'true' } }), node('c')];
    const r = place(request({ replicas: 1 }), nodes);
    expect(r.placed).toEqual(['b']);
    const [a, b] = [candidate(r, 'a'), candidate(r, 'b')];
    expect(b.score! - a.score!).toBeCloseTo(30, 3); // the whole preference weight
    // "false" (or any other value) is no preference, and a request's own labels replace the default.
    expect(
      place(request({ replicas: 1 }), [node('a'), node('b', { labels: { [PREFERRED_LABEL]: 'false' } })])
        .placed,
    ).toEqual(['a']);
    const own = place(request({ replicas: 1, preferLabels: { tier: 'gold' } }), [
      node('a', { labels: { tier: 'gold' } }),
      node('b', { labels: { [PREFERRED_LABEL]: 'true' } }),
    ]);
    expect(own.placed).toEqual(['a']);
  });

  it('keeps GPU nodes for apps that ask for a GPU, and prefers them for such apps', () => {
    const nodes = [
      node('gpu', { props: { peripherals: [{ type: 'gpu', manufacturer: 'NVIDIA' }] } }),
      node('plain'),
    ];
    expect(place(request(), nodes).placed).toEqual(['plain']);
    const wantsGpu = profile({
      eligibilityRules: [
        {
          propertySelector: {
            matchExpressions: [
              {
                key: '/peripherals',
                operator: 'ContainsAny',
                itemSelector: { matchExpressions: [{ key: '/type', operator: 'In', values: ['gpu'] }] },
              },
            ],
          },
        },
      ],
    });
    expect(place(request({ profile: wantsGpu }), nodes).placed).toEqual(['gpu']);
  });

  it('breaks ties on the uid, whatever the input order', () => {
    const nodes = ['n3', 'n1', 'n2'].map((u) => node(u));
    const a = place(request({ replicas: 2 }), nodes);
    const b = place(request({ replicas: 2 }), [...nodes].reverse());
    expect(a.placed).toEqual(['n1', 'n2']);
    expect(b.placed).toEqual(['n1', 'n2']);
    expect(a.candidates.map((c) => c.rank)).toEqual([1, 2, 3]);
  });

  it('spreads replicas over hosts before doubling up', () => {
    const nodes = [
      node('a1', { hostId: 'host-a' }),
      node('a2', { hostId: 'host-a' }),
      node('b1', { hostId: 'host-b', reserved: { cpuCores: 4, memoryBytes: 8 * Gi, storageBytes: 0 } }),
    ];
    const two = place(request({ profile: needs(1, '1Gi'), replicas: 2 }), nodes);
    expect(two.placed).toEqual(['a1', 'b1']);
    expect(candidate(two, 'a2').reasons[0]!.message).toMatch(/host "host-a" already has a replica/);
    const three = place(request({ profile: needs(1, '1Gi'), replicas: 3 }), nodes);
    expect(three.placed).toEqual(['a1', 'b1', 'a2']);
  });

  it('places on every eligible node for replicas "all"', () => {
    const r = place(request({ replicas: 'all' }), [node('a'), node('b', { cordoned: true }), node('c')]);
    expect(r.placeable).toBe(true);
    expect(r.placed.sort()).toEqual(['a', 'c']);
    expect(r.summary).toBe('placed on 2 of 3 nodes');
  });
});

describe('not placeable', () => {
  it('writes nothing and says why, per node and in one line', () => {
    const r = place(request({ profile: needs(1, '2Gi') }), [
      node('a', { presence: 'offline' }),
      node('b', { presence: 'offline' }),
      node('c', { reserved: { cpuCores: 0, memoryBytes: 15 * Gi, storageBytes: 0 } }),
    ]);
    expect(r.placeable).toBe(false);
    expect(r.placed).toEqual([]);
    expect(r.eligibleCount).toBe(0);
    expect(r.rejected).toEqual({ offline: 2, 'capacity.memory': 1 });
    expect(r.summary).toBe('not placeable: 3 nodes, none fits: 2 offline, 1 lacks memory (need 2Gi)');
    expect(r.candidates.every((c) => !c.placed && !c.eligible)).toBe(true);
  });

  it('is not placeable when fewer nodes fit than replicas requested', () => {
    const r = place(request({ replicas: 3 }), [
      node('a'),
      node('b'),
      node('c', { cordoned: true }),
      node('d', { enrolled: false }),
    ]);
    expect(r.placeable).toBe(false);
    expect(r.placed).toEqual([]);
    expect(r.summary).toBe('not placeable: needs 3 nodes, 2 of 4 fit; 1 not enrolled, 1 cordoned');
    expect(candidate(r, 'a')).toMatchObject({ eligible: true, placed: false });
    expect(candidate(r, 'a').reasons[0]!.message).toMatch(
      /only 2 node\(s\) fit and 3 were requested: nothing placed/,
    );
  });

  it('says so for an empty fleet or an unknown site', () => {
    expect(place(request(), []).summary).toBe('not placeable: no nodes');
    expect(place(request({ siteId: 'nowhere' }), [node('a')]).summary).toBe(
      'not placeable: site "nowhere" has no nodes',
    );
  });
});

describe('scope', () => {
  it('considers only the nodes of the requested site', () => {
    const r = place(request({ siteId: 'site-b', replicas: 'all' }), [
      node('a'),
      node('b', { siteId: 'site-b' }),
    ]);
    expect(r.placed).toEqual(['b']);
    expect(r.candidates.map((c) => c.uid)).toEqual(['b']);
    expect(r.considered).toBe(1);
  });

  it('filters explicit targets and reports the ones that fail, unknown uids included', () => {
    const nodes = [node('a'), node('b', { cordoned: true }), node('c'), node('d', { siteId: 'site-b' })];
    const r = place(request({ nodeUids: ['a', 'b', 'ghost', 'a'], replicas: 'all' }), nodes);
    expect(r.placeable).toBe(false);
    expect(r.placed).toEqual([]);
    expect(r.candidates.map((c) => c.uid)).toEqual(['a', 'b', 'ghost']);
    expect(codes(r, 'b')).toEqual(['cordoned']);
    expect(candidate(r, 'ghost').reasons).toEqual([
      { code: 'unknown-node', message: 'no node with uid "ghost"' },
    ]);
    expect(r.summary).toBe('not placeable: needs 3 nodes, 1 of 3 fit; 1 unknown, 1 cordoned');

    const some = place(request({ nodeUids: ['a', 'b', 'c'], replicas: 2 }), nodes);
    expect(some.placed).toEqual(['a', 'c']);

    const site = place(request({ nodeUids: ['a', 'd'], siteId: 'site-a', replicas: 'all' }), nodes);
    expect(candidate(site, 'd').reasons).toEqual([
      { code: 'site', message: 'node is in site "site-b", not "site-a"' },
    ]);
  });
});

describe('results', () => {
  const nodes = [node('a'), node('b', { presence: 'offline' }), node('c', { capabilities: null })];

  it('can list only the placed candidates, or none, with the same counts', () => {
    const all = place(request(), nodes);
    const placed = place(request(), nodes, { candidates: 'placed' });
    const none = place(request(), nodes, { candidates: 'none' });
    expect(placed.candidates).toEqual(all.candidates.filter((c) => c.placed));
    expect(none.candidates).toEqual([]);
    for (const r of [placed, none]) {
      expect(r.summary).toBe(all.summary);
      expect(r.rejected).toEqual(all.rejected);
      expect(r.placed).toEqual(all.placed);
    }
  });

  it('is plain data: JSON and structured clone carry the candidates', () => {
    const r = place(request(), nodes);
    const json = JSON.parse(JSON.stringify(r)) as PlacementResult;
    expect(json.candidates).toHaveLength(3);
    expect(json.candidates[0]).toMatchObject({ uid: 'a', placed: true, reasons: [] });
    expect(structuredClone(r).candidates).toEqual(json.candidates);
    expect(json.reservation).toEqual({ cpuCores: 0, memoryBytes: 0, storageBytes: 0 });
    expect(candidate(r, 'c').capacityAfter).toBeUndefined();
  });

  it('gives the same result for prepared and raw nodes, and never changes the prepared nodes', () => {
    const prepared = prepareNodes(nodes);
    const before = prepared.reservedMem.slice();
    const req = request({ profile: needs(1, '1Gi') });
    expect(JSON.stringify(place(req, prepared))).toBe(JSON.stringify(place(req, nodes)));
    placeMany([req, req], prepared);
    expect(prepared.reservedMem).toEqual(before);
  });
});

describe('bad input', () => {
  it.each([
    ['replicas 0', request({ replicas: 0 }), 'invalid-input', 'request.replicas'],
    ['replicas 1.5', request({ replicas: 1.5 }), 'invalid-input', 'request.replicas'],
    ['no clock', request({ now: Number.NaN }), 'invalid-input', 'request.now'],
    ['staleAfterMs 0', request({ staleAfterMs: 0 }), 'invalid-input', 'request.staleAfterMs'],
    [
      'selector value not a string',
      request({ selector: { a: 1 as never } }),
      'invalid-input',
      'request.selector.a',
    ],
    [
      'unknown profile type',
      request({ profile: profile(undefined, { type: 'vm' as never }) }),
      'invalid-input',
      'request.profile.type',
    ],
    [
      'In with mixed-type values',
      request({
        profile: profile({
          eligibilityRules: [
            { labelSelector: { matchExpressions: [{ key: 'a', operator: 'In', values: ['x', 2] }] } },
          ],
        }),
      }),
      'placement/invalid-constraints',
      'request.profile.deviceConstraints.eligibilityRules[0].labelSelector.matchExpressions[0].values',
    ],
  ])('%s is a clear error, not a crash', (_name, req, code, field) => {
    const e = errorOf(() => place(req, [node('a')]));
    expect(e.code).toBe(code);
    expect(e.errors?.[0]?.field).toBe(field);
  });

  it('refuses duplicate node uids', () => {
    expect(errorOf(() => prepareNodes([node('a'), node('a')])).message).toBe(
      'nodes[1]: duplicate node uid "a"',
    );
  });

  it('validates every request of a batch before placing any', () => {
    const e = errorOf(() => placeMany([request(), request({ replicas: -1 })], [node('a')]));
    expect(e.errors?.[0]?.field).toBe('requests[1].replicas');
  });
});

describe('placeMany', () => {
  it('accounts capacity across successive placements', () => {
    const nodes = [node('a'), node('b', { reserved: { cpuCores: 0, memoryBytes: 4 * Gi, storageBytes: 0 } })];
    const req = request({ profile: needs(1, '10Gi') });
    const [first, second, third] = placeMany([req, req, req], nodes);
    expect(first!.placed).toEqual(['a']);
    expect(second!.placed).toEqual(['b']);
    expect(third!.placeable).toBe(false);
    expect(third!.summary).toBe('not placeable: 2 nodes, none fits: 2 lack memory (need 10Gi)');
    expect(first!.candidates).toEqual([expect.objectContaining({ uid: 'a', placed: true })]);
    expect(first!.candidates[0]!.capacityAfter?.memoryBytes).toBe(6 * Gi);
  });

  it('does not reserve anything for a request that is not placeable', () => {
    const nodes = [node('a')];
    const big = request({ profile: needs(1, '10Gi'), replicas: 2 });
    const small = request({ profile: needs(1, '10Gi') });
    const [r1, r2] = placeMany([big, small], nodes, { candidates: 'all' });
    expect(r1!.placeable).toBe(false);
    expect(r2!.placed).toEqual(['a']);
  });
});
