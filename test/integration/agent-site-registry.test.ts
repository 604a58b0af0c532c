import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { edgectl, startServer, type ServerProcess } from '../helpers/cli.js';
import { tempHome } from '../helpers/home.js';
import { buildBusyboxImage, createPodmanEnv, podmanUsable, type PodmanTestEnv } from '../helpers/podman.js';
import {
  apiFor,
  compileHello,
  composeApp,
  enrollNode,
  startAgentProcess,
  wasmApp,
  wasmOutputs,
  wasmRunnerPids,
  writeAgentConfig,
  type AgentProcess,
  type Api,
} from '../fixtures/agent/harness.js';
import { waitFor } from '../helpers/wait.js';

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
    loopback = new URL(server.info.registryLoopbackUrl!).host;
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
    expect(e.registryUrl).toBe(server.info.registryUrl!);
    const st = await edgectl(['agent', 'status', '--home', agentHome.home, '-o', 'json']);
    expect(st.code, st.stderr).toBe(0);
    expect((JSON.parse(st.stdout) as { siteRegistry?: string }).siteRegistry).toBe(server.info.registryUrl);
  });

  it('runs the module pulled from the site registry, the only registry there is', async () => {
    writeAgentConfig(agentHome.home, { registries: { plainHttp: false } });
    agent = startAgentProcess(agentHome.home);
    await agent.waitForLog(
      (l) => l.msg === 'artifacts are pulled through the site registry',
      'the site registry',
    );
    // Placed only once the node's capabilities are known (on a loaded machine they come after the log above).
    await agent.waitForLog((l) => l.msg === 'capabilities sent', 'capabilities sent', 60_000);
    const d = await api.deployments.create({
      appId: 'hello-site',
      version: '1.0.0',
      target: { siteId: 'plant-1' },
      parameters: { greeting: 'hi' },
    });
    await waitFor(
      async () => {
        const v = await api.deployments.get({ id: d.id });
        return v.nodes[0]?.state === 'installed' ? v : undefined;
      },
      { what: 'installed', intervalMs: 100 },
    );
    await waitFor(() => wasmOutputs(agentHome.home).includes('hello through the site registry'), {
      what: 'the module output',
      intervalMs: 100,
    });
    // The node's certificate is what the site registry saw: podman's cert dir holds the same pair.
    const certs = path.join(agentHome.home, 'identity', 'registry-certs');
    expect(fs.readFileSync(path.join(certs, 'client.cert'), 'utf8')).toBe(
      fs.readFileSync(path.join(agentHome.home, 'identity', 'svid.pem'), 'utf8'),
    );
    expect(fs.statSync(path.join(certs, 'client.key')).mode & 0o777).toBe(0o600);
    await api.deployments.remove({ id: d.id });
    await waitFor(() => wasmRunnerPids(agentHome.home).length === 0, { what: 'removed', intervalMs: 100 });
  });

  it('reports a version the site registry lacks as failed, naming the site registry and then the origin', async () => {
    const d = await api.deployments.create({
      appId: 'hello-site',
      version: '2.0.0',
      target: { siteId: 'plant-1' },
    });
    const v = await waitFor(
      async () => {
        const x = await api.deployments.get({ id: d.id });
        return x.nodes[0]?.state === 'failed' ? x : undefined;
      },
      { what: 'failed', intervalMs: 100 },
    );
    const message = v.nodes[0]!.error?.message ?? '';
    expect(message).toContain(`registry.example/samples/hello:2.0.0`);
    expect(message).toMatch(/not found.*; then .*registry\.example/);
    await api.deployments.remove({ id: d.id });
  });

  describe.skipIf(!podmanUsable().ok)('a container image', () => {
    const podHome = tempHome('outpost-agentsr-pod-');
    let pe: PodmanTestEnv;
    let podAgent: AgentProcess | undefined;
    let siteImage = '';

    beforeAll(async () => {
      pe = createPodmanEnv('outpost-agentsr-podman-');
      const img = await buildBusyboxImage(pe, {
        cmd: [
          '/bin/sh',
          '-c',
          "echo hello from the site image; trap 'exit 0' TERM; while :; do sleep 1 & wait $!; done",
        ],
      });
      const certs = path.join(work, 'push-certs');
      fs.mkdirSync(certs, { recursive: true });
      fs.copyFileSync(path.join(serverHome.home, 'pki', 'site-ca', 'ca.pem'), path.join(certs, 'ca.crt'));
      const https = new URL(server.info.registryUrl!).host;
      siteImage = `${https}/registry.example/samples/busybox`;
      await pe.podmanOk([
        'push',
        '--cert-dir',
        certs,
        '--creds',
        `outpost:${server.info.token}`,
        img,
        `docker://${siteImage}:1.0.0`,
      ]);
      await api.apps.add({
        source: {
          kind: 'upload',
          upload: {
            fileName: 'margo.yaml',
            content: composeApp({
              id: 'busybox-site',
              version: '1.0.0',
              components: [{ name: 'box', repository: 'oci://registry.example/samples/busybox' }],
            }),
          },
        },
      });
      await enrollNode(api, podHome.home, 'edge-pod', 'plant-1', pe.env);
      writeAgentConfig(podHome.home, {
        registries: { plainHttp: false },
        runtimes: { wasm: { enabled: false }, helm: { enabled: false } },
      });
      podAgent = startAgentProcess(podHome.home, pe.env);
      await podAgent.waitForLog((l) => l.msg === 'capabilities sent', 'capabilities sent', 60_000);
    });

    afterAll(async () => {
      await podAgent?.stop();
      if (pe) {
        const left = (await pe.podman(['ps', '-aq', '--filter', 'label=outpost.managed=true'])).stdout
          .split('\n')
          .filter(Boolean);
        const ours: string[] = [];
        for (const id of left) {
          const labels = (await pe.podman(['inspect', '--format', '{{json .Config.Labels}}', id])).stdout;
          if (labels.includes('busybox-site') || labels.includes('edge-pod')) ours.push(id);
        }
        if (ours.length) await pe.podman(['rm', '-f', '-t', '0', ...ours]);
        const images = (await pe.podman(['images', '--format', '{{.Repository}}@{{.Digest}}'])).stdout
          .split('\n')
          .filter((l) => l.startsWith(siteImage));
        for (const i of images) await pe.podman(['rmi', '-f', i]);
        await pe.cleanup();
      }
      podHome.cleanup();
    });

    it('is pulled by podman from the site registry with the node certificate, and runs', async () => {
      const d = await api.deployments.create({
        appId: 'busybox-site',
        version: '1.0.0',
        target: { siteId: 'plant-1', nodes: ['edge-pod'] },
      });
      await waitFor(
        async () => {
          const v = await api.deployments.get({ id: d.id });
          return v.nodes.find((n) => n.nodeName === 'edge-pod')?.state === 'installed' ? v : undefined;
        },
        { what: 'installed', timeoutMs: 90_000, intervalMs: 100 },
      );
      const containers = JSON.parse(
        (await pe.podmanOk(['ps', '--filter', 'label=outpost.managed=true', '--format', 'json'])).trim() ||
          '[]',
      ) as { Image: string; Labels: Record<string, string> }[];
      const mine = containers.filter((c) => c.Image.startsWith(`${siteImage}@sha256:`));
      expect(mine).toHaveLength(1);
      await api.deployments.remove({ id: d.id });
      await waitFor(
        async () => {
          const v = await api.deployments.get({ id: d.id }).catch(() => undefined);
          return v === undefined || v.state === 'removed' ? true : undefined;
        },
        { what: 'removed', timeoutMs: 60_000, intervalMs: 100 },
      );
    }, 120_000);
  });
});
