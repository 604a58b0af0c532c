import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addEnrolledNodes, startTestCore } from '../../test/helpers/core.js';
import { WASM_APP } from '../../test/fixtures/margo.js';
import { OutpostError } from '../../lib/errors/index.js';
import { PREFERRED_LABEL } from '../placement/index.js';
import { HOST_LABEL } from './placement-input.js';

/**
 * Placement through the real engine and SQLite: what existing deployments reserve is subtracted, a
 * deployment that fits nowhere writes nothing (no row, no commit), and an operator's preference label
 * on a node steers the choice. The nodes have 4Gi of memory each (test/fixtures/margo.ts).
 */
const BIG_APP = WASM_APP('1.0.0')
  .replace('id: hello-wasm', 'id: big-wasm')
  .replace('memory: 64Mi', 'memory: 3Gi');

describe('placement through the deploy engine', () => {
  let t: Awaited<ReturnType<typeof startTestCore>>;
  const NODES = ['n1', 'n2'];
  const YARD = ['y1', 'y2', 'y3'];

  beforeAll(async () => {
    t = await startTestCore({ overrides: { mmi: { enabled: true } } });
    const c = t.core.client();
    for (const content of [BIG_APP, WASM_APP('1.0.0')])
      await c.apps.add({ source: { kind: 'upload', upload: { fileName: 'margo.yaml', content } } });
    await c.sites.add({ id: 'plant' });
    await c.sites.add({ id: 'yard' });
    await addEnrolledNodes(t.core, [...NODES, ...YARD], (n) => (NODES.includes(n) ? 'plant' : 'yard'));
  });
  afterAll(async () => t.stop());

  const head = () => {
    const repo = path.join(t.home, 'git/deployments/default');
    return fs.existsSync(repo)
      ? execFileSync('git', ['rev-parse', '--verify', '-q', 'HEAD'], { cwd: repo }).toString().trim()
      : 'no repository';
  };
  /** What a node's agent reports while it takes a deployment away (as the MMI backend hands it over). */
  const removed = (node: string, id: string, state: 'removing' | 'removed') =>
    t.core.deploy.recordStatus({
      clientId: `default.${node}`,
      status: { deploymentId: id, adoptedManifestVersion: 99, status: { state }, components: [] },
      digest: undefined,
      receivedAt: Date.now(),
    });
  const big = (replicas: number) =>
    t.core.client().deployments.create({ appId: 'big-wasm', target: { siteId: 'plant', replicas } });

  it('subtracts what existing deployments reserve, and writes nothing when no node is left', async () => {
    const c = t.core.client();
    const first = await big(1);
    expect(first.nodes.map((n) => n.nodeName)).toEqual(['n1']); // a tie, broken on the uid
    const second = await big(1);
    expect(second.nodes.map((n) => n.nodeName)).toEqual(['n2']); // n1 has 1Gi left

    const before = { head: head(), deployments: (await c.deployments.list({})).deployments.length };
    const err = await big(1).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OutpostError);
    expect((err as OutpostError).code).toBe('not-placeable');
    expect((err as OutpostError).message).toMatch(/^not placeable: 2 nodes, none fits/);
    const placement = ((err as OutpostError).data as { placement: { candidates: unknown[] } }).placement;
    expect(placement.candidates).toContainEqual(
      expect.objectContaining({
        name: 'n1',
        placed: false,
        reasons: [
          {
            code: 'capacity.memory',
            message: 'needs 3Gi memory, 1Gi free (4Gi total, 3Gi reserved)',
          },
        ],
        capacityAfter: expect.objectContaining({ memoryBytes: -2 * 1024 ** 3 }),
      }),
    );
    expect(head()).toBe(before.head);
    expect((await c.deployments.list({})).deployments).toHaveLength(before.deployments);

    // A small app still fits beside the big ones; the dry run shows the memory left after it.
    const small = await c.deployments.place({ appId: 'hello-wasm', target: { siteId: 'plant' } });
    expect(small.placement.placed).toEqual(['default.n1', 'default.n2']);
    expect(small.placement.candidates[0]!.capacityAfter!.memoryBytes).toBe(1024 ** 3 - 64 * 1024 ** 2);

    // Removing a deployment gives its node's capacity back once the node reports it removed.
    const dryRun = async () =>
      (await c.deployments.place({ appId: 'big-wasm', target: { siteId: 'plant', replicas: 1 } })).placement;
    await c.deployments.remove({ id: first.id });
    expect((await dryRun()).placeable).toBe(false);
    for (const state of ['removing', 'removed'] as const) removed('n1', first.id, state);
    expect((await c.deployments.get({ id: first.id })).state).toBe('removed');
    expect((await dryRun()).placed).toEqual(['default.n1']);
    await c.deployments.remove({ id: second.id });
    for (const state of ['removing', 'removed'] as const) removed('n2', second.id, state);
  });

  it(`prefers a node the operator labelled ${PREFERRED_LABEL}=true`, async () => {
    const c = t.core.client();
    const dryRun = () =>
      c.deployments.place({ appId: 'hello-wasm', target: { siteId: 'plant', replicas: 1 } });
    expect((await dryRun()).placement.placed).toEqual(['default.n1']);
    await c.nodes.label({ name: 'n2', set: { [PREFERRED_LABEL]: 'true' } });
    const r = await dryRun();
    expect(r.placement.placed).toEqual(['default.n2']);
    const [n2, n1] = r.placement.candidates;
    expect(n2!.score! - n1!.score!).toBeCloseTo(30, 0);
    await c.nodes.label({ name: 'n2', remove: [PREFERRED_LABEL] });
    expect((await dryRun()).placement.placed).toEqual(['default.n1']);
  });

  it('prefers the nodes a deployment names with its own preference labels (target.prefer)', async () => {
    const c = t.core.client();
    await c.nodes.label({ name: 'n2', set: { zone: 'east' } });
    const r = await c.deployments.place({
      appId: 'hello-wasm',
      target: { siteId: 'plant', replicas: 1, prefer: { zone: 'east' } },
    });
    expect(r.placement.placed).toEqual(['default.n2']);
    // A preference is not a filter: the other nodes stay eligible.
    expect(r.placement.candidates.every((x) => x.eligible)).toBe(true);
    const d = await c.deployments.create({
      appId: 'hello-wasm',
      target: { siteId: 'plant', replicas: 1, prefer: { zone: 'east' } },
    });
    expect(d.nodes.map((n) => n.nodeName)).toEqual(['n2']);
    await c.deployments.remove({ id: d.id });
    await c.nodes.label({ name: 'n2', remove: ['zone'] });
  });

  it(`spreads replicas over the hosts named by ${HOST_LABEL} before doubling up`, async () => {
    const c = t.core.client();
    const dryRun = async () =>
      (await c.deployments.place({ appId: 'hello-wasm', target: { siteId: 'yard', replicas: 2 } })).placement;
    expect((await dryRun()).placed).toEqual(['default.y1', 'default.y2']); // three hosts: a tie on the uid
    for (const n of ['y1', 'y2']) await c.nodes.label({ name: n, set: { [HOST_LABEL]: 'hypervisor-1' } });
    const p = await dryRun();
    expect(p.placed).toEqual(['default.y1', 'default.y3']);
    expect(p.candidates.find((x) => x.name === 'y2')!.reasons[0]!.message).toMatch(
      /host "yard\/hypervisor-1" already has a replica/,
    );
    // Three replicas on two hosts: the spread gives way rather than refuse.
    const three = await c.deployments.place({ appId: 'hello-wasm', target: { siteId: 'yard', replicas: 3 } });
    expect(three.placement.placed).toEqual(['default.y1', 'default.y3', 'default.y2']);
  });
});
