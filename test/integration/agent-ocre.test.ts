import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parse, stringify } from 'yaml';
import { edgectl, startServer, type ServerProcess } from '../helpers/cli.js';
import { tempHome } from '../helpers/home.js';
import { startRegistry, type TestRegistry } from '../helpers/registry.js';
import { startSmpDevice, type SmpDevice } from '../helpers/smp-device.js';
import {
  apiFor,
  compileHello,
  enrollNode,
  startAgentProcess,
  wasmApp,
  writeAgentConfig,
  deploymentInstalled,
  type AgentProcess,
  type Api,
} from '../fixtures/agent/harness.js';
import { waitFor } from '../helpers/wait.js';

interface SimState {
  files: { name: string; size: number; sha256: string }[];
  containers: { id: string; image: string; status: string; env: string[] }[];
}

/**
 * The whole MCU flow on loopback (ADR 0441): `edgectl server` (CO+LO) and `edgectl agent` as real
 * processes, a WASM module pushed as an OCI artifact to Debian's docker-registry, and an Ocre board
 * simulated on a real PTY pair (socat + dist/cli/smp-simulator.js, the real SMP framing). The MCU is the
 * child device `edge-1/mcu1`: an ocre app is placed on it (never on the host), installed over SMP,
 * updated, rebuilt after a device reset, shown offline with its workloads unknown while unplugged,
 * recovered when plugged in again, and removed.
 */
