import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { safeName } from '../../agents/runtimes/names.js';
import { writeTarGz } from '../../lib/oci/testing/archives.js';
import { edgectl, startServer, type ServerProcess } from '../helpers/cli.js';
import { tempHome } from '../helpers/home.js';
import { buildBusyboxImage, createPodmanEnv, podmanUsable, type PodmanTestEnv } from '../helpers/podman.js';
import { startRegistry, type TestRegistry } from '../helpers/registry.js';
import {
  apiFor,
  composeApp,
  enrollNode,
  startAgentProcess,
  writeAgentConfig,
  deploymentInstalled,
  type AgentProcess,
  type Api,
} from '../fixtures/agent/harness.js';
import { waitFor } from '../helpers/wait.js';

/**
 * End to end through real podman: `edgectl server` + `edgectl agent` over mutual TLS, images built here
 * from busybox-static and pushed to Debian's docker-registry.
 * - a container app (a compose profile whose one component is a container image: the container adapter);
 * - a compose app with two components in order: a container image (`wait`) and a compose archive.
 * Deploy → output → installed; update → the new version runs; remove → removed, no container, network,
 * volume or pulled image left.
 */
const usable = podmanUsable();

describe.skipIf(!usable.ok)(
  `edge agent: container and compose apps through podman${usable.ok ? '' : ` (skipped: ${usable.reason})`}`,
  () => {
    const serverHome = tempHome('outpost-agentp-srv-');
    const agentHome = tempHome('outpost-agentp-home-');
    const work = fs.mkdtempSync(path.join(os.tmpdir(), 'outpost-agentp-'));
    let pe: PodmanTestEnv;
    let server: ServerProcess;
    let registry: TestRegistry;
    let api: Api;
    let agent: AgentProcess | undefined;
    let base = '';
    const ids: Record<string, string> = {};

    const podman = (args: string[]) => pe.podmanOk(args);
    const instance = () => fs.readFileSync(path.join(agentHome.home, 'instance-id'), 'utf8').trim();
    /** Containers this agent made: name, state, deployment and component labels. */
    const containers = async () =>
      (await podman(['ps', '-a', '--filter', `label=outpost.instance=${instance()}`, '--format', 'json']))
        .trim()
        .replace(/^$/, '[]');
    const list = async () =>
      (
        JSON.parse(await containers()) as {
          Id: string;
          Names: string[];
          State: string;
          Labels: Record<string, string>;
          Created: number;
        }[]
      ).map((c) => ({
        id: c.Id,
        name: c.Names[0]!,
        state: c.State,
        deployment: c.Labels['outpost.deployment'],
        component: c.Labels['outpost.component'],
        created: c.Created,
      }));
    const logsOf = async (id: string) => {
      const r = await pe.podman(['logs', id]);
      return r.stdout + r.stderr;
    };
    const installed = (id: string, version: string) =>
      deploymentInstalled(api, id, { version, timeoutMs: 60_000 });

    beforeAll(async () => {
      pe = createPodmanEnv('outpost-agentp-podman-');
      [server, registry] = await Promise.all([startServer(serverHome.home), startRegistry()]);
      api = apiFor(server);
      base = await buildBusyboxImage(pe);
      for (const v of ['1.0.0', '2.0.0']) {
        const img = await buildBusyboxImage(pe, {
          cmd: [
            '/bin/sh',
            '-c',
            `echo "hello from container v${v} GREETING=$GREETING"; trap 'exit 0' TERM; while :; do sleep 1 & wait $!; done`,
          ],
        });
        await podman([
          'push',
          '--tls-verify=false',
          img,
          `docker://${registry.host}/samples/hello-container:${v}`,
        ]);
        const archive = path.join(work, `web-${v}.tar.gz`);
        await writeTarGz(archive, [
          { name: 'web/', type: 'directory' },
          {
            name: 'web/compose.yaml',
            content: `services:
  web:
    image: ${base}
    command: ["/bin/sh", "-c", "echo \\"hello from compose v${v} COLOR=$$COLOR\\"; trap 'exit 0' TERM; while :; do sleep 1 & wait $$!; done"]
    environment:
      COLOR: \${COLOR:-unset}
    volumes:
      - data:/data
volumes:
  data: {}
`,
          },
        ]);
        const r = await edgectl([
          'oci',
          'push',
          archive,
          `oci://${registry.host}/samples/web:${v}`,
          '--plain-http',
        ]);
        expect(r.code, r.stderr).toBe(0);
        for (const content of [
          composeApp({
            id: 'hello-container',
            version: v,
            components: [{ name: 'hello', repository: `oci://${registry.host}/samples/hello-container` }],
            parameters: {
              greeting: { value: 'hi', targets: [{ pointer: 'GREETING', components: ['hello'] }] },
            },
          }),
          composeApp({
            id: 'hello-compose',
            version: v,
            components: [
              { name: 'first', repository: `oci://${registry.host}/samples/hello-container`, wait: true },
              { name: 'web', repository: `oci://${registry.host}/samples/web` },
            ],
            parameters: { color: { value: 'blue', targets: [{ pointer: 'COLOR', components: ['web'] }] } },
          }),
        ]) {
          await api.apps.add({ source: { kind: 'upload', upload: { fileName: 'margo.yaml', content } } });
        }
      }
      await api.sites.add({ id: 'plant-2' });
      await enrollNode(api, agentHome.home, 'edge-pod', 'plant-2', pe.env);
      writeAgentConfig(agentHome.home, { runtimes: { wasm: { enabled: false }, helm: { enabled: false } } });
      agent = startAgentProcess(agentHome.home, pe.env);
      await agent.waitForLog((l) => l.msg === 'capabilities sent', 'capabilities sent', 60_000);
    });

    afterAll(async () => {
      await agent?.stop();
      if (pe) {
        const inst = fs.existsSync(path.join(agentHome.home, 'instance-id')) ? instance() : undefined;
        if (inst) {
          const left = (await pe.podman(['ps', '-aq', '--filter', `label=outpost.instance=${inst}`])).stdout
            .split('\n')
            .filter(Boolean);
          if (left.length) await pe.podman(['rm', '-f', '-t', '0', ...left]);
        }
        for (const id of Object.values(ids)) {
          for (const c of ['first', 'web', 'hello']) {
            const project = safeName(`${id}.${c}`, 'outpost-');
            for (const kind of ['network', 'volume'] as const) {
              const names = (
                await pe.podman([kind, 'ls', '-q', '--filter', `label=com.docker.compose.project=${project}`])
              ).stdout
                .split('\n')
                .filter(Boolean);
              for (const n of names) await pe.podman([kind, 'rm', '-f', n]);
            }
          }
        }
        if (registry) {
          const imgs = (
            await pe.podman(['images', '--format', '{{.ID}}', '--filter', `reference=${registry.host}/*/*`])
          ).stdout
            .split('\n')
            .filter(Boolean);
          if (imgs.length) await pe.podman(['rmi', '-f', ...imgs]);
        }
        await pe.cleanup();
      }
      await server?.stop();
      await registry?.stop();
      agentHome.cleanup();
      serverHome.cleanup();
      fs.rmSync(work, { recursive: true, force: true });
    });

    it('reports compose and oci runtimes from the podman it found', async () => {
      const node = await api.nodes.get({ name: 'edge-pod' });
      expect(node.capabilities!.properties.supportedDeploymentTypes).toEqual(['compose']);
      expect(node.capabilities!.properties.supportedRuntimes).toEqual(['oci']);
    });

    it('deploys a container app: one container from the pulled image, with its parameters', async () => {
      const d = await api.deployments.create({
        appId: 'hello-container',
        version: '1.0.0',
        target: { siteId: 'plant-2' },
      });
      ids.container = d.id;
      await installed(d.id, '1.0.0');
      const cs = (await list()).filter((c) => c.deployment === d.id);
      expect(cs).toHaveLength(1);
      expect(cs[0]).toMatchObject({ state: 'running', component: 'hello' });
      await waitFor(
        async () => (await logsOf(cs[0]!.id)).includes('hello from container v1.0.0 GREETING=hi'),
        { what: 'container output', intervalMs: 100 },
      );
    });

    it('deploys a compose app: components in the listed order, the compose project up with its parameters', async () => {
      const d = await api.deployments.create({
        appId: 'hello-compose',
        version: '1.0.0',
        target: { siteId: 'plant-2' },
      });
      ids.compose = d.id;
      const v = await installed(d.id, '1.0.0');
      expect(v.nodes[0]!.components).toEqual([
        { name: 'first', state: 'installed' },
        { name: 'web', state: 'installed' },
      ]);
      const cs = (await list()).filter((c) => c.deployment === d.id);
      const first = cs.find((c) => c.component === 'first')!;
      const web = cs.find((c) => c.component === 'web')!;
      expect(cs).toHaveLength(2);
      expect(first.created).toBeLessThanOrEqual(web.created);
      await waitFor(async () => (await logsOf(web.id)).includes('hello from compose v1.0.0 COLOR=blue'), {
        what: 'compose output',
        intervalMs: 100,
      });
      // The agent reported the first component installed before it started the second one.
      const reports = agent!
        .logs()
        .filter((l) => l.msg === 'deployment state' && l.deploymentId === d.id)
        .map((l) => l.state);
      expect(reports[0]).toBe('installing');
      expect(reports.at(-1)).toBe('installed');
    });

    it('updates both apps: the new versions replace the old containers', async () => {
      const before = await list();
      await api.deployments.update({ id: ids.container!, version: '2.0.0' });
      await api.deployments.update({ id: ids.compose!, version: '2.0.0' });
      await installed(ids.container!, '2.0.0');
      await installed(ids.compose!, '2.0.0');
      const after = await list();
      expect(after.filter((c) => c.deployment === ids.container)).toHaveLength(1);
      expect(after.filter((c) => c.deployment === ids.compose)).toHaveLength(2);
      for (const c of after) expect(before.map((b) => b.id)).not.toContain(c.id);
      const hello = after.find((c) => c.deployment === ids.container)!;
      const web = after.find((c) => c.deployment === ids.compose && c.component === 'web')!;
      await waitFor(async () => (await logsOf(hello.id)).includes('hello from container v2.0.0'), {
        what: 'new container output',
        intervalMs: 100,
      });
      await waitFor(async () => (await logsOf(web.id)).includes('hello from compose v2.0.0 COLOR=blue'), {
        what: 'new compose output',
        intervalMs: 100,
      });
    });

    it('removes both apps: removed, and no container, network, volume or pulled image is left', async () => {
      await api.deployments.remove({ id: ids.container! });
      await api.deployments.remove({ id: ids.compose! });
      for (const id of [ids.container!, ids.compose!]) {
        await waitFor(
          async () => {
            const v = await api.deployments.get({ id }).catch(() => undefined);
            return v === undefined || v.state === 'removed' ? true : undefined;
          },
          { what: `${id} removed`, timeoutMs: 60_000, intervalMs: 100 },
        );
      }
      await waitFor(async () => (await list()).length === 0, { what: 'no container left', intervalMs: 100 });
      for (const c of ['first', 'web']) {
        const project = safeName(`${ids.compose}.${c}`, 'outpost-');
        for (const kind of ['network', 'volume'] as const) {
          expect(
            (
              await podman([kind, 'ls', '-q', '--filter', `label=com.docker.compose.project=${project}`])
            ).trim(),
          ).toBe('');
        }
      }
      // The images the agent pulled are removed with their workloads (the test's own local images stay).
      const names = (
        JSON.parse((await podman(['images', '--format', 'json'])) || '[]') as { Names?: string[] }[]
      ).flatMap((i) => i.Names ?? []);
      expect(names.filter((n) => n.startsWith(registry.host))).toEqual([]);
      expect(fs.readdirSync(path.join(agentHome.home, 'workloads', 'compose'))).toEqual([]);
    });
  },
  // Each test waits up to 60 s for the agent (pulls, podman on a loaded machine): room beyond that.
  180_000,
);
