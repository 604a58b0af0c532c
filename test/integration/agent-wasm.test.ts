import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { edgectl, startServer, type ServerProcess } from '../helpers/cli.js';
import { tempHome } from '../helpers/home.js';
import { startRegistry, type TestRegistry } from '../helpers/registry.js';
import {
  apiFor,
  compileHello,
  enrollNode,
  startAgentProcess,
  wasmApp,
  wasmOutputs,
  wasmRunnerPids,
  writeAgentConfig,
  deploymentInstalled,
  type AgentProcess,
  type Api,
} from '../fixtures/agent/harness.js';
import { waitFor } from '../helpers/wait.js';

/**
 * End to end on loopback: `edgectl server` (CO+LO) and `edgectl agent` as real processes over real mutual
 * TLS, a WASM module pushed as an OCI artifact to Debian's docker-registry. Deploy → the module runs and
 * prints → `installed`; update the version → the new module runs; remove → `removed`, nothing left.
 */
describe('edge agent: a WASM app from deploy to removal', () => {
  const serverHome = tempHome('outpost-agent-srv-');
  const agentHome = tempHome('outpost-agent-home-');
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'outpost-agent-wasm-'));
  let server: ServerProcess;
  let registry: TestRegistry;
  let api: Api;
  let agent: AgentProcess | undefined;
  let deploymentId = '';

  beforeAll(async () => {
    [server, registry] = await Promise.all([startServer(serverHome.home), startRegistry()]);
    api = apiFor(server);
    for (const version of ['1.0.0', '1.1.0']) {
      const file = await compileHello(`hello from wasm v${version}`, work, `hello-${version}`);
      const r = await edgectl([
        'oci',
        'push',
        file,
        `oci://${registry.host}/samples/hello-wasm:${version}`,
        '--plain-http',
      ]);
      expect(r.code, r.stderr).toBe(0);
      await api.apps.add({
        source: {
          kind: 'upload',
          upload: {
            fileName: 'margo.yaml',
            content: wasmApp({
              id: 'hello-wasm',
              version,
              repository: `oci://${registry.host}/samples/hello-wasm`,
            }),
          },
        },
      });
    }
    await api.sites.add({ id: 'plant-1' });
  });

  afterAll(async () => {
    await agent?.stop();
    // Whatever a failed test left running.
    for (const pid of wasmRunnerPids(agentHome.home)) process.kill(pid, 'SIGKILL');
    await server?.stop();
    await registry?.stop();
    agentHome.cleanup();
    serverHome.cleanup();
    fs.rmSync(work, { recursive: true, force: true });
  });

  it('enrolls with a one-time token: key 0600 made on the node, SVID and anchors stored', async () => {
    await enrollNode(api, agentHome.home, 'edge-1', 'plant-1');
    const id = path.join(agentHome.home, 'identity');
    expect(fs.statSync(path.join(id, 'key.pem')).mode & 0o777).toBe(0o600);
    expect(fs.readFileSync(path.join(id, 'svid.pem'), 'utf8')).toContain('BEGIN CERTIFICATE');
    expect(fs.readFileSync(path.join(id, 'anchors.pem'), 'utf8')).toContain('BEGIN CERTIFICATE');
    const e = JSON.parse(fs.readFileSync(path.join(id, 'enrollment.json'), 'utf8')) as Record<string, string>;
    expect(e).toMatchObject({
      clientId: 'default.edge-1',
      nodeName: 'edge-1',
      siteId: 'plant-1',
      mmiUrl: server.info.mmiUrl,
    });
    expect(JSON.stringify(e)).not.toContain('PRIVATE KEY');
  });

  it('starts, reports real capabilities the LO accepts, and polls', async () => {
    writeAgentConfig(agentHome.home);
    agent = startAgentProcess(agentHome.home);
    await agent.waitForLog((l) => l.msg === 'capabilities sent', 'capabilities sent');
    const node = await api.nodes.get({ name: 'edge-1' });
    const p = node.capabilities!.properties;
    expect(p.id).toBe('edge-1');
    expect(p.supportedDeploymentTypes).toContain('custom');
    expect(p.supportedRuntimes).toContain('custom');
    expect(p.cpus?.[0]?.cores).toBeGreaterThan(0);
    // The configured labels, and one label per runtime that really works here (issue 12).
    const ext = node.capabilities!.extensions?.['x-outpost-extensions'] as {
      engines: { name: string; available: boolean }[];
    };
    const usable = ext.engines.filter((e) => e.available).map((e) => e.name);
    expect(usable).toContain('wasm');
    // The ocre runtime labels its microcontrollers (child devices), never the host (ADR 0441).
    expect(node.capabilities!.labels).toEqual({
      'outpost.test/agent': 'yes',
      ...Object.fromEntries(
        usable.filter((k) => k !== 'ocre').map((k) => [`outpost.dev/runtime.${k}`, 'true']),
      ),
    });
    expect(node.capabilities!.extensions?.['x-outpost-extensions']).toMatchObject({ runtimes: ['wasm'] });
    await agent.waitForLog((l) => l.msg === 'desired state adopted', 'the first manifest');
  });

  it('deploys: the module runs with its parameters, the node reports installed', async () => {
    const d = await api.deployments.create({
      appId: 'hello-wasm',
      version: '1.0.0',
      target: { siteId: 'plant-1' },
      parameters: { greeting: 'hi there' },
    });
    deploymentId = d.id;
    await deploymentInstalled(api, deploymentId);
    await waitFor(() => wasmOutputs(agentHome.home).includes('hello from wasm v1.0.0'), {
      what: 'the module output',
      intervalMs: 100,
    });
    expect(wasmOutputs(agentHome.home)).toContain('env: GREETING=hi there');
    expect(wasmRunnerPids(agentHome.home)).toHaveLength(1);

    const st = await edgectl(['agent', 'status', '--home', agentHome.home, '-o', 'json']);
    expect(st.code, st.stderr).toBe(0);
    const s = JSON.parse(st.stdout) as {
      agent: { running: boolean };
      manifestVersion: number;
      lastSyncAgeSeconds: number;
      deployments: { deploymentId: string; state: string; components: { name: string; state: string }[] }[];
    };
    expect(s.agent.running).toBe(true);
    expect(s.manifestVersion).toBeGreaterThanOrEqual(2);
    expect(s.lastSyncAgeSeconds).toBeLessThan(60);
    expect(s.deployments).toEqual([
      expect.objectContaining({
        deploymentId,
        state: 'installed',
        components: [{ name: 'hello', state: 'installed' }],
      }),
    ]);
    const table = await edgectl(['agent', 'status', '--home', agentHome.home]);
    expect(table.stdout).toMatch(/Last sync:\s+\S+ \(\d+\S* ago\)/);
    expect(table.stdout).toContain('installed');
  });

  it('updates the version: the new module replaces the old one', async () => {
    const before = wasmRunnerPids(agentHome.home);
    await api.deployments.update({ id: deploymentId, version: '1.1.0' });
    await deploymentInstalled(api, deploymentId, { version: '1.1.0' });
    await waitFor(() => wasmOutputs(agentHome.home).includes('hello from wasm v1.1.0'), {
      what: 'the new module output',
      intervalMs: 100,
    });
    // One runner for all WASM workloads (ADR 0544): the new module runs in the same process.
    expect(wasmRunnerPids(agentHome.home)).toEqual(before);
    expect(before).toHaveLength(1);
  });

  it('removes: the node reports removing then removed, and nothing is left behind', async () => {
    await api.deployments.remove({ id: deploymentId });
    await waitFor(
      async () => {
        const v = await api.deployments.get({ id: deploymentId }).catch(() => undefined);
        return v === undefined || v.state === 'removed' ? true : undefined;
      },
      { what: 'removed', intervalMs: 100 },
    );
    await waitFor(() => wasmRunnerPids(agentHome.home).length === 0, {
      what: 'no runner left',
      intervalMs: 100,
    });
    const wasmDir = path.join(agentHome.home, 'workloads', 'wasm');
    expect(fs.readdirSync(wasmDir)).toEqual([]);
    await waitFor(
      () => {
        const state = JSON.parse(fs.readFileSync(path.join(agentHome.home, 'state.json'), 'utf8')) as {
          deployments: Record<string, unknown>;
        };
        return Object.keys(state.deployments).length === 0;
      },
      { what: 'the deployment to leave state.json', intervalMs: 100 },
    );
    expect(fs.readdirSync(path.join(agentHome.home, 'desired'))).toEqual([]);
    const states = agent!
      .logs()
      .filter((l) => l.msg === 'deployment state' && l.deploymentId === deploymentId)
      .map((l) => l.state);
    expect(states.slice(-2)).toEqual(['removing', 'removed']);
  });

  it('stops on SIGTERM with exit code 0', async () => {
    expect(await agent!.stop()).toBe(0);
    agent = undefined;
  });

  it('re-sends changed capabilities, and acts on "poll now" from the site bus without waiting for its interval', async () => {
    // A 10-minute poll interval: only the LO's notice can make it act within this test.
    writeAgentConfig(agentHome.home, {
      poll: { intervalSeconds: 600 },
      capabilities: { labels: { 'outpost.test/agent': 'changed' } },
    });
    const started = Date.now();
    agent = startAgentProcess(agentHome.home);
    await agent.waitForLog(
      (l) => l.msg === 'connected to the site bus (poll-now notices, presence)',
      'the site bus',
    );
    await waitFor(
      async () => {
        const n = await api.nodes.get({ name: 'edge-1' });
        return n.capabilities?.labels?.['outpost.test/agent'] === 'changed';
      },
      { what: 'the changed label at the LO', intervalMs: 100 },
    );
    // Its one poll at start is done (it found the manifest unchanged); the next would be in 10 minutes.
    await waitFor(
      () => {
        const s = JSON.parse(fs.readFileSync(path.join(agentHome.home, 'state.json'), 'utf8')) as {
          lastSync?: number;
        };
        return (s.lastSync ?? 0) >= started;
      },
      { what: 'the first poll', intervalMs: 100 },
    );
    const d = await api.deployments.create({
      appId: 'hello-wasm',
      version: '1.1.0',
      target: { siteId: 'plant-1' },
    });
    await waitFor(
      async () => {
        const v = await api.deployments.get({ id: d.id });
        return v.nodes[0]?.state === 'installed' ? v : undefined;
      },
      { what: 'installed after a poll-now notice', intervalMs: 100 },
    );
    await api.deployments.remove({ id: d.id });
    await waitFor(() => wasmRunnerPids(agentHome.home).length === 0, {
      what: 'removed after a poll-now notice',
      intervalMs: 100,
    });
    expect(await agent.stop()).toBe(0);
    agent = undefined;
  }, 90_000);
});
