import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startTestCore } from '../helpers/core.js';
import { tempHome } from '../helpers/home.js';
import { startGitServer, type GitServer } from '../helpers/git-server.js';
import { createMmiClient, type MmiTestClient } from '../helpers/mmi-client.js';
import { enrollOverMmi } from '../helpers/enroll.js';
import { WASM_APP, capabilitiesFor } from '../fixtures/margo.js';

/**
 * The deployments repository on a git server that wants credentials (HTTP Basic), taken from the
 * configuration: the CO pushes with a token from an environment variable, an LO fetches with a token in
 * its config and serves the same bytes; a wrong token is refused without changing anything. The token is
 * never written to disk in either repository and never appears in an error.
 */
const TOKEN = 's3cret-push-token';
const TOKEN_ENV = 'OUTPOST_TEST_DEPLOYMENTS_TOKEN';
const sha = (b: Buffer) => 'sha256:' + crypto.createHash('sha256').update(b).digest('hex');

function filesContaining(dir: string, needle: string): string[] {
  const hits: string[] = [];
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile() && fs.readFileSync(p).includes(needle)) hits.push(p);
    }
  };
  walk(dir);
  return hits;
}

describe('deployments repository on a git server with credentials', () => {
  let git: GitServer;
  let repoUrl = '';
  const coHome = tempHome('outpost-auth-co-');
  const loHome = tempHome('outpost-auth-lo-');
  const badHome = tempHome('outpost-auth-bad-');
  let co: Awaited<ReturnType<typeof startTestCore>>;
  let mmi: MmiTestClient;
  let deploymentId = '';
  let served: { digest: string; bytes: Buffer } = { digest: '', bytes: Buffer.alloc(0) };

  beforeAll(async () => {
    git = await startGitServer({ auth: { username: 'ci', password: TOKEN } });
    repoUrl = git.createRepo('deployments');
    process.env[TOKEN_ENV] = TOKEN;
    co = await startTestCore({
      home: coHome.home,
      overrides: {
        mmi: { enabled: true },
        git: { remote: { url: repoUrl, branch: 'main', username: 'ci', tokenEnv: TOKEN_ENV } },
      },
    });
    const c = co.core.client();
    await c.apps.add({
      source: { kind: 'upload', upload: { fileName: 'margo.yaml', content: WASM_APP('1.0.0') } },
    });
    await c.sites.add({ id: 'plant-1' });
    const token = await c.identity.createEnrollToken({ node: 'edge-1', siteId: 'plant-1', ttlMinutes: 10 });
    const node = await enrollOverMmi(co.core.lo.mmiUrl()!, token);
    mmi = createMmiClient({ baseUrl: co.core.lo.mmiUrl()!, ...node });
    expect((await mmi.put('/api/v1/capabilities/edge-1', capabilitiesFor('edge-1'))).status).toBe(201);
  }, 60_000);

  afterAll(async () => {
    mmi?.close();
    await co?.stop();
    await git?.close();
    delete process.env[TOKEN_ENV];
    for (const h of [coHome, loHome, badHome]) h.cleanup();
  });

  it('the CO pushes each operator action with the configured credentials', async () => {
    const d = await co.core
      .client()
      .deployments.create({ appId: 'hello-wasm', target: { siteId: 'plant-1' } });
    deploymentId = d.id;
    const m = (await mmi.get('/api/v1/deployments')).json<{
      deployments: { deploymentId: string; digest: string; url: string }[];
    }>();
    const entry = m.deployments.find((x) => x.deploymentId === d.id)!;
    const yaml = await mmi.get(entry.url);
    served = { digest: entry.digest, bytes: yaml.body };
    expect(sha(yaml.body)).toBe(entry.digest);

    // The git CLI, with the same credentials, finds exactly the bytes served at the remote.
    const clone = fs.mkdtempSync(path.join(os.tmpdir(), 'outpost-auth-clone-'));
    try {
      const withAuth = repoUrl.replace('http://', `http://ci:${TOKEN}@`);
      await git.git(['clone', '-q', withAuth, clone]); // async: the server answers in this process
      const file = path.join(clone, 'sites/plant-1/nodes/edge-1', `${d.id}.yaml`);
      expect(fs.readFileSync(file).equals(yaml.body)).toBe(true);
      const msg = await git.git(['log', '-1', '--format=%B'], clone);
      expect(msg).toContain(`(deployment ${d.id})`);
    } finally {
      fs.rmSync(clone, { recursive: true, force: true });
    }
    expect(git.requests.some((r) => r.startsWith('POST /deployments.git/git-receive-pack'))).toBe(true);
    expect(filesContaining(path.join(coHome.home, 'git'), TOKEN)).toEqual([]);
  });

  it('an LO fetches with the credentials in its configuration and serves the same bytes', async () => {
    const lo = await startTestCore({
      home: loHome.home,
      overrides: {
        role: 'lo',
        site: { id: 'plant-1', name: 'Plant 1' },
        mmi: { enabled: true },
        git: { remote: { url: repoUrl, branch: 'main', username: 'ci', token: TOKEN } },
      },
    });
    try {
      const r = await lo.core.lo.follower.sync('default');
      expect(r.refused).toBeUndefined();
      const yaml = lo.core.lo.manifests.yaml('default.edge-1', deploymentId, served.digest);
      expect(yaml?.equals(served.bytes)).toBe(true);
      expect(filesContaining(loHome.home, TOKEN)).toEqual([]);
    } finally {
      await lo.stop();
    }
  });

  it('a wrong token is refused, says why without the token, and changes nothing', async () => {
    const bad = await startTestCore({
      home: badHome.home,
      overrides: {
        role: 'lo',
        site: { id: 'plant-1', name: 'Plant 1' },
        mmi: { enabled: true },
        git: { remote: { url: repoUrl, branch: 'main', username: 'ci', token: 'wrong-token' } },
      },
    });
    try {
      const before = bad.core.lo.manifests.current('default.edge-1');
      await expect(bad.core.lo.follower.sync('default')).rejects.toThrow();
      const status = bad.core.lo.follower.status('default');
      expect(status.lastError).toMatch(/cannot fetch http:\/\/127\.0\.0\.1:\d+\/deployments\.git/);
      expect(status.lastError).not.toContain('wrong-token');
      expect(bad.core.lo.manifests.current('default.edge-1')).toEqual(before);
    } finally {
      await bad.stop();
    }
  });
});
