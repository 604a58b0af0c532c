import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import Database from 'better-sqlite3';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { stringify } from 'yaml';
import { edgectl, startServer, type ServerProcess } from '../helpers/cli.js';
import { tempHome } from '../helpers/home.js';
import { buildBusyboxImage, createPodmanEnv, podmanUsable, type PodmanTestEnv } from '../helpers/podman.js';
import { startRegistry, type TestRegistry } from '../helpers/registry.js';
import {
  apiFor,
  compileHello,
  composeApp,
  enrollNode,
  freePort,
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
 * Faults, with real processes: the agent SIGKILLed in the middle of installs and started again converges
 * without a second container or WASM runner; with the LO stopped, workloads keep running, state changes
 * are queued on disk, and the reports reach the LO in their order once it is back.
 */
const podmanOk = podmanUsable();

describe('edge agent: crashes and an absent LO', () => {
  const serverHome = tempHome('outpost-agentf-srv-');
  const agentHome = tempHome('outpost-agentf-home-');
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'outpost-agentf-'));
  let pe: PodmanTestEnv | undefined;
  let server: ServerProcess;
  let registry: TestRegistry;
  let api: Api;
  let agent: AgentProcess | undefined;
  const ids: { wasm?: string; container?: string } = {};
  let serverArgs: string[] = [];

  const agentState = () =>
    JSON.parse(fs.readFileSync(path.join(agentHome.home, 'state.json'), 'utf8')) as {
      deployments: Record<string, { reported?: { state: string } }>;
    };
  const instance = () => fs.readFileSync(path.join(agentHome.home, 'instance-id'), 'utf8').trim();
  const containersOf = async (deploymentId: string) =>
    (
      JSON.parse(
        (await pe!.podmanOk([
          'ps',
          '-a',
          '--filter',
          `label=outpost.deployment=${deploymentId}`,
          '--filter',
          `label=outpost.instance=${instance()}`,
          '--format',
          'json',
        ])) || '[]',
      ) as { Id: string; State: string }[]
    ).map((c) => ({ id: c.Id, state: c.State }));
  const installed = (id: string) => deploymentInstalled(api, id, { timeoutMs: 60_000 });

  beforeAll(async () => {
    // Fixed ports, so the LO comes back where the agent expects it after a restart.
    const [console_, mmi, nats, leaf] = await Promise.all([freePort(), freePort(), freePort(), freePort()]);
    fs.writeFileSync(
      path.join(serverHome.home, 'config.yaml'),
      stringify({ mmi: { port: mmi }, nats: { port: nats, leafPort: leaf } }),
    );
    serverArgs = ['--port', String(console_)];
    [server, registry] = await Promise.all([startServer(serverHome.home, serverArgs), startRegistry()]);
    api = apiFor(server);
    const f = await compileHello('fault test wasm', work);
    const r = await edgectl([
      'oci',
      'push',
      f,
      `oci://${registry.host}/samples/fault-wasm:1.0.0`,
      '--plain-http',
    ]);
    expect(r.code, r.stderr).toBe(0);
    await api.apps.add({
      source: {
        kind: 'upload',
        upload: {
          fileName: 'margo.yaml',
          content: wasmApp({
            id: 'fault-wasm',
            version: '1.0.0',
            repository: `oci://${registry.host}/samples/fault-wasm`,
          }),
        },
      },
    });
    if (podmanOk.ok) {
      pe = createPodmanEnv('outpost-agentf-podman-');
      const img = await buildBusyboxImage(pe, {
        cmd: [
          '/bin/sh',
          '-c',
          "echo fault container; trap 'exit 0' TERM; while :; do sleep 1 & wait $!; done",
        ],
      });
      await pe.podmanOk([
        'push',
        '--tls-verify=false',
        img,
        `docker://${registry.host}/samples/fault-container:1.0.0`,
      ]);
      await api.apps.add({
        source: {
          kind: 'upload',
          upload: {
            fileName: 'margo.yaml',
            content: composeApp({
              id: 'fault-container',
              version: '1.0.0',
              components: [{ name: 'box', repository: `oci://${registry.host}/samples/fault-container` }],
            }),
          },
        },
      });
    }
    await api.sites.add({ id: 'plant-f' });
    await enrollNode(api, agentHome.home, 'edge-f', 'plant-f', pe?.env);
    writeAgentConfig(agentHome.home, {
      runtimes: {
        helm: { enabled: false },
        ...(pe ? {} : { container: { enabled: false }, compose: { enabled: false } }),
      },
    });
    agent = startAgentProcess(agentHome.home, pe?.env);
    await agent.waitForLog((l) => l.msg === 'capabilities sent', 'capabilities sent', 60_000);
  });

  afterAll(async () => {
    await agent?.stop();
    for (const pid of wasmRunnerPids(agentHome.home)) process.kill(pid, 'SIGKILL');
    if (pe) {
      if (fs.existsSync(path.join(agentHome.home, 'instance-id'))) {
        const left = (
          await pe.podman(['ps', '-aq', '--filter', `label=outpost.instance=${instance()}`])
        ).stdout
          .split('\n')
          .filter(Boolean);
        if (left.length) await pe.podman(['rm', '-f', '-t', '0', ...left]);
      }
      const imgs = (
        await pe.podman(['images', '--format', '{{.ID}}', '--filter', `reference=${registry.host}/*/*`])
      ).stdout
        .split('\n')
        .filter(Boolean);
      if (imgs.length) await pe.podman(['rmi', '-f', ...imgs]);
      await pe.cleanup();
    }
    await server?.stop();
    await registry?.stop();
    agentHome.cleanup();
    serverHome.cleanup();
    fs.rmSync(work, { recursive: true, force: true });
  });

  it('SIGKILLed while installing and started again, it converges without a duplicate workload', async () => {
    const created = await Promise.all([
      api.deployments.create({ appId: 'fault-wasm', target: { siteId: 'plant-f' } }),
      ...(pe ? [api.deployments.create({ appId: 'fault-container', target: { siteId: 'plant-f' } })] : []),
    ]);
    ids.wasm = created[0]!.id;
    ids.container = created[1]?.id;
    // Kill the agent as soon as it has started on them (pulling, creating or starting).
    await waitFor(() => {
      try {
        return Object.values(agentState().deployments).some((d) => d.reported?.state === 'installing');
      } catch {
        return false;
      }
    }, 'an install in progress');
    await agent!.stop('SIGKILL');
    agent = startAgentProcess(agentHome.home, pe?.env);
    for (const id of Object.values(ids)) if (id) await installed(id);
    expect(wasmRunnerPids(agentHome.home)).toHaveLength(1);
    await waitFor(() => wasmOutputs(agentHome.home).includes('fault test wasm'), {
      what: 'wasm output',
      intervalMs: 100,
    });
    if (pe) {
      const cs = await containersOf(ids.container!);
      expect(cs).toHaveLength(1);
      expect(cs[0]!.state).toBe('running');
    }
  }, 120_000);

  it('SIGKILLed again right after it starts a container, it adopts the container instead of making another', async () => {
    if (!pe) return;
    const d = await api.deployments.create({
      appId: 'fault-container',
      name: 'second-box',
      target: { siteId: 'plant-f' },
    });
    await waitFor(async () => (await containersOf(d.id)).length > 0, 'the container to exist');
    await agent!.stop('SIGKILL');
    agent = startAgentProcess(agentHome.home, pe.env);
    await installed(d.id);
    const cs = await containersOf(d.id);
    expect(cs).toHaveLength(1);
    expect(cs[0]!.state).toBe('running');
    await api.deployments.remove({ id: d.id });
    await waitFor(async () => (await containersOf(d.id)).length === 0, {
      what: 'second container removed',
      intervalMs: 100,
    });
  }, 120_000);

  it('keeps workloads running while the LO is away and delivers the queued reports in order when it returns', async () => {
    const runner = wasmRunnerPids(agentHome.home);
    const box = pe ? await containersOf(ids.container!) : [];
    expect(await server.stop()).toBe(0);
    // The LO is gone: the agent's polls fail, workloads go on.
    await agent!.waitForLog((l) => l.msg === 'poll failed', 'a failed poll', 30_000);
    // Several poll rounds without the LO (counted, not timed: a slow machine just takes longer).
    const failedPolls = () => agent!.logs().filter((l) => l.msg === 'poll failed').length;
    const seen = failedPolls();
    await waitFor(() => failedPolls() >= seen + 3, {
      what: 'three more failed polls',
      timeoutMs: 60_000,
      intervalMs: 100,
    });
    expect(wasmRunnerPids(agentHome.home)).toEqual(runner);
    if (pe) expect(await containersOf(ids.container!)).toEqual(box);

    // Something happens on the node meanwhile: the WASM runner dies. The agent notices, reports, repairs.
    process.kill(runner[0]!, 'SIGKILL');
    await waitFor(
      () => {
        const p = wasmRunnerPids(agentHome.home);
        return p.length === 1 && p[0] !== runner[0];
      },
      { what: 'the runner to be started again', intervalMs: 100 },
    );
    const outbox = path.join(agentHome.home, 'outbox');
    await waitFor(
      () => {
        const states = fs.readdirSync(outbox).map(
          (f) =>
            (
              JSON.parse(fs.readFileSync(path.join(outbox, f), 'utf8')) as {
                status: { deploymentId: string; status: { state: string } };
              }
            ).status,
        );
        return (
          states
            .filter((s) => s.deploymentId === ids.wasm)
            .map((s) => s.status.state)
            .at(-1) === 'installed'
        );
      },
      { what: 'the repair reports to be queued', intervalMs: 100 },
    );
    const queued = fs
      .readdirSync(outbox)
      .sort()
      .map(
        (f) =>
          (
            JSON.parse(fs.readFileSync(path.join(outbox, f), 'utf8')) as {
              status: { deploymentId: string; status: { state: string } };
            }
          ).status,
      )
      .filter((s) => s.deploymentId === ids.wasm)
      .map((s) => s.status.state);
    expect(queued).toEqual(['failed', 'installing', 'installed']);
    // When each report was made (the outbox time): it must survive the wait (issue 12, ADR 0169).
    const madeAt = fs
      .readdirSync(outbox)
      .sort()
      .map(
        (f) =>
          JSON.parse(fs.readFileSync(path.join(outbox, f), 'utf8')) as {
            at: number;
            status: { deploymentId: string };
          },
      )
      .filter((e) => e.status.deploymentId === ids.wasm)
      .map((e) => e.at);
    const st = await edgectl(['agent', 'status', '--home', agentHome.home, '-o', 'json']);
    expect((JSON.parse(st.stdout) as { queuedReports: number }).queuedReports).toBeGreaterThanOrEqual(3);

    const back = Date.now();
    server = await startServer(serverHome.home, serverArgs);
    api = apiFor(server); // a new API token per server start
    await waitFor(() => fs.readdirSync(outbox).length === 0, {
      what: 'the outbox to drain',
      intervalMs: 100,
    });
    const db = new Database(path.join(serverHome.home, 'outpost.db'), {
      readonly: true,
      fileMustExist: true,
    });
    try {
      const rows = db
        .prepare(
          'SELECT state, received_at AS at, event_at AS eventAt FROM status_reports WHERE deployment_id = ? ORDER BY seq',
        )
        .all(ids.wasm!) as { state: string; at: number; eventAt: number | null }[];
      const after = rows.filter((r) => r.at >= back);
      expect(after.map((r) => r.state)).toEqual(queued);
      // Recorded with the time they were made, not the time they arrived (same clock here: within 2 s).
      after.forEach((r, i) => {
        expect(r.eventAt).not.toBeNull();
        expect(Math.abs(r.eventAt! - madeAt[i]!)).toBeLessThan(2_000);
        expect(r.eventAt!).toBeLessThan(back);
      });
      // Nothing was lost to the SIGKILLs of the first tests: the history starts with the first install.
      expect(rows[0]!.state).toBe('installing');
      expect(rows.map((r) => r.state)).toContain('installed');
    } finally {
      db.close();
    }
    const v = await installed(ids.wasm!);
    expect(v.nodes[0]!.stale).toBe(false);
  }, 120_000);
});
