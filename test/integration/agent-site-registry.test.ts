import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { edgectl, startServer, type ServerProcess } from '../helpers/cli.js';
import { tempHome } from '../helpers/home.js';
import {
  apiFor,
  compileHello,
  enrollNode,
  startAgentProcess,
  waitFor,
  wasmApp,
  wasmOutputs,
  wasmRunnerPids,
  writeAgentConfig,
  type AgentProcess,
  type Api,
} from '../fixtures/agent/harness.js';

/**
 * An agent at a site pulls only through the site registry: the WASM module is pushed to the LO's site
 * registry under its origin's name (`registry.example/samples/hello:1.0.0`), the application names
 * `oci://registry.example/samples/hello`, and no other registry runs (registry.example does not even
 * resolve). The agent learns the site registry at enrollment and authenticates with its SVID.
 */
describe('edge agent: artifacts through the site registry', () => {
  const serverHome = tempHome('outpost-agentsr-srv-');
  const agentHome = tempHome('outpost-agentsr-home-');
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'outpost-agentsr-'));
  let server: ServerProcess;
  let api: Api;
  let agent: AgentProcess | undefined;
  let loopback = '';

  beforeAll(async () => {
    server = await startServer(serverHome.home);
    api = apiFor(server);
    loopback = new URL((server.info as { registryLoopbackUrl: string }).registryLoopbackUrl).host;
    const file = await compileHello('hello through the site registry', work, 'hello');
    // The server's own site registry: no flags (its token, plain HTTP on loopback).
    const r = await edgectl(['oci', 'push', file, `${loopback}/registry.example/samples/hello:1.0.0`], {
      env: { EDGE_HOME: serverHome.home },
    });
    expect(r.code, r.stderr).toBe(0);
    for (const version of ['1.0.0', '2.0.0'])
      await api.apps.add({
        source: {
          kind: 'upload',
          upload: {
            fileName: 'margo.yaml',
            content: wasmApp({
              id: 'hello-site',
              version,
              repository: 'oci://registry.example/samples/hello',
            }),
          },
        },
      });
    await api.sites.add({ id: 'plant-1' });
  });

  afterAll(async () => {
    await agent?.stop();
    for (const pid of wasmRunnerPids(agentHome.home)) process.kill(pid, 'SIGKILL');
    await server?.stop();
    agentHome.cleanup();
    serverHome.cleanup();
    fs.rmSync(work, { recursive: true, force: true });
  });

  it('learns the site registry at enrollment', async () => {
    await enrollNode(api, agentHome.home, 'edge-1', 'plant-1');
    const e = JSON.parse(
      fs.readFileSync(path.join(agentHome.home, 'identity', 'enrollment.json'), 'utf8'),
    ) as { registryUrl?: string };
    expect(e.registryUrl).toBe((server.info as { registryUrl: string }).registryUrl);
  });

  it('runs the module pulled from the site registry, the only registry there is', async () => {
    writeAgentConfig(agentHome.home, { registries: { plainHttp: false } });
    agent = startAgentProcess(agentHome.home);
    await agent.waitForLog(
      (l) => l.msg === 'artifacts are pulled through the site registry',
      'the site registry',
    );
    const d = await api.deployments.create({
      appId: 'hello-site',
      version: '1.0.0',
      target: { siteId: 'plant-1' },
      parameters: { greeting: 'hi' },
    });
    await waitFor(async () => {
      const v = await api.deployments.get({ id: d.id });
      return v.nodes[0]?.state === 'installed' ? v : undefined;
    }, 'installed');
    await waitFor(
      () => wasmOutputs(agentHome.home).includes('hello through the site registry'),
      'the module output',
    );
    // The node's certificate is what the site registry saw: podman's cert dir holds the same pair.
    const certs = path.join(agentHome.home, 'identity', 'registry-certs');
    expect(fs.readFileSync(path.join(certs, 'client.cert'), 'utf8')).toBe(
      fs.readFileSync(path.join(agentHome.home, 'identity', 'svid.pem'), 'utf8'),
    );
    expect(fs.statSync(path.join(certs, 'client.key')).mode & 0o777).toBe(0o600);
    await api.deployments.remove({ id: d.id });
    await waitFor(() => wasmRunnerPids(agentHome.home).length === 0, 'removed');
  });

  it('reports a version the site registry lacks as failed, naming the site registry and then the origin', async () => {
    const d = await api.deployments.create({
      appId: 'hello-site',
      version: '2.0.0',
      target: { siteId: 'plant-1' },
    });
    const v = await waitFor(async () => {
      const x = await api.deployments.get({ id: d.id });
      return x.nodes[0]?.state === 'failed' ? x : undefined;
    }, 'failed');
    const message = v.nodes[0]!.error?.message ?? '';
    expect(message).toContain(`registry.example/samples/hello:2.0.0`);
    expect(message).toMatch(/not found.*; then .*registry\.example/);
    await api.deployments.remove({ id: d.id });
  });
});
