import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addEnrolledNodes, startTestCore } from '../../test/helpers/core.js';
import { WASM_APP } from '../../test/fixtures/margo.js';
import { OutpostError } from '../../lib/errors/index.js';

const BIG_APP = WASM_APP('1.0.0')
  .replace('id: hello-wasm', 'id: big-wasm')
  .replace('memory: 64Mi', 'memory: 64Gi');

/**
 * The node page's calls through a real core on SQLite: one node's detail, why an app does or does not
 * fit it, bulk actions (all or nothing), and enrollment tokens for several nodes with their QR code.
 */
describe('node page', () => {
  let t: Awaited<ReturnType<typeof startTestCore>>;
  beforeAll(async () => {
    t = await startTestCore({ overrides: { mmi: { enabled: true } } });
    const c = t.core.client();
    for (const content of [BIG_APP, WASM_APP('1.0.0')])
      await c.apps.add({ source: { kind: 'upload', upload: { fileName: 'margo.yaml', content } } });
    await c.sites.add({ id: 'plant' });
    await c.sites.add({ id: 'far', servedBy: 'remote' });
    await addEnrolledNodes(t.core, ['n1', 'n2', 'n3'], 'plant', { enrolledAt: true });
  });
  afterAll(async () => t.stop());

  it("shows a node's workloads with their state, its events and the audit entries about it", async () => {
    const c = t.core.client();
    const d = await c.deployments.create({
      appId: 'hello-wasm',
      name: 'hello',
      target: { nodes: ['n1'] },
      parameters: {},
    });
    await t.core.deploy.recordStatus({
      clientId: 'default.n1',
      status: {
        deploymentId: d.id,
        adoptedManifestVersion: 1,
        status: { state: 'failed', error: { code: 'E1', message: 'pull failed' } },
        components: [{ name: 'hello', state: 'failed', error: { message: 'no such image' } }],
      },
      digest: undefined,
      receivedAt: Date.now(),
    });
    await c.nodes.label({ name: 'n1', set: { rack: 'r1' } });
    const p = await c.nodes.detail({ name: 'n1' });
    expect(p.node).toMatchObject({ name: 'n1', siteId: 'plant', presence: 'online', labels: { rack: 'r1' } });
    expect(p.workloads).toEqual([
      expect.objectContaining({
        deploymentId: d.id,
        deploymentName: 'hello',
        appId: 'hello-wasm',
        version: '1.0.0',
        state: 'failed',
        error: 'E1: pull failed',
        components: [{ name: 'hello', state: 'failed', error: 'no such image' }],
      }),
    ]);
    expect(p.events[0]).toMatchObject({
      kind: 'status',
      text: 'reported failed for hello',
      deploymentId: d.id,
    });
    expect(p.events.map((e) => e.kind)).toContain('registered');
    expect(p.audit.map((a) => a.action)).toEqual(['nodes.label', 'nodes.add']);
    expect(p.svid).toBeNull();
    expect(p.output.available).toBe(false);
  });

  it('says why an app does not fit a node, in the words of placement, and that another one does', async () => {
    const c = t.core.client();
    const { fits } = await c.nodes.fit({ name: 'n2' });
    const big = fits.find((f) => f.appId === 'big-wasm')!;
    const hello = fits.find((f) => f.appId === 'hello-wasm')!;
    expect(hello).toMatchObject({ fits: true, version: '1.0.0' });
    expect(big.fits).toBe(false);
    expect(big.reasons.map((r) => r.code)).toContain('capacity.memory');
    await c.nodes.cordon({ name: 'n2' });
    const one = await c.nodes.fit({ name: 'n2', appId: 'hello-wasm' });
    expect(one.fits).toHaveLength(1);
    expect(one.fits[0]!.fits).toBe(false);
    expect(one.fits[0]!.reasons.map((r) => r.code)).toContain('cordoned');
    await c.nodes.uncordon({ name: 'n2' });
    await expect(c.nodes.fit({ name: 'nope' })).rejects.toMatchObject({ code: 'not-found' });
  });

  it('labels, cordons and sets the model of many nodes at once, in one audit entry', async () => {
    const c = t.core.client();
    const r = await c.nodes.bulk({ names: ['n2', 'n3'], action: { kind: 'label', set: { zone: 'z9' } } });
    expect(r).toEqual({ updated: 2, names: ['n2', 'n3'] });
    await c.nodes.bulk({ names: ['n2', 'n3'], action: { kind: 'cordon' } });
    const list = await c.nodes.list({ siteId: 'plant' });
    const byName = Object.fromEntries(list.nodes.map((n) => [n.name, n]));
    expect(byName.n2).toMatchObject({ labels: { zone: 'z9' }, cordoned: true });
    expect(byName.n3).toMatchObject({ labels: { zone: 'z9' }, cordoned: true });
    expect(byName.n1!.cordoned).toBe(false);
    const audit = await c.system.audit({ limit: 5, action: 'nodes.bulk' });
    expect(audit.entries.map((e) => e.target)).toEqual(['nodes/n2,n3', 'nodes/n2,n3']);
    await c.nodes.bulk({ names: ['n2', 'n3'], action: { kind: 'label', remove: ['zone'] } });
    await c.nodes.bulk({ names: ['n2', 'n3'], action: { kind: 'uncordon' } });
  });

  it('changes nothing when one of the nodes does not exist, and names it', async () => {
    const c = t.core.client();
    const err = await c.nodes
      .bulk({ names: ['n1', 'ghost'], action: { kind: 'cordon' } })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OutpostError);
    expect((err as OutpostError).code).toBe('not-found');
    expect((err as OutpostError).message).toBe('node "ghost" not found; nothing was changed');
    expect((await c.nodes.get({ name: 'n1' })).cordoned).toBe(false);
    await expect(
      c.nodes.bulk({ names: ['n1'], action: { kind: 'setModel', modelId: 'no-such-model' } }),
    ).rejects.toMatchObject({ code: 'not-found' });
  });

  it('makes enrollment tokens for several new nodes, each with the exact command and a QR code', async () => {
    const c = t.core.client();
    const r = await c.identity.createEnrollTokens({ nodes: ['e1', 'e2'], siteId: 'plant', ttlMinutes: 30 });
    expect(r.tokens.map((x) => x.nodeName)).toEqual(['e1', 'e2']);
    for (const x of r.tokens) {
      expect(x.command).toBe(`edgectl agent enroll --lo ${x.mmiUrl} --token ${x.token}`);
      expect(x.qrSvg).toMatch(/^<svg[^>]*viewBox/);
    }
    expect((await c.nodes.get({ name: 'e1' })).state).toBe('registered');
    const single = await c.identity.createEnrollToken({ node: 'e1', siteId: 'plant', ttlMinutes: 5 });
    expect(single.command).toContain(single.token);
  });

  it('makes no token and no node when one of the nodes is refused', async () => {
    const c = t.core.client();
    await c.identity.revokeNode({ name: 'n3' });
    const err = await c.identity
      .createEnrollTokens({ nodes: ['e3', 'n3'], siteId: 'plant', ttlMinutes: 30 })
      .catch((e: unknown) => e);
    expect((err as OutpostError).code).toBe('conflict');
    await expect(c.nodes.get({ name: 'e3' })).rejects.toMatchObject({ code: 'not-found' });
    const dup = await c.identity
      .createEnrollTokens({ nodes: ['e4', 'e4'], siteId: 'plant', ttlMinutes: 30 })
      .catch((e: unknown) => e);
    expect((dup as OutpostError).code).toBe('invalid-input');
    await expect(
      c.identity.createEnrollTokens({ nodes: ['e5'], siteId: 'far', ttlMinutes: 30 }),
    ).rejects.toMatchObject({ code: 'conflict' });
  });
});
