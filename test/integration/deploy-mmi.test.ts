import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { startTestCore } from '../helpers/core.js';
import { tempHome } from '../helpers/home.js';
import { createMmiClient, type MmiTestClient } from '../helpers/mmi-client.js';
import { enrollOverMmi } from '../helpers/enroll.js';
import { createKeyAndCsr } from '../../lib/x509/index.js';
import { OutpostError } from '../../lib/errors/index.js';
import type { Core } from '../../core/create-core.js';
import { WASM_APP, capabilitiesFor } from '../fixtures/margo.js';

const sha = (b: Buffer) => 'sha256:' + crypto.createHash('sha256').update(b).digest('hex');

async function enroll(core: Core, node: string, site: string) {
  const t = await core.client().identity.createEnrollToken({ node, siteId: site, ttlMinutes: 10 });
  return enrollOverMmi(core.lo.mmiUrl()!, t, node);
}

describe('deployments through git to the Margo Management Interface', () => {
  const home = tempHome('outpost-deploy-');
  let t: Awaited<ReturnType<typeof startTestCore>>;
  let mmi: MmiTestClient;
  let node: Awaited<ReturnType<typeof enroll>>;
  let deploymentId = '';
  let lastVersion = 0;

  const manifest = async () => {
    const r = await mmi.get('/api/v1/deployments');
    expect(r.status).toBe(200);
    expect(r.headers.etag).toBe(`"${sha(r.body)}"`);
    return r.json<{
      manifestVersion: number;
      bundle: { digest: string; url: string } | null;
      deployments: { deploymentId: string; digest: string; url: string }[];
    }>();
  };

  beforeAll(async () => {
    t = await startTestCore({ home: home.home, overrides: { mmi: { enabled: true } } });
    const c = t.core.client();
    await c.apps.add({
      source: { kind: 'upload', upload: { fileName: 'margo.yaml', content: WASM_APP('1.0.0') } },
    });
    await c.apps.add({
      source: { kind: 'upload', upload: { fileName: 'margo.yaml', content: WASM_APP('1.1.0') } },
    });
    await c.sites.add({ id: 'plant-1' });
    node = await enroll(t.core, 'edge-1', 'plant-1');
    mmi = createMmiClient({
      baseUrl: t.core.lo.mmiUrl()!,
      certPem: node.certPem,
      keyPem: node.keyPem,
      anchorsPem: node.anchorsPem,
    });
  });
  afterAll(async () => {
    mmi?.close();
    await t?.stop();
    home.cleanup();
  });

  it('enrolls a node with a one-time token; the token does not work twice', async () => {
    expect(node.clientId).toBe('default.edge-1');
    const n = await t.core.client().nodes.get({ name: 'edge-1' });
    expect(n.state).toBe('enrolled');
    const pinned = createMmiClient({ baseUrl: t.core.lo.mmiUrl()!, serverCheck: 'none' });
    const again = await pinned.post('/api/v1/outpost/enroll', {
      token: node.token,
      csr: (await createKeyAndCsr({})).csrPem,
    });
    pinned.close();
    expect(again.status).toBe(403);
    expect(again.json<{ detail: string }>().detail).toContain('already used');
  });

  it('serves an empty first manifest, then takes the node capabilities', async () => {
    const m = await manifest();
    expect(m).toEqual({ manifestVersion: 1, bundle: null, deployments: [] });
    lastVersion = 1;
    const put = await mmi.put('/api/v1/capabilities/edge-1', capabilitiesFor('edge-1'));
    expect(put.status).toBe(201);
    const n = await t.core.client().nodes.get({ name: 'edge-1' });
    expect(n.capabilities?.properties.memory).toBe('4Gi');
    expect(n.presence).toBe('online');
  });

  it('refuses to deploy where nothing fits, writing nothing', async () => {
    const c = t.core.client();
    const repo = path.join(t.home, 'git/deployments/default');
    const head = () =>
      fs.existsSync(repo)
        ? execFileSync('git', ['rev-parse', '--verify', '-q', 'HEAD'], { cwd: repo }).toString().trim()
        : 'no repository';
    const headBefore = head();
    const err = await c.deployments
      .create({ appId: 'hello-wasm', target: { siteId: 'plant-1', selector: { tier: 'gold' } } })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OutpostError);
    expect((err as OutpostError).code).toBe('not-placeable');
    expect((await c.deployments.list({})).deployments).toEqual([]);
    expect(head()).toBe(headBefore);
  });

  it('deploys: one commit, a new manifest version, YAML and bundle digests match the bytes served', async () => {
    const c = t.core.client();
    const d = await c.deployments.create({
      appId: 'hello-wasm',
      version: '1.0.0',
      target: { siteId: 'plant-1' },
      parameters: { greeting: 'hi' },
    });
    deploymentId = d.id;
    expect(d.nodes.map((n) => [n.nodeName, n.state, n.version])).toEqual([['edge-1', 'pending', '1.0.0']]);
    expect(d.commit).toMatch(/^[0-9a-f]{40}$/);

    const m = await manifest();
    expect(m.manifestVersion).toBe(lastVersion + 1);
    lastVersion = m.manifestVersion;
    expect(m.deployments).toHaveLength(1);
    const entry = m.deployments[0]!;
    expect(entry.deploymentId).toBe(d.id);
    const yaml = await mmi.get(entry.url, { 'accept-encoding': 'gzip' });
    expect(yaml.status).toBe(200);
    expect(sha(yaml.body)).toBe(entry.digest);
    expect(yaml.text()).toContain('GREETING');
    expect(yaml.text()).toContain('value: hi');
    const bundle = await mmi.get(m.bundle!.url);
    expect(sha(bundle.body)).toBe(m.bundle!.digest);
    expect(zlib.gunzipSync(bundle.body).includes(yaml.body)).toBe(true);

    // The git CLI sees exactly the bytes served, in a commit naming the action and the operator.
    const clone = fs.mkdtempSync(path.join(os.tmpdir(), 'outpost-clone-'));
    try {
      execFileSync('git', ['clone', '-q', path.join(t.home, 'git/deployments/default'), clone]);
      const file = path.join(clone, 'sites/plant-1/nodes/edge-1', `${d.id}.yaml`);
      expect(fs.readFileSync(file)).toEqual(yaml.body);
      const msg = execFileSync('git', ['log', '-1', '--format=%B'], { cwd: clone }).toString();
      expect(msg).toContain(`deploy hello-wasm 1.0.0 to 1 node (deployment ${d.id})`);
      expect(msg).toContain('Operator: operator:local');
    } finally {
      fs.rmSync(clone, { recursive: true, force: true });
    }
  });

  it('records status reports with their age; installed only for the current revision', async () => {
    const post = await mmi.post(`/api/v1/deployments/${deploymentId}/status`, {
      deploymentId,
      adoptedManifestVersion: lastVersion,
      status: { state: 'installed' },
      components: [{ name: 'hello', state: 'installed' }],
    });
    expect(post.status).toBe(201);
    const again = await mmi.post(`/api/v1/deployments/${deploymentId}/status`, {
      deploymentId,
      adoptedManifestVersion: lastVersion,
      status: { state: 'installed' },
      components: [{ name: 'hello', state: 'installed' }],
    });
    expect(again.status).toBe(200);
    const d = await t.core.client().deployments.get({ id: deploymentId });
    expect(d.nodes[0]).toMatchObject({
      nodeName: 'edge-1',
      state: 'installed',
      current: true,
      presence: 'online',
      stale: false,
    });
    expect(d.nodes[0]!.stateAt).toBeGreaterThan(0);
    expect(d.counts.installed).toBe(1);
  });

  it('updates the version: a new manifest version and new YAML; the old report is not "installed" for it', async () => {
    const c = t.core.client();
    const d = await c.deployments.update({ id: deploymentId, version: '1.1.0' });
    expect(d.version).toBe('1.1.0');
    expect(d.nodes[0]).toMatchObject({ version: '1.1.0', current: false });
    expect(d.counts.installed).toBe(0);
    const m = await manifest();
    expect(m.manifestVersion).toBe(lastVersion + 1);
    lastVersion = m.manifestVersion;
    const yaml = await mmi.get(m.deployments[0]!.url);
    expect(yaml.text()).toContain('revision: 1.1.0');
    expect(yaml.text()).toContain('value: hi');
  });

  it('keeps manifestVersion increasing across a restart', async () => {
    mmi.close();
    await t.stop();
    t = await startTestCore({ home: home.home, overrides: { mmi: { enabled: true } } });
    mmi = createMmiClient({
      baseUrl: t.core.lo.mmiUrl()!,
      certPem: node.certPem,
      keyPem: node.keyPem,
      anchorsPem: node.anchorsPem,
    });
    const m = await manifest();
    expect(m.manifestVersion).toBe(lastVersion);
    await t.core.client().deployments.update({ id: deploymentId, parameters: { greeting: 'hey' } });
    const m2 = await manifest();
    expect(m2.manifestVersion).toBe(lastVersion + 1);
    lastVersion = m2.manifestVersion;
  });

  it('removes: the deployment leaves the manifest, the node reports removing then removed', async () => {
    const c = t.core.client();
    const d = await c.deployments.remove({ id: deploymentId });
    expect(d.state).toBe('removing');
    const m = await manifest();
    expect(m).toMatchObject({ manifestVersion: lastVersion + 1, bundle: null, deployments: [] });
    lastVersion = m.manifestVersion;
    for (const state of ['removing', 'removed']) {
      const r = await mmi.post(`/api/v1/deployments/${deploymentId}/status`, {
        deploymentId,
        adoptedManifestVersion: lastVersion,
        status: { state },
        components: [{ name: 'hello', state }],
      });
      expect(r.status).toBe(200);
    }
    const after = await c.deployments.get({ id: deploymentId });
    expect(after.state).toBe('removed');
    expect((await c.deployments.list({})).deployments).toEqual([]);
  });

  it('revoking the node takes effect on its next request', async () => {
    await t.core.client().identity.revokeNode({ name: 'edge-1' });
    const r = await mmi.get('/api/v1/deployments');
    expect(r.status).toBe(403);
    expect(r.json<{ type: string }>().type).toBe(
      'https://docs.margo.org/specification/problem-types#not-authorized',
    );
  });
});
