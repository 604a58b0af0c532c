import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Clock } from '../../lib/base/index.js';
import { startTestCore } from '../helpers/core.js';
import { tempHome } from '../helpers/home.js';
import { createMmiClient, type MmiTestClient } from '../helpers/mmi-client.js';
import { enrollOverMmi } from '../helpers/enroll.js';
import { WASM_APP, capabilitiesFor } from '../fixtures/margo.js';

/**
 * A node that reported `installed` and then went quiet is shown with that report's age and as stale
 * (presence offline), never as installed-and-fine; its next request makes it fresh again. The core's clock
 * is moved forward; TLS still runs on the real clock (the SVIDs are valid for days).
 */
describe('a node that stopped reporting', () => {
  const home = tempHome('outpost-stale-');
  let offset = 0;
  const clock: Clock = { now: () => Date.now() + offset, monotonic: () => performance.now() + offset };
  let t: Awaited<ReturnType<typeof startTestCore>>;
  let mmi: MmiTestClient;
  let deploymentId = '';

  beforeAll(async () => {
    t = await startTestCore({ home: home.home, clock, overrides: { mmi: { enabled: true } } });
    const c = t.core.client();
    await c.apps.add({
      source: { kind: 'upload', upload: { fileName: 'margo.yaml', content: WASM_APP('1.0.0') } },
    });
    await c.sites.add({ id: 'plant-1' });
    const token = await c.identity.createEnrollToken({ node: 'edge-1', siteId: 'plant-1', ttlMinutes: 10 });
    const node = await enrollOverMmi(t.core.lo.mmiUrl()!, token);
    mmi = createMmiClient({ baseUrl: t.core.lo.mmiUrl()!, ...node });
    expect((await mmi.put('/api/v1/capabilities/edge-1', capabilitiesFor('edge-1'))).status).toBe(201);
    deploymentId = (await c.deployments.create({ appId: 'hello-wasm', target: { siteId: 'plant-1' } })).id;
    const m = (await mmi.get('/api/v1/deployments')).json<{ manifestVersion: number }>();
    const r = await mmi.post(`/api/v1/deployments/${deploymentId}/status`, {
      deploymentId,
      adoptedManifestVersion: m.manifestVersion,
      status: { state: 'installed' },
      components: [{ name: 'hello', state: 'installed' }],
    });
    expect(r.status).toBe(201);
  });
  afterAll(async () => {
    mmi?.close();
    await t?.stop();
    home.cleanup();
  });

  it('is installed and fresh right after its report', async () => {
    const d = await t.core.client().deployments.get({ id: deploymentId });
    expect(d.nodes[0]).toMatchObject({ state: 'installed', current: true, presence: 'online', stale: false });
    expect(d.counts).toMatchObject({ installed: 1, stale: 0 });
  });

  it('is stale once it has not been heard from, with the age of its last report', async () => {
    const reportedAt = (await t.core.client().deployments.get({ id: deploymentId })).nodes[0]!.stateAt!;
    offset = 10 * 60_000;
    const d = await t.core.client().deployments.get({ id: deploymentId });
    expect(d.nodes[0]).toMatchObject({ state: 'installed', presence: 'offline', stale: true });
    expect(d.nodes[0]!.stateAt).toBe(reportedAt);
    expect(d.now - d.nodes[0]!.stateAt!).toBeGreaterThanOrEqual(10 * 60_000);
    expect(d.counts.stale).toBe(1);
    const node = await t.core.client().nodes.get({ name: 'edge-1' });
    expect(node.presence).toBe('offline');
  });

  it('is fresh again after its next request', async () => {
    expect((await mmi.put('/api/v1/capabilities/edge-1', capabilitiesFor('edge-1'))).status).toBe(200);
    const d = await t.core.client().deployments.get({ id: deploymentId });
    expect(d.nodes[0]).toMatchObject({ state: 'installed', presence: 'online', stale: false });
  });
});