describe('edge agent: a WASM app on a microcontroller (ocre over SMP)', () => {
  const serverHome = tempHome('ot-ocre-srv-');
  const agentHome = tempHome('ot-ocre-agent-');
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'ot-ocre-'));
  let server: ServerProcess;
  let registry: TestRegistry;
  let dev: SmpDevice;
  let api: Api;
  let agent: AgentProcess | undefined;
  let deploymentId = '';
  const digests: Record<string, string> = {};

  const sim = async (): Promise<SimState> => {
    const seen = dev.events.length;
    dev.send({ op: 'state' });
    await waitFor(() => dev.events.slice(seen).some((e) => e.event === 'state') || undefined, {
      what: 'simulator state',
      intervalMs: 100,
    });
    return dev.events.slice(seen).find((e) => e.event === 'state') as unknown as SimState;
  };
  const running = async () => {
    const s = await sim();
    return s.containers.length === 1 && s.containers[0]!.status === 'RUNNING' ? s : undefined;
  };

  beforeAll(async () => {
    [server, registry, dev] = await Promise.all([
      startServer(serverHome.home),
      startRegistry(),
      startSmpDevice(),
    ]);
    api = apiFor(server);
    for (const version of ['1.0.0', '1.1.0']) {
      const file = await compileHello(`hello from ocre v${version}`, work, `blink-${version}`);
      digests[version] = (await import('node:crypto'))
        .createHash('sha256')
        .update(fs.readFileSync(file))
        .digest('hex');
      const r = await edgectl([
        'oci',
        'push',
        file,
        `oci://${registry.host}/samples/blink:${version}`,
        '--plain-http',
      ]);
      expect(r.code, r.stderr).toBe(0);
      const app = parse(
        wasmApp({ id: 'blink', version, repository: `oci://${registry.host}/samples/blink`, memory: '16Ki' }),
      ) as { deploymentProfiles: Record<string, unknown>[] };
      app.deploymentProfiles[0]!.id = 'ocre';
      app.deploymentProfiles[0]!['x-outpost-extensions'] = { runtime: 'ocre' };
      await api.apps.add({
        source: { kind: 'upload', upload: { fileName: 'margo.yaml', content: stringify(app) } },
      });
    }
    await api.sites.add({ id: 'plant-1' });
  });

  afterAll(async () => {
    await agent?.stop();
    await server?.stop();
    await registry?.stop();
    await dev?.stop();
    agentHome.cleanup();
    serverHome.cleanup();
    fs.rmSync(work, { recursive: true, force: true });
  });

  it('reports the MCU as the child device edge-1/mcu1 with its own capabilities', async () => {
    await enrollNode(api, agentHome.home, 'edge-1', 'plant-1');
    writeAgentConfig(agentHome.home, {
      runtimes: { helm: { enabled: false }, ocre: { checkSeconds: 0.2, timeoutSeconds: 1, discover: false } },
    });
    const file = path.join(agentHome.home, 'agent.yaml');
    const cfg = parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>;
    cfg.mcus = [{ name: 'mcu1', port: dev.port, board: 'b_u585i_iot02a' }];
    fs.writeFileSync(file, stringify(cfg));
    agent = startAgentProcess(agentHome.home);
    const mcu = await waitFor(
      async () => {
        const n = await api.nodes.get({ name: 'edge-1/mcu1' }).catch(() => undefined);
        return n?.presence === 'online' && n.reportedLabels['outpost.dev/runtime.ocre'] === 'true'
          ? n
          : undefined;
      },
      { what: 'the MCU node online', intervalMs: 100 },
    );
    expect(mcu.capabilities!.properties).toMatchObject({
      id: 'edge-1/mcu1',
      memory: '768Ki',
      supportedRuntimes: ['custom'],
      supportedDeploymentTypes: ['custom'],
    });
    expect(mcu.capabilities!.extensions?.['x-outpost-extensions']).toMatchObject({
      runtimes: ['ocre'],
      mcu: { connected: true, board: 'b_u585i_iot02a', firmware: '1.0.0' },
    });
    // The host offers no ocre itself.
    const host = await api.nodes.get({ name: 'edge-1' });
    expect(host.reportedLabels).not.toHaveProperty('outpost.dev/runtime.ocre');
    const detail = await api.nodes.detail({ name: 'edge-1' });
    expect(detail.mcus).toEqual([
      expect.objectContaining({
        name: 'edge-1/mcu1',
        presence: 'online',
        board: 'b_u585i_iot02a',
        firmware: '1.0.0',
      }),
    ]);
  });

  it('places the ocre app on the MCU only, never on the host, and says why not the host', async () => {
    const fit = await api.nodes.fit({ name: 'edge-1', appId: 'blink' });
    expect(fit.fits[0]).toMatchObject({ fits: false });
    expect(JSON.stringify(fit.fits[0]!.reasons)).toMatch(/ocre apps run on microcontrollers/);
    const d = await api.deployments.create({
      appId: 'blink',
      version: '1.0.0',
      target: { siteId: 'plant-1' },
    });
    deploymentId = d.id;
    const v = await deploymentInstalled(api, deploymentId, { what: 'installed on the MCU' });
    expect(v.nodes.map((n) => n.nodeName)).toEqual(['edge-1/mcu1']);
    const s = await waitFor(running, { what: 'the container running on the device', intervalMs: 100 });
    expect(s.files.map((f) => f.sha256)).toEqual([digests['1.0.0']]);
    expect(s.containers[0]!.env).toEqual(['GREETING=hello']);
  });

  it('updates to a new version: the new module replaces the old one on the device', async () => {
    await api.deployments.update({ id: deploymentId, version: '1.1.0' });
    await deploymentInstalled(api, deploymentId, { version: '1.1.0' });
    const s = await waitFor(running, { what: 'the new container running', intervalMs: 100 });
    expect(s.files.map((f) => f.sha256)).toEqual([digests['1.1.0']]);
  });

  it('rebuilds the containers after a device reset and reports the reset', async () => {
    dev.send({ op: 'reset' });
    const d = await waitFor(
      async () => {
        const x = await api.nodes.detail({ name: 'edge-1/mcu1' });
        return (x.mcu?.resets ?? 0) >= 1 ? x : undefined;
      },
      { what: 'the reset reported', intervalMs: 100 },
    );
    expect(d.events.some((e) => e.kind === 'reset')).toBe(true);
    await agent!.waitForLog(
      (l) => l.msg === 'reconciling the deployments of the microcontroller',
      'the rebuild',
    );
    await waitFor(running, { what: 'the container made again', intervalMs: 100 });
    await waitFor(
      async () => {
        const x = await api.deployments.get({ id: deploymentId });
        return x.nodes[0]?.state === 'installed' ? x : undefined;
      },
      { what: 'installed again', intervalMs: 100 },
    );
  });

  it('an unplugged MCU is offline with its age and its workloads unknown; plugged in again it recovers', async () => {
    await dev.unplug();
    const off = await waitFor(
      async () => {
        const x = await api.nodes.detail({ name: 'edge-1/mcu1' });
        return x.node.presence === 'offline' ? x : undefined;
      },
      { what: 'the MCU offline', intervalMs: 100 },
    );
    expect(off.mcu!.lastError).toBeTruthy();
    expect(off.mcu!.since).toBeGreaterThan(0);
    expect(off.workloads.map((w) => w.state)).toEqual(['unknown']);
    const host = await api.nodes.detail({ name: 'edge-1' });
    expect(host.node.presence).toBe('online');
    expect(host.mcus[0]).toMatchObject({
      presence: 'offline',
      workloads: [expect.objectContaining({ state: 'unknown' })],
    });
    const listed = await api.nodes.list({ presence: ['offline'] });
    expect(listed.nodes.map((n) => n.name)).toEqual(['edge-1/mcu1']);

    await dev.replug();
    await waitFor(
      async () => {
        const x = await api.nodes.get({ name: 'edge-1/mcu1' });
        return x.presence === 'online' ? x : undefined;
      },
      { what: 'the MCU online again', intervalMs: 100 },
    );
    await waitFor(running, { what: 'the container made again after the power cycle', intervalMs: 100 });

    await waitFor(
      async () => {
        const x = await api.nodes.detail({ name: 'edge-1/mcu1' });
        return x.workloads[0]?.state === 'installed' ? x : undefined;
      },
      { what: 'installed after the replug', intervalMs: 100 },
    );
  }, 120_000);

  it('removes: the container and its image leave the device', async () => {
    await api.deployments.remove({ id: deploymentId });
    await waitFor(
      async () => {
        const v = await api.deployments.get({ id: deploymentId }).catch(() => undefined);
        return v === undefined || v.state === 'removed' ? true : undefined;
      },
      { what: 'removed', intervalMs: 100 },
    );
    const s = await waitFor(
      async () => {
        const x = await sim();
        return x.containers.length === 0 && x.files.length === 0 ? x : undefined;
      },
      { what: 'nothing left on the device', intervalMs: 100 },
    );
    expect(s.files).toEqual([]);
    expect(await agent!.stop()).toBe(0);
    agent = undefined;
    // The host goes with its MCUs.
    await api.nodes.remove({ name: 'edge-1' });
    await expect(api.nodes.get({ name: 'edge-1/mcu1' })).rejects.toMatchObject({ code: 'not-found' });
  });
});
