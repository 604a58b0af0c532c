import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomInt, randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createSiteCa, type SiteCa } from '../../core/ca/index.js';
import { issueTestSvid } from '../../core/mmi/testing/memory-fixture.js';
import { clientSpiffeId, wfmSpiffeId } from '../../lib/identity/index.js';
import { writeTarGz } from '../../lib/oci/testing/archives.js';
import { agentPaths } from '../../agents/node/home.js';
import { saveIdentity } from '../../agents/node/identity.js';
import { safeName } from '../../agents/runtimes/names.js';
import { edgectl } from '../helpers/cli.js';
import { tempHome } from '../helpers/home.js';
import { buildBusyboxImage, createPodmanEnv, podmanUsable, type PodmanTestEnv } from '../helpers/podman.js';
import { startRegistry, type TestRegistry } from '../helpers/registry.js';
import { startFakeMmi, type FakeMmi } from '../fixtures/agent/fake-mmi.js';
import {
  compileHello,
  startAgentProcess,
  wasmRunnerPids,
  writeAgentConfig,
  type AgentProcess,
} from '../fixtures/agent/harness.js';
import { waitFor } from '../helpers/wait.js';

/**
 * Issue 19, defects 3 and 7: the agent never stops watching its workloads, for every runtime. A real
 * `edgectl agent` process, real podman and podman-compose, the real WASM runner, artifacts in Debian's
 * docker-registry, and a WFM over real mutual TLS that records every status report in order. Workloads
 * of every runtime are killed (SIGKILL of the runner, `podman kill` of a container or of a compose
 * service) at random moments, with the agent started fresh, restarted while everything is healthy,
 * restarted over workloads that died while it was down, and SIGKILLed itself. Every kill must be
 * noticed, reported `failed` with the time, repaired, and reported `installed` again; a container that
 * exits at once is restarted by the agent alone (podman restarts nothing), with a growing backoff, and
 * reported as a crash loop with its count. The profiles' memory and CPU requirements are the containers'
 * limits. The run is as long as its kills take, not a fixed time.
 */

const usable = podmanUsable();
const TD = 'soak.example';

interface Report {
  deploymentId: string;
  status: { state: string; error?: { code?: string; message?: string } };
  components: { name: string; state: string; error?: { code?: string; message?: string } }[];
}

