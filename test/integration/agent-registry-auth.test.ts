import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createSiteCa, type SiteCa } from '../../core/ca/index.js';
import { wfmSpiffeId } from '../../lib/identity/index.js';
import { issueTestSvid } from '../../core/mmi/testing/memory-fixture.js';
import { startProxy, type TestProxy } from '../../lib/oci/testing/http-proxy.js';
import { edgectl } from '../helpers/cli.js';
import { startRegistry, type TestRegistry } from '../helpers/registry.js';
import { startFakeMmi, type FakeMmi } from '../fixtures/agent/fake-mmi.js';
import { compileHello, wasmOutputs, wasmRunnerPids } from '../fixtures/agent/harness.js';
import { fastAgentConfig, startInProcessAgent, type InProcessAgent } from '../fixtures/agent/in-process.js';
import { waitFor } from '../helpers/wait.js';

/**
 * The agent pulling from a registry that wants a password (a real docker-registry behind a proxy doing
 * the Basic challenge): without credentials the deployment fails with oci/unauthorized; with the
 * operator's auth file (`registries.authFile`, what `podman login --authfile` writes) the module is
 * pulled, runs and is removed again.
 */
describe('edge agent: registry credentials from an auth file', () => {
  const TD = 'regauth.example';
  const USER = 'edge';
  const PASSWORD = 'pull secret with spaces';
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'outpost-agent-regauth-'));
  let ca: SiteCa;
  let fake: FakeMmi;
  let registry: TestRegistry;
  let proxy: TestProxy;
  let running: InProcessAgent | undefined;

  const yaml = (id: string) => `id: ${id}
metadata:
  name: private-hello
  namespace: default
  deviceId: edge-ra
spec:
  applicationId: hello-wasm
  deploymentProfile:
    type: custom
    components:
      - name: hello
        properties:
          repository: oci://${proxy.host}/private/hello
          revision: 1.0.0
    x-outpost-extensions:
      runtime: wasm
`;
  const lastStatus = (id: string) =>
    [...fake.statuses].reverse().find((s) => s.deploymentId === id) as
      { status: { state: string; error?: { code?: string } } } | undefined;

  beforeAll(async () => {
    ca = await createSiteCa({ trustDomain: TD, name: 'Registry auth test CA', now: Date.now() - 86_400_000 });
    const wfm = await issueTestSvid(ca, wfmSpiffeId(TD, 'lo-ra'), Date.now() - 3_600_000);
    fake = await startFakeMmi({ certPem: wfm.certPem, keyPem: wfm.keyPem, caPem: ca.certPem });
    registry = await startRegistry();
    const expected = `Basic ${Buffer.from(`${USER}:${PASSWORD}`).toString('base64')}`;
    proxy = await startProxy({
      target: registry.url,
      intercept: (req, res) => {
        if (req.headers.authorization === expected) return false;
        res.writeHead(401, { 'www-authenticate': 'Basic realm="private"' }).end();
        return true;
      },
    });
    const f = await compileHello('private registry module', work);
    const r = await edgectl(['oci', 'push', f, `oci://${registry.host}/private/hello:1.0.0`, '--plain-http']);
    expect(r.code, r.stderr).toBe(0);
  });

  afterAll(async () => {
    if (running) {
      for (const pid of wasmRunnerPids(running.home)) process.kill(pid, 'SIGKILL');
      await running.stop();
    }
    await fake?.close();
    await proxy?.stop();
    await registry?.stop();
    fs.rmSync(work, { recursive: true, force: true });
  });

  it('fails the deployment with oci/unauthorized when no credentials are configured', async () => {
    const id = randomUUID();
    await fake.set({ manifestVersion: 1, deployments: [{ deploymentId: id, yaml: yaml(id) }] });
    const config = fastAgentConfig();
    config.registries.plainHttp = true;
    config.runtimes.wasm.enabled = true;
    running = await startInProcessAgent({
      ca,
      trustDomain: TD,
      wfmId: 'lo-ra',
      node: 'edge-ra',
      mmiUrl: fake.url,
      config,
    });
    await waitFor(() => lastStatus(id)?.status.state === 'failed', {
      what: 'the deployment failed',
      timeoutMs: 20_000,
      intervalMs: 100,
    });
    expect(lastStatus(id)!.status.error?.code).toBe('oci/unauthorized');
    await running.stop();
    running = undefined;
  });

  it('pulls with the auth file, runs the module, and removes it again', async () => {
    const id = randomUUID();
    await fake.set({ manifestVersion: 1, deployments: [{ deploymentId: id, yaml: yaml(id) }] });
    const authFile = path.join(work, 'auth.json');
    fs.writeFileSync(
      authFile,
      JSON.stringify({
        auths: {
          'other.example.com': { auth: Buffer.from('someone:else').toString('base64') },
          [`http://${proxy.host}/v2/`]: { auth: Buffer.from(`${USER}:${PASSWORD}`).toString('base64') },
        },
      }),
      { mode: 0o600 },
    );
    const config = fastAgentConfig();
    config.registries.plainHttp = true;
    config.registries.authFile = authFile;
    config.runtimes.wasm.enabled = true;
    running = await startInProcessAgent({
      ca,
      trustDomain: TD,
      wfmId: 'lo-ra',
      node: 'edge-ra',
      mmiUrl: fake.url,
      config,
    });
    await waitFor(() => lastStatus(id)?.status.state === 'installed', {
      what: 'the deployment installed',
      intervalMs: 100,
    });
    await waitFor(() => wasmOutputs(running!.home).includes('private registry module'), {
      what: 'the output',
      intervalMs: 100,
    });
    expect(proxy.requests.some((r) => r.url.includes('/blobs/'))).toBe(true);
    expect(running.logs.map((l) => JSON.stringify(l)).join('\n')).not.toContain(PASSWORD);

    await fake.set({ manifestVersion: 2, deployments: [] });
    await waitFor(() => lastStatus(id)?.status.state === 'removed', {
      what: 'the deployment removed',
      timeoutMs: 20_000,
      intervalMs: 100,
    });
    // The runner ends by itself once it has nothing left to run.
    await waitFor(() => wasmRunnerPids(running!.home).length === 0, {
      what: 'no runner left',
      intervalMs: 100,
    });
  });
});
