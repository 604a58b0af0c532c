// Integration tests of the container adapter against real podman (CLI, and its Docker-compatible API
// served by `podman system service`), with a busybox-static image built once for the file.
import fs from 'node:fs';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../../lib/log/index.js';
import { buildBusyboxImage, createPodmanEnv, type PodmanTestEnv } from '../../../test/helpers/podman.js';
import { startRegistry, type TestRegistry } from '../../../test/helpers/registry.js';
import { computeSpecHash, Label } from '../names.js';
import type { WorkloadSpec } from '../types.js';
import { ContainerAdapter } from './container-adapter.js';
import { DockerApiEngine } from './docker-api-engine.js';
import type { ContainerEngine } from './engine.js';
import { PodmanCliEngine, podmanCreateArgs } from './podman-cli-engine.js';
import { waitFor } from '../../../test/helpers/wait.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
let pe: PodmanTestEnv;
let image: string;
let instance: string;

/** Prints its greeting, then waits; exits at once on SIGTERM (busybox sh as PID 1 ignores it otherwise). */
const SERVICE = [
  '/bin/sh',
  '-c',
  'echo "greeting=$GREETING"; trap "exit 0" TERM; while :; do sleep 1 & wait $!; done',
];

beforeAll(async () => {
  pe = createPodmanEnv('outpost-container-');
  image = await buildBusyboxImage(pe);
  instance = `test-${path.basename(pe.dir)}`;
});

afterAll(async () => {
  // Every container this file made carries its instance label: remove them all, then the images.
  const ids = (await pe.podman(['ps', '-aq', '--filter', `label=${Label.instance}=${instance}`])).stdout
    .split('\n')
    .filter(Boolean);
  if (ids.length) await pe.podman(['rm', '-f', '-t', '0', ...ids]);
  await pe.cleanup();
});

let seq = 0;
// Unique to this run: podman's storage is shared by every test run on the machine, and names derive from ids.
const RUN = randomBytes(2).toString('hex');
function spec(over: Partial<WorkloadSpec> = {}): WorkloadSpec {
  const base: Omit<WorkloadSpec, 'specHash'> = {
    workloadId: `5b7c2a90-${RUN}-4000-8000-${String(++seq).padStart(12, '0')}.web`,
    deploymentId: `5b7c2a90-${RUN}-4000-8000-000000000000`,
    component: 'web',
    revision: '1.0.0',
    artifact: { image },
    env: { GREETING: 'hello' },
    args: SERVICE,
    container: { network: 'none' },
    ...over,
  };
  return { ...base, specHash: computeSpecHash(base) };
}

function cliAdapter(): ContainerAdapter {
  return new ContainerAdapter({
    engine: new PodmanCliEngine({ env: pe.env }),
    logger: silentLogger(),
    instance,
    stopTimeoutSec: 3,
  });
}

/** The pids of a process's children (from /proc). */
function childrenOf(pid: number): number[] {
  const out: number[] = [];
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${d}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(fields[1]) === pid) out.push(Number(d));
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