describe.skipIf(!usable.ok)(
  `the agent watches every workload (soak)${usable.ok ? '' : ` (skipped: ${usable.reason})`}`,
  () => {
    const agentHome = tempHome('outpost-soak-home-');
    const work = fs.mkdtempSync(path.join(os.tmpdir(), 'outpost-soak-'));
    let pe: PodmanTestEnv;
    let ca: SiteCa;
    let fake: FakeMmi;
    let registry: TestRegistry;
    let agent: AgentProcess | undefined;
    let base = '';
    const ids = { wasm: randomUUID(), container: randomUUID(), compose: randomUUID(), crasher: randomUUID() };
    const docs: Record<keyof typeof ids, string> = { wasm: '', container: '', compose: '', crasher: '' };
    const kills: { runtime: string; at: number }[] = [];

    const reports = () => fake.statuses as unknown as Report[];
    const reportsOf = (id: string, from = 0) =>
      reports()
        .slice(from)
        .filter((r) => r.deploymentId === id);
    const podman = (args: string[]) => pe.podmanOk(args);
    const instance = () => fs.readFileSync(path.join(agentHome.home, 'instance-id'), 'utf8').trim();
    const state = () =>
      JSON.parse(fs.readFileSync(path.join(agentHome.home, 'state.json'), 'utf8')) as {
        deployments: Record<
          string,
          {
            reported?: { state: string };
            restarts?: Record<
              string,
              { restarts: number; consecutive: number; dueAt?: number; lastExit?: { at: number } }
            >;
          }
        >;
      };
    const containerOf = async (labels: Record<string, string>) =>
      (
        await podman([
          'ps',
          '-aq',
          '--no-trunc',
          ...Object.entries(labels).flatMap(([k, v]) => ['--filter', `label=${k}=${v}`]),
        ])
      )
        .split('\n')
        .filter(Boolean);
    const inspect = async (id: string) =>
      (
        JSON.parse(await podman(['inspect', id])) as {
          State: { Status: string; StartedAt: string };
          HostConfig: { Memory: number; NanoCpus: number; RestartPolicy?: { Name: string } };
          RestartCount: number;
        }[]
      )[0]!;
    const workloadContainers = {
      container: () => containerOf({ 'outpost.workload': `${ids.container}.box` }),
      compose: () =>
        containerOf({ 'com.docker.compose.project': safeName(`${ids.compose}.web`, 'outpost-') }),
      crasher: () => containerOf({ 'outpost.workload': `${ids.crasher}.crash` }),
    };

    const installed = (id: string) => reportsOf(id).at(-1)?.status.state === 'installed';
    const allInstalled = () => [ids.wasm, ids.container, ids.compose].every(installed);
    /** A workload whose last restart (if any) lies a healthy period behind: a new kill is a new crash. */
    const settled = (id: string) => {
      const r = state().deployments[id]?.restarts;
      return Object.values(r ?? {}).every((x) => x.consecutive === 0 && x.dueAt === undefined);
    };

    /** Kills one workload of `runtime` the way an operator or the kernel would. */
    const kill = async (runtime: 'wasm' | 'container' | 'compose') => {
      if (runtime === 'wasm') {
        const [pid] = wasmRunnerPids(agentHome.home);
        expect(pid, 'a live WASM runner').toBeDefined();
        kills.push({ runtime, at: Date.now() });
        process.kill(pid!, 'SIGKILL');
      } else {
        const [c] = await workloadContainers[runtime]();
        expect(c, `a ${runtime} container`).toBeDefined();
        kills.push({ runtime, at: Date.now() });
        await podman(['kill', c!]);
      }
    };

    /**
     * The kill is noticed and reported `failed` with a time at or after the kill, then repaired and
     * reported `installed` again.
     */
    const repaired = async (runtime: keyof typeof ids, from: number, killedAt: number) => {
      const id = ids[runtime];
      const failed = await waitFor(() => reportsOf(id, from).find((r) => r.status.state === 'failed'), {
        what: `the ${runtime} kill to be reported`,
        timeoutMs: 60_000,
      });
      const message = failed.components[0]!.error!.message!;
      const at = Date.parse(/ at (\S+Z);/.exec(message)?.[1] ?? '');
      expect(at, message).toBeGreaterThanOrEqual(killedAt - 1000);
      expect(message).toMatch(/; restart \d+ due at \S+Z$/);
      await waitFor(
        () => {
          const after = reportsOf(id, from);
          return after.indexOf(failed) < after.length - 1 && after.at(-1)!.status.state === 'installed';
        },
        { what: `the ${runtime} workload to be repaired`, timeoutMs: 60_000 },
      );
    };

    const app = (
      id: string,
      name: string,
      profile: string,
      components: string,
      constraints = '',
    ) => `id: ${id}
metadata:
  name: ${name}
  namespace: default
  deviceId: edge-soak
spec:
  applicationId: ${name}
  deploymentProfile:
${profile}
    components:
${components}
${constraints}`;

    const startAgent = async () => {
      agent = startAgentProcess(agentHome.home, pe.env);
      await agent.waitForLog((l) => l.msg === 'agent started', 'the agent to start', 30_000);
    };

    beforeAll(async () => {
      pe = createPodmanEnv('outpost-soak-podman-');
      [registry, ca] = await Promise.all([
        startRegistry(),
        createSiteCa({ trustDomain: TD, name: 'Soak CA', now: Date.now() - 86_400_000 }),
      ]);
      const wfm = await issueTestSvid(ca, wfmSpiffeId(TD, 'lo-soak'));
      fake = await startFakeMmi({ certPem: wfm.certPem, keyPem: wfm.keyPem, caPem: ca.certPem });
      const hello = await compileHello('soak wasm up', work, 'soak');
      const pushed = await edgectl([
        'oci',
        'push',
        hello,
        `oci://${registry.host}/soak/hello-wasm:1.0.0`,
        '--plain-http',
      ]);
      expect(pushed.code, pushed.stderr).toBe(0);
      base = await buildBusyboxImage(pe);
      const service = await buildBusyboxImage(pe, {
        cmd: ['/bin/sh', '-c', "echo box up; trap 'exit 0' TERM; while :; do sleep 1 & wait $!; done"],
      });
      const crasher = await buildBusyboxImage(pe, { cmd: ['/bin/sh', '-c', 'echo crash; exit 1'] });
      for (const [img, repo] of [
        [service, 'soak/box'],
        [crasher, 'soak/crash'],
      ] as const)
        await podman(['push', '--tls-verify=false', img, `docker://${registry.host}/${repo}:1.0.0`]);
      const archive = path.join(work, 'web.tar.gz');
      await writeTarGz(archive, [
        { name: 'web/', type: 'directory' },
        {
          name: 'web/compose.yaml',
          content: `services:
  web:
    image: ${base}
    command: ["/bin/sh", "-c", "echo web up; trap 'exit 0' TERM; while :; do sleep 1 & wait $$!; done"]
    restart: always
`,
        },
      ]);
      const r = await edgectl([
        'oci',
        'push',
        archive,
        `oci://${registry.host}/soak/web:1.0.0`,
        '--plain-http',
      ]);
      expect(r.code, r.stderr).toBe(0);

      const oci = (repo: string) => `oci://${registry.host}/${repo}`;
      docs.wasm = app(
        ids.wasm,
        'soak-wasm',
        '    type: custom\n    x-outpost-extensions:\n      runtime: wasm',
        `      - name: hello\n        properties: { repository: ${oci('soak/hello-wasm')}, revision: 1.0.0 }`,
      );
      docs.container = app(
        ids.container,
        'soak-container',
        '    type: compose',
        `      - name: box\n        properties: { repository: ${oci('soak/box')}, revision: 1.0.0 }`,
        '    deviceConstraints:\n      capacityRequirements:\n        cpu: { cores: 0.5 }\n        memory: 64Mi',
      );
      docs.compose = app(
        ids.compose,
        'soak-compose',
        '    type: compose',
        `      - name: web\n        properties: { repository: ${oci('soak/web')}, revision: 1.0.0 }\n        x-outpost-extensions: { cpus: 0.25 }`,
        '    deviceConstraints:\n      capacityRequirements:\n        memory: 48Mi',
      );
      docs.crasher = app(
        ids.crasher,
        'soak-crasher',
        '    type: compose',
        `      - name: crash\n        properties: { repository: ${oci('soak/crash')}, revision: 1.0.0, wait: false }`,
      );

      const client = await issueTestSvid(ca, clientSpiffeId(TD, 'lo-soak', 'default.edge-soak'));
      saveIdentity(agentPaths(agentHome.home), {
        enrollment: {
          clientId: 'default.edge-soak',
          spiffeId: clientSpiffeId(TD, 'lo-soak', 'default.edge-soak'),
          wfmSpiffeId: wfmSpiffeId(TD, 'lo-soak'),
          mmiUrl: fake.url,
          siteId: 'soak',
          nodeName: 'edge-soak',
          tenantId: 'default',
          caFingerprint: ca.fingerprint,
          notAfter: Date.now() + 86_400_000,
          enrolledAt: Date.now(),
        },
        certPem: client.certPem,
        keyPem: client.keyPem,
        anchorsPem: [ca.certPem],
      });
      writeAgentConfig(agentHome.home, {
        deployments: {
          observeSeconds: 0.2,
          retrySeconds: 0.5,
          maxRetrySeconds: 2,
          restartSeconds: 0.25,
          maxRestartSeconds: 2,
          healthySeconds: 1.5,
        },
        nats: { enabled: false },
      });
    }, 180_000);

    afterAll(async () => {
      await agent?.stop('SIGKILL');
      for (const pid of wasmRunnerPids(agentHome.home)) process.kill(pid, 'SIGKILL');
      if (pe && fs.existsSync(path.join(agentHome.home, 'instance-id'))) {
        const left = await containerOf({ 'outpost.instance': instance() });
        if (left.length) await pe.podman(['rm', '-f', '-t', '0', ...left]);
        const projects = await containerOf({
          'com.docker.compose.project': safeName(`${ids.compose}.web`, 'outpost-'),
        });
        if (projects.length) await pe.podman(['rm', '-f', '-t', '0', ...projects]);
      }
      await fake?.close();
      await registry?.stop();
      await pe?.cleanup();
      agentHome.cleanup();
      fs.rmSync(work, { recursive: true, force: true });
    });

    it("started with nothing to do, it installs what arrives, with the profiles' limits and no engine restarts", async () => {
      await fake.set({ manifestVersion: 1, deployments: [] });
      await startAgent();
      await agent!.waitForLog((l) => l.msg === 'desired state adopted', 'the empty manifest');
      await fake.set({
        manifestVersion: 2,
        deployments: (['wasm', 'container', 'compose', 'crasher'] as const).map((k) => ({
          deploymentId: ids[k],
          yaml: docs[k],
        })),
      });
      await waitFor(allInstalled, { what: 'every workload installed', timeoutMs: 120_000, intervalMs: 100 });
      const [box] = await workloadContainers.container();
      const boxInfo = await inspect(box!);
      expect(boxInfo.HostConfig).toMatchObject({ Memory: 64 * 2 ** 20, NanoCpus: 500_000_000 });
      expect(boxInfo.HostConfig.RestartPolicy?.Name ?? '').toMatch(/^(no)?$/);
      const [web] = await workloadContainers.compose();
      const webInfo = await inspect(web!);
      // The compose file asks for `restart: always`; the agent owns restarts, so the engine does none.
      expect(webInfo.HostConfig).toMatchObject({ Memory: 48 * 2 ** 20, NanoCpus: 250_000_000 });
      expect(webInfo.HostConfig.RestartPolicy?.Name ?? '').toMatch(/^(no)?$/);
    }, 180_000);

    it('notices every kill of every runtime at random moments, reports it with its time, and repairs it', async () => {
      const order = [
        'wasm',
        'container',
        'compose',
        'wasm',
        'compose',
        'container',
        'compose',
        'wasm',
        'container',
      ] as const;
      for (const runtime of [...order].sort(() => randomInt(3) - 1)) {
        await waitFor(() => allInstalled() && settled(ids[runtime]), {
          what: `${runtime} healthy`,
          timeoutMs: 60_000,
        });
        // A random moment: right away, or up to a second later.
        await new Promise((r) => setTimeout(r, randomInt(1000)));
        const from = reports().length;
        await kill(runtime);
        await repaired(runtime, from, kills.at(-1)!.at);
      }
    }, 240_000);

    it('restarted over workloads that died while it was down, it reports each failure with its time and repairs it', async () => {
      await waitFor(allInstalled, { what: 'everything installed', timeoutMs: 60_000 });
      await agent!.stop('SIGKILL');
      agent = undefined;
      const from = reports().length;
      const killedAt = Date.now();
      await kill('wasm');
      await kill('container');
      await kill('compose');
      await startAgent();
      for (const runtime of ['wasm', 'container', 'compose'] as const)
        await repaired(runtime, from, killedAt);
    }, 180_000);

    it('restarted while everything is healthy, it leaves the workloads alone; killed right as it starts, it still notices', async () => {
      await waitFor(() => allInstalled() && [ids.wasm, ids.container, ids.compose].every(settled), {
        what: 'everything healthy',
        timeoutMs: 60_000,
      });
      const runners = wasmRunnerPids(agentHome.home);
      const [box] = await workloadContainers.container();
      const started = (await inspect(box!)).State.StartedAt;
      await agent!.stop();
      const from = reports().length;
      const polls = () => fake.requests.filter((q) => q === 'GET /api/v1/deployments').length;
      const seen = polls();
      await startAgent();
      // It has reconciled from its state and polled a few times (each poll comes after an observation).
      await waitFor(() => polls() >= seen + 3, 'three polls');
      expect(wasmRunnerPids(agentHome.home)).toEqual(runners);
      expect((await inspect(box!)).State.StartedAt).toBe(started);
      expect(reportsOf(ids.wasm, from).filter((r) => r.status.state === 'failed')).toEqual([]);
      // SIGKILLed and started again, then a kill while it is still starting up.
      await agent!.stop('SIGKILL');
      const from2 = reports().length;
      agent = startAgentProcess(agentHome.home, pe.env);
      await kill('container');
      await repaired('container', from2, kills.at(-1)!.at);
    }, 180_000);

    it('backs a crash loop off and reports it with its count, keeping the backoff across an agent restart', async () => {
      const rec = () => state().deployments[ids.crasher]?.restarts?.crash;
      await waitFor(() => (rec()?.restarts ?? 0) >= 3, {
        what: 'three restarts of the crashing container',
        timeoutMs: 60_000,
        intervalMs: 100,
      });
      // The agent, not podman, restarted it: podman's count stays 0 and the container ran once per start.
      const [c] = await workloadContainers.crasher();
      const info = await inspect(c!);
      expect(info.RestartCount).toBe(0);
      expect(info.HostConfig.RestartPolicy?.Name ?? '').toMatch(/^(no)?$/);
      const before = rec()!;
      await agent!.stop('SIGKILL');
      await startAgent();
      await waitFor(() => (rec()?.restarts ?? 0) >= before.restarts + 3, {
        what: 'three more restarts',
        timeoutMs: 60_000,
        intervalMs: 100,
      });
      const after = rec()!;
      // The backoff went on where it was: no reset to the first delay by the agent restart.
      expect(after.consecutive).toBeGreaterThan(before.consecutive);
      // Every run of the container is the first one or a restart the agent counted: read the runs first,
      // then the count; at most one start is not counted yet (started, its count not written) and one was
      // lost with the SIGKILLed agent. podman restarting by itself would be dozens more.
      const runs = (await pe.podman(['logs', c!])).stdout.split('\n').filter((l) => l === 'crash').length;
      expect(runs).toBeLessThanOrEqual(rec()!.restarts + 3);
      const view = JSON.parse(
        (await edgectl(['agent', 'status', '--home', agentHome.home, '-o', 'json'])).stdout,
      ) as { deployments: { deploymentId: string; restarts?: Record<string, { restarts: number }> }[] };
      expect(
        view.deployments.find((d) => d.deploymentId === ids.crasher)?.restarts?.crash?.restarts,
      ).toBeGreaterThanOrEqual(after.restarts);
      // Reported failed as a crash loop, with a growing count and a delay that doubles up to its cap.
      const crashReports = reportsOf(ids.crasher).filter(
        (r) => r.components[0]!.error?.code === 'runtime/crash-loop',
      );
      // A crash loop is the deployment failed, in every report that announces one.
      expect(crashReports.map((r) => r.status.state)).toEqual(crashReports.map(() => 'failed'));
      const loops = crashReports.map((r) => r.components[0]!.error!.message!);
      expect(loops.length).toBeGreaterThanOrEqual(3);
      const parsed = loops.map((m) => {
        const g = /^crash loop: .* at (\S+Z); restart (\d+) due at (\S+Z)$/.exec(m);
        expect(g, m).not.toBeNull();
        return { exit: Date.parse(g![1]!), n: Number(g![2]), due: Date.parse(g![3]!) };
      });
      // A restart is announced once in each report shape (by the check, or by the failed repair), never
      // out of order.
      const numbers = parsed.map((p) => p.n);
      expect(numbers).toEqual([...numbers].sort((a, b) => a - b));
      expect(new Set(numbers).size).toBeGreaterThanOrEqual(3);
      // The delay each report announces (due time minus the agent's notice, at least the exit) reaches the cap.
      expect(Math.max(...parsed.map((p) => p.due - p.exit))).toBeGreaterThanOrEqual(2000);
      // Between two restarts (each one reports installing while it goes) it is reported failed.
      await waitFor(
        () => reportsOf(ids.crasher).at(-1)?.status.state === 'failed',
        'the crash loop reported failed',
      );
    }, 180_000);

    it('removes everything when the deployments leave the manifest', async () => {
      await fake.set({ manifestVersion: 3, deployments: [] });
      await waitFor(
        () =>
          [ids.wasm, ids.container, ids.compose, ids.crasher].every(
            (id) => reportsOf(id).at(-1)?.status.state === 'removed',
          ),
        { what: 'everything removed', timeoutMs: 120_000, intervalMs: 100 },
      );
      await waitFor(() => wasmRunnerPids(agentHome.home).length === 0, {
        what: 'no runner left',
        intervalMs: 100,
      });
      expect(await containerOf({ 'outpost.instance': instance() })).toEqual([]);
      // Nine at random moments, three while the agent was down, one while it was starting.
      expect(kills).toHaveLength(13);
    }, 180_000);
  },
);
