import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OutpostError } from '../../lib/errors/index.js';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startCentre, startRemoteLo, type TestCore } from '../helpers/remote-site.js';
import { tempHome } from '../helpers/home.js';
import { startGitServer, type GitServer } from '../helpers/git-server.js';
import { createMmiClient, type MmiTestClient } from '../helpers/mmi-client.js';
import { WASM_APP, capabilitiesFor } from '../fixtures/margo.js';
import { enrollOverMmi } from '../helpers/enroll.js';
import { waitFor } from '../helpers/wait.js';

/**
 * A CO and a remote site's LO as two control planes: desired state goes down through a real git server
 * (the CO pushes, the LO fetches fast-forward only, nudged by a notice over the NATS leaf link); what the
 * LO learns (node inventory, status reports) goes up over the leaf link from the LO's outbox, and arrives
 * after the CO was away.
 */
describe('a remote site behind its own LO', () => {
  let git: GitServer;
  const coHome = tempHome('outpost-co-');
  const loHome = tempHome('outpost-lo-');
  let co: TestCore;
  let lo: TestCore;
  let startCoAgain: () => Promise<TestCore>;
  let repoUrl = '';
  let node: { certPem: string; keyPem: string; anchorsPem: string[] };
  let mmi: MmiTestClient;
  let deploymentId = '';

  beforeAll(async () => {
    git = await startGitServer();
    repoUrl = git.createRepo('deployments');
    ({ co, startAgain: startCoAgain } = await startCentre({
      home: coHome.home,
      git: { remote: { url: repoUrl, branch: 'main' } },
    }));
    const c = co.core.client();
    await c.sites.add({ id: 'plant-9', servedBy: 'remote' });
    const leaf = await c.messaging.linkSite({ siteId: 'plant-9' });
    expect(leaf.hubCaPem).toContain('BEGIN CERTIFICATE');
    lo = await startRemoteLo({
      home: loHome.home,
      site: { id: 'plant-9', name: 'Plant 9' },
      link: leaf,
      repoUrl,
    });
  }, 120_000);

  afterAll(async () => {
    mmi?.close();
    await lo?.stop();
    await co?.stop();
    await git?.close();
    coHome.cleanup();
    loHome.cleanup();
  });

  it('the CO refuses to make a token for a node of a remote site (its LO has its own CA), and records nothing', async () => {
    const before = (await co.core.client().nodes.list({ siteId: 'plant-9' })).nodes.length;
    const err = await co.core
      .client()
      .identity.createEnrollToken({ node: 'press-01', siteId: 'plant-9', ttlMinutes: 10 })
      .catch((e: unknown) => e as OutpostError);
    expect(err).toBeInstanceOf(OutpostError);
    expect((err as OutpostError).code).toBe('conflict');
    expect((err as OutpostError).message).toMatch(/--role co and serves no Margo Management Interface/);
    expect((await co.core.client().nodes.list({ siteId: 'plant-9' })).nodes.length).toBe(before);
  });

  it('a node enrolled at the LO appears at the CO with its capabilities', async () => {
    const t = await lo.core
      .client()
      .identity.createEnrollToken({ node: 'press-01', siteId: 'plant-9', ttlMinutes: 10 });
    const e = await enrollOverMmi(lo.core.lo.mmiUrl()!, t);
    node = { certPem: e.certPem, keyPem: e.keyPem, anchorsPem: e.anchorsPem };
    mmi = createMmiClient({ baseUrl: lo.core.lo.mmiUrl()!, ...node });
    expect((await mmi.put('/api/v1/capabilities/press-01', capabilitiesFor('press-01'))).status).toBe(201);

    const seen = await waitFor(
      async () => {
        const n = (await co.core.client().nodes.list({ siteId: 'plant-9' })).nodes.find(
          (x) => x.name === 'press-01',
        );
        return n?.state === 'enrolled' && n.capabilities ? n : undefined;
      },
      { what: 'the node at the CO', intervalMs: 200 },
    );
    expect(seen.uid).toBe('default.press-01');
    expect(seen.capabilities?.properties.memory).toBe('4Gi');
  });

  it('a deployment made at the CO reaches the node through git and the LO', async () => {
    const c = co.core.client();
    await c.apps.add({
      source: { kind: 'upload', upload: { fileName: 'margo.yaml', content: WASM_APP('1.0.0') } },
    });
    const d = await c.deployments.create({ appId: 'hello-wasm', target: { siteId: 'plant-9' } });
    deploymentId = d.id;
    expect(d.nodes.map((n) => n.nodeName)).toEqual(['press-01']);
    const m = await waitFor(
      async () => {
        const r = await mmi.get('/api/v1/deployments');
        const j = r.json<{ manifestVersion: number; deployments: { deploymentId: string; url: string }[] }>();
        return j.deployments.some((x) => x.deploymentId === d.id) ? j : undefined;
      },
      { what: 'the deployment in the node manifest', intervalMs: 200 },
    );
    const yaml = await mmi.get(m.deployments[0]!.url);
    expect(yaml.text()).toContain(`id: ${d.id}`);
  });

  it('refuses a rewritten history on the remote, loudly, and changes nothing', async () => {
    const before = (await mmi.get('/api/v1/deployments')).json<{ manifestVersion: number }>().manifestVersion;
    const work = fs.mkdtempSync(path.join(os.tmpdir(), 'outpost-rewrite-'));
    try {
      await git.git(['clone', '-q', repoUrl, work]);
      await git.git(['commit', '-q', '--amend', '-m', 'rewritten by someone'], work);
      await git.git(['push', '-q', '--force', 'origin', 'main'], work);
    } finally {
      fs.rmSync(work, { recursive: true, force: true });
    }
    const r = await lo.core.lo.follower.sync('default');
    expect(r.refused).toMatch(
      /does not descend from the adopted .* \(history was rewritten\); nothing changed/,
    );
    expect(lo.core.lo.follower.status('default').lastError).toBe(r.refused);
    // The operator sees it: system.status (what `edgectl co status` and the Dashboard show).
    const st = await lo.core.client().system.status({});
    expect(st.desiredState).toMatchObject({ lastError: r.refused, lastErrorAt: expect.any(Number) });
    expect(st.desiredState?.commit).toMatch(/^[0-9a-f]{40}$/);
    const after = (await mmi.get('/api/v1/deployments')).json<{ manifestVersion: number }>().manifestVersion;
    expect(after).toBe(before);
  });

  it('status reports travel up, including those made while the CO was away, in order', async () => {
    const post = async (state: string) => {
      const m = (await mmi.get('/api/v1/deployments')).json<{ manifestVersion: number }>();
      const r = await mmi.post(`/api/v1/deployments/${deploymentId}/status`, {
        deploymentId,
        adoptedManifestVersion: m.manifestVersion,
        status: { state },
        components: [{ name: 'hello', state }],
      });
      expect(r.status).toBeLessThan(300);
    };
    await post('installing');
    await waitFor(
      async () =>
        (await co.core.client().deployments.get({ id: deploymentId })).nodes[0]!.state === 'installing',
      { what: 'installing at the CO', intervalMs: 200 },
    );

    // The CO goes away; the site keeps working and queues what it learns.
    await co.stop();
    await post('installed');
    await post('installed');
    // The site answers for itself while the CO is away (issue 19, defect 6): what it serves and what
    // its node reported.
    const local = await lo.core.client().deployments.list({});
    expect(local.deployments.map((x) => [x.id, x.appId, x.counts.installed])).toEqual([
      [deploymentId, 'hello-wasm', 1],
    ]);
    const here = await lo.core.client().deployments.get({ id: deploymentId });
    expect(here.nodes).toMatchObject([
      { nodeName: 'press-01', state: 'installed', current: true, desired: 'present' },
    ]);
    expect(here.rollout).toBeNull();
    await expect(
      lo.core.client().deployments.get({ id: '00000000-0000-4000-8000-000000000000' }),
    ).rejects.toMatchObject({
      code: 'not-found',
    });

    co = await startCoAgain();
    const d = await waitFor(
      async () => {
        const v = await co.core.client().deployments.get({ id: deploymentId });
        return v.nodes[0]!.state === 'installed' ? v : undefined;
      },
      { what: 'installed at the CO after it came back', timeoutMs: 60_000, intervalMs: 200 },
    );
    expect(d.nodes[0]).toMatchObject({ nodeName: 'press-01', state: 'installed', current: true });
    const history = co.core.store.sqlite
      .prepare('SELECT state FROM status_reports WHERE deployment_id = ? ORDER BY seq')
      .all(deploymentId) as { state: string }[];
    expect(history.map((h) => h.state)).toEqual(['installing', 'installed', 'installed']);
  }, 120_000);
});