/** Running (a zombie waiting for its reaper counts as finished). */
function running(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

async function containersOf(workloadId: string): Promise<string[]> {
  const out = await pe.podmanOk([
    'ps',
    '-aq',
    '--no-trunc',
    '--filter',
    `label=${Label.workload}=${workloadId}`,
  ]);
  return out.split('\n').filter(Boolean);
}

describe('podman create arguments', () => {
  it('names, labels, environment, limits, restart policy, network and ports', () => {
    expect(
      podmanCreateArgs({
        name: 'outpost-x',
        image: 'reg.local/app:1',
        labels: { 'outpost.workload': 'd.c' },
        env: { A: 'x y', B: '' },
        args: ['run', '--fast'],
        memoryBytes: 64 * 1024 * 1024,
        cpus: 0.5,
        restart: { name: 'on-failure', maxRetries: 5 },
        network: 'none',
        publish: ['127.0.0.1:8080:80'],
      }),
    ).toEqual([
      'create',
      '--replace',
      '--name',
      'outpost-x',
      '--pull',
      'never',
      '--label',
      'outpost.workload=d.c',
      '--env',
      'A=x y',
      '--env',
      'B=',
      '--memory',
      '67108864b',
      '--cpus',
      '0.5',
      '--restart',
      'on-failure:5',
      '--network',
      'none',
      '--publish',
      '127.0.0.1:8080:80',
      'reg.local/app:1',
      'run',
      '--fast',
    ]);
  });
});

describe('ContainerAdapter (podman CLI)', () => {
  it('probes podman', async () => {
    expect(await cliAdapter().probe()).toMatchObject({
      available: true,
      version: expect.stringMatching(/^\d+\.\d+/),
    });
    const missing = new ContainerAdapter({
      engine: new PodmanCliEngine({ binary: 'podman-not-installed', env: pe.env }),
      logger: silentLogger(),
    });
    expect(await missing.probe()).toMatchObject({
      available: false,
      detail: expect.stringContaining('not found'),
    });
  });

  it('runs a container with environment, labels and a memory limit, and removes it without a trace', async () => {
    const a = cliAdapter();
    const w = spec({ limits: { memoryBytes: 32 * 1024 * 1024 } });
    const events: string[] = [];
    const s = await a.apply(w, { onEvent: (e) => events.push(e.type) });
    expect(events).toEqual(['installing', 'started']);
    expect(s).toMatchObject({ state: 'running', specHash: w.specHash, workloadId: w.workloadId });
    const inspect = JSON.parse(await pe.podmanOk(['inspect', a.containerName(w.workloadId)]))[0];
    expect(inspect.HostConfig.Memory).toBe(32 * 1024 * 1024);
    expect(inspect.Config.Labels).toMatchObject({
      [Label.workload]: w.workloadId,
      [Label.specHash]: w.specHash,
      [Label.instance]: instance,
    });
    await waitFor(
      async () => (await pe.podmanOk(['logs', a.containerName(w.workloadId)])).includes('greeting=hello'),
      { what: 'the greeting', timeoutMs: 15_000, intervalMs: 100 },
    );
    await a.remove(w.workloadId);
    expect(await containersOf(w.workloadId)).toEqual([]);
    expect(await a.status(w.workloadId)).toMatchObject({ state: 'removed' });
  });

  it('enforces the memory limit: the same allocation fails under a small limit', async () => {
    const a = cliAdapter();
    const alloc = ['/bin/busybox', 'dd', 'if=/dev/zero', 'of=/dev/null', 'bs=48M', 'count=1'];
    const free = spec({ args: alloc, restart: { policy: 'never' } });
    const capped = spec({
      args: alloc,
      restart: { policy: 'never' },
      limits: { memoryBytes: 16 * 1024 * 1024 },
    });
    await a.apply(free);
    await a.apply(capped);
    const sFree = await waitFor(
      async () => {
        const s = await a.status(free.workloadId);
        return s.state === 'exited' || s.state === 'failed' ? s : undefined;
      },
      { what: 'the unlimited run to end', timeoutMs: 15_000, intervalMs: 100 },
    );
    const sCapped = await waitFor(
      async () => {
        const s = await a.status(capped.workloadId);
        return s.state === 'exited' || s.state === 'failed' ? s : undefined;
      },
      { what: 'the capped run to end', timeoutMs: 15_000, intervalMs: 100 },
    );
    expect(sFree).toMatchObject({ state: 'exited', exitCode: 0 });
    expect(sCapped).toMatchObject({ state: 'failed', exitCode: 137 });
    await a.remove(free.workloadId);
    await a.remove(capped.workloadId);
  });

  it('leaves restarts to the agent: podman restarts nothing, and apply starts the same container again', async () => {
    const a = cliAdapter();
    const w = spec({ args: ['/bin/sh', '-c', 'echo run; exit 3'] });
    await a.apply(w);
    const down = await waitFor(
      async () => {
        const st = await a.status(w.workloadId);
        return st.state === 'failed' ? st : undefined;
      },
      { what: 'the exit', timeoutMs: 15_000, intervalMs: 100 },
    );
    expect(down).toMatchObject({ exitCode: 3, message: 'exited with code 3', restarts: 0 });
    const hostConfig = JSON.parse(await pe.podmanOk(['inspect', down.handle!]))[0].HostConfig;
    expect(hostConfig.RestartPolicy?.Name ?? '').toMatch(/^(no)?$/);
    // The agent's restart (ADR 0207): the container that is there is started again, not a second one.
    const events: string[] = [];
    const again = await a.apply(w, { onEvent: (e) => events.push(e.type) });
    expect(events).toEqual(['adopted']);
    expect(again.handle).toBe(down.handle);
    await waitFor(
      async () =>
        (await pe.podmanOk(['logs', down.handle!])).split('\n').filter((l) => l === 'run').length === 2,
      { what: 'the second run', timeoutMs: 15_000, intervalMs: 100 },
    );
    expect(await containersOf(w.workloadId)).toEqual([down.handle]);
    // Under `never` a failure is final: apply leaves it down.
    const never = spec({ args: ['/bin/sh', '-c', 'exit 4'], restart: { policy: 'never' } });
    await a.apply(never);
    await waitFor(async () => (await a.status(never.workloadId)).state === 'failed', {
      what: 'the failure',
      timeoutMs: 15_000,
      intervalMs: 100,
    });
    const neverEvents: string[] = [];
    await a.apply(never, { onEvent: (e) => neverEvents.push(e.type) });
    expect(neverEvents).toEqual(['unchanged']);
    await a.remove(w.workloadId);
    await a.remove(never.workloadId);
  });

  it('survives an agent restart: a new adapter finds the container and does not restart it', async () => {
    const w = spec();
    const s1 = await cliAdapter().apply(w);
    const startedAt = JSON.parse(await pe.podmanOk(['inspect', s1.handle!]))[0].State.StartedAt;
    const second = cliAdapter();
    const listed = await second.list();
    expect(listed.filter((x) => x.workloadId === w.workloadId)).toEqual([
      expect.objectContaining({ state: 'running', handle: s1.handle, specHash: w.specHash }),
    ]);
    const events: string[] = [];
    const s2 = await second.apply(w, { onEvent: (e) => events.push(e.type) });
    expect(events).toEqual(['unchanged']);
    expect(s2.handle).toBe(s1.handle);
    expect(JSON.parse(await pe.podmanOk(['inspect', s1.handle!]))[0].State.StartedAt).toBe(startedAt);
    // A new spec hash replaces it: still exactly one container for the workload.
    const w2 = spec({ workloadId: w.workloadId, env: { GREETING: 'v2' } });
    const s3 = await second.apply(w2, { onEvent: (e) => events.push(e.type) });
    expect(events).toEqual(['unchanged', 'replacing', 'started']);
    expect(s3.handle).not.toBe(s1.handle);
    expect(await containersOf(w.workloadId)).toEqual([s3.handle]);
    await second.remove(w.workloadId);
  });

  it('takes a finished job as done, but starts again what stopped before the host booted', async () => {
    const a = cliAdapter();
    const w = spec({ args: ['/bin/sh', '-c', 'echo job done'] });
    await a.apply(w);
    const done = await waitFor(
      async () => {
        const st = await a.status(w.workloadId);
        return st.state === 'exited' ? st : undefined;
      },
      { what: 'the job to finish', timeoutMs: 15_000, intervalMs: 100 },
    );
    const events: string[] = [];
    await a.apply(w, { onEvent: (e) => events.push(e.type) });
    expect(events).toEqual(['unchanged']);
    // The same container seen after a reboot: it stopped before the (simulated) boot time.
    const afterReboot = new ContainerAdapter({
      engine: new PodmanCliEngine({ env: pe.env }),
      logger: silentLogger(),
      instance,
      bootTime: () => Date.now() + 60_000,
    });
    await afterReboot.apply(w, { onEvent: (e) => events.push(e.type) });
    expect(events).toEqual(['unchanged', 'adopted']);
    await waitFor(
      async () =>
        (await pe.podmanOk(['logs', done.handle!])).split('\n').filter((l) => l === 'job done').length === 2,
      { what: 'the second run', timeoutMs: 15_000, intervalMs: 100 },
    );
    await a.remove(w.workloadId);
  });

  it('adopts a container created but never started (crash between create and start)', async () => {
    const a = cliAdapter();
    const w = spec();
    const engine = new PodmanCliEngine({ env: pe.env });
    const id = await engine.create({
      name: a.containerName(w.workloadId),
      image,
      labels: {
        [Label.managed]: 'true',
        [Label.instance]: instance,
        [Label.kind]: 'container',
        [Label.workload]: w.workloadId,
        [Label.specHash]: w.specHash,
      },
      env: w.env,
      args: w.args,
      restart: { name: 'no' },
      network: 'none',
    });
    expect((await a.status(w.workloadId)).state).toBe('pending');
    const events: string[] = [];
    const s = await a.apply(w, { onEvent: (e) => events.push(e.type) });
    expect(events).toEqual(['adopted']);
    expect(s).toMatchObject({ state: 'running', handle: id });
    await a.remove(w.workloadId);
  });

  it('converges without a duplicate after the agent is SIGKILLed during an install', async () => {
    const driver = path.join(pe.dir, 'agent-driver.mjs');
    await build({
      stdin: {
        contents: `
          import { ContainerAdapter } from ${JSON.stringify(path.join(root, 'agents/runtimes/container/container-adapter.ts'))};
          import { PodmanCliEngine } from ${JSON.stringify(path.join(root, 'agents/runtimes/container/podman-cli-engine.ts'))};
          const [instance, specJson] = process.argv.slice(2);
          const quiet = { child: () => quiet, info() {}, warn() {}, error() {}, debug() {} };
          const a = new ContainerAdapter({ engine: new PodmanCliEngine(), logger: quiet, instance });
          await a.apply(JSON.parse(specJson), { onEvent: (e) => process.stdout.write(e.type + '\\n') });
          process.stdout.write('done\\n');
        `,
        resolveDir: root,
        loader: 'ts',
      },
      outfile: driver,
      bundle: true,
      platform: 'node',
      format: 'esm',
      // Bundled CommonJS dependencies (pino, through lib/oci's entry) call require(): give the ESM bundle one.
      banner: {
        js: "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);",
      },
      logLevel: 'warning',
    });
    for (const delayMs of [0, 120]) {
      const w = spec();
      const child: ChildProcess = spawn(process.execPath, [driver, instance, JSON.stringify(w)], {
        env: pe.env,
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      let out = '';
      let killed = false;
      let orphans: number[] = [];
      await new Promise<void>((resolve) => {
        child.stdout!.on('data', (c: Buffer) => {
          out += c.toString();
          if (!killed && out.includes('installing\n')) {
            killed = true;
            setTimeout(() => {
              // The podman commands it is running now: they go on after it dies.
              orphans = childrenOf(child.pid!);
              child.kill('SIGKILL');
            }, delayMs);
          }
        });
        child.on('exit', () => resolve());
      });
      expect(killed).toBe(true);
      // podman commands the dead agent had started may still be finishing: wait until they have.
      await waitFor(async () => !orphans.some(running), {
        what: "the dead agent's podman commands to finish",
        timeoutMs: 60_000,
        intervalMs: 100,
      });
      const a = cliAdapter();
      const s = await a.apply(w);
      expect(s).toMatchObject({ state: 'running', specHash: w.specHash });
      expect(await containersOf(w.workloadId)).toEqual([s.handle]);
      await a.remove(w.workloadId);
    }
  });

  it('pulls the image from a plain-HTTP loopback registry with tlsVerify false', async () => {
    let registry: TestRegistry | undefined;
    const a = cliAdapter();
    try {
      registry = await startRegistry();
      const ref = `${registry.host}/outpost-test/pulled:${path.basename(pe.dir).toLowerCase()}`;
      await pe.podmanOk(['tag', image, ref]);
      await pe.podmanOk(['push', '--tls-verify=false', ref]);
      await pe.podmanOk(['rmi', ref]);
      const w = spec({ artifact: { image: ref, tlsVerify: false } });
      expect(await a.apply(w)).toMatchObject({ state: 'running' });
      expect((await pe.podman(['image', 'exists', ref])).code).toBe(0);
      // Removal with removeImages also drops the pulled image.
      const cleaning = new ContainerAdapter({
        engine: new PodmanCliEngine({ env: pe.env }),
        logger: silentLogger(),
        instance,
        removeImages: true,
        stopTimeoutSec: 3,
      });
      await cleaning.remove(w.workloadId);
      expect((await pe.podman(['image', 'exists', ref])).code).not.toBe(0);
      // A pull that fails leaves nothing behind and says why.
      const missing = spec({
        artifact: { image: `${registry.host}/outpost-test/absent:1`, tlsVerify: false },
      });
      await expect(a.apply(missing)).rejects.toMatchObject({ code: 'runtime/command-failed' });
      expect(await containersOf(missing.workloadId)).toEqual([]);
    } finally {
      await registry?.stop();
    }
  });

  it('refuses bad specs before touching anything', async () => {
    const a = cliAdapter();
    await expect(a.apply(spec({ env: { 'BAD NAME': 'x' } }))).rejects.toMatchObject({
      code: 'runtime/invalid-spec',
    });
    await expect(a.apply(spec({ limits: { memoryBytes: 1024 } }))).rejects.toMatchObject({
      code: 'runtime/invalid-spec',
    });
    const w = spec({
      artifact: { path: '/x.wasm', mediaType: 'application/wasm', digest: `sha256:${'0'.repeat(64)}` },
    });
    await expect(a.apply(w)).rejects.toMatchObject({ code: 'runtime/invalid-spec' });
    await expect(
      a.apply(spec({ artifact: { image: 'localhost/not-there:1', pull: 'never' } })),
    ).rejects.toThrow(/not present and the pull policy is "never"/);
  });
});

describe('ContainerAdapter (Docker-compatible API of podman system service)', () => {
  let service: ChildProcess;
  let engine: DockerApiEngine;

  beforeAll(async () => {
    const socket = path.join(pe.dir, 'api.sock');
    service = spawn('podman', ['system', 'service', '--time=0', `unix://${socket}`], {
      env: pe.env,
      stdio: 'ignore',
    });
    engine = new DockerApiEngine({ socketPath: socket });
    await waitFor(
      async () => {
        try {
          return await engine.version();
        } catch {
          return undefined;
        }
      },
      { what: 'the API socket', timeoutMs: 15_000, intervalMs: 100 },
    );
  });

  afterAll(async () => {
    await engine?.close();
    service?.kill('SIGTERM');
  });

  function apiAdapter(e: ContainerEngine = engine): ContainerAdapter {
    return new ContainerAdapter({ engine: e, logger: silentLogger(), instance, stopTimeoutSec: 3 });
  }

  it('probes, applies, adopts after a restart, replaces and removes through the API', async () => {
    expect(await apiAdapter().probe()).toMatchObject({ available: true });
    const w = spec({ limits: { memoryBytes: 24 * 1024 * 1024 } });
    const s1 = await apiAdapter().apply(w);
    expect(s1).toMatchObject({ state: 'running', specHash: w.specHash });
    const inspect = JSON.parse(await pe.podmanOk(['inspect', s1.handle!]))[0];
    expect(inspect.HostConfig.Memory).toBe(24 * 1024 * 1024);
    expect(inspect.Config.Env).toContain('GREETING=hello');
    // A new adapter (agent restart) lists it and leaves it running.
    const second = apiAdapter();
    expect((await second.list()).find((x) => x.workloadId === w.workloadId)).toMatchObject({
      handle: s1.handle,
    });
    const events: string[] = [];
    expect((await second.apply(w, { onEvent: (e) => events.push(e.type) })).handle).toBe(s1.handle);
    const w2 = spec({ workloadId: w.workloadId, env: { GREETING: 'v2' } });
    const s2 = await second.apply(w2, { onEvent: (e) => events.push(e.type) });
    expect(events).toEqual(['unchanged', 'replacing', 'started']);
    expect(await containersOf(w.workloadId)).toEqual([s2.handle]);
    await second.remove(w.workloadId);
    expect(await containersOf(w.workloadId)).toEqual([]);
  });

  it('reports an unreachable socket as unavailable', async () => {
    const gone = new DockerApiEngine({ socketPath: path.join(pe.dir, 'nothing.sock') });
    expect(await apiAdapter(gone).probe()).toMatchObject({
      available: false,
      detail: expect.stringContaining('not reachable'),
    });
    await gone.close();
  });
});
