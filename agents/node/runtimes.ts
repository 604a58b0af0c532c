import fs from 'node:fs';
import path from 'node:path';
import type { Clock } from '../../lib/base/index.js';
import type { Logger } from '../../lib/log/index.js';
import { createComposeAdapter } from '../runtimes/compose/compose-adapter.js';
import { dockerCompose, podmanCompose, type ComposeTool } from '../runtimes/compose/compose-tool.js';
import { createContainerAdapter } from '../runtimes/container/container-adapter.js';
import type { ContainerEngine } from '../runtimes/container/engine.js';
import { PodmanCliEngine } from '../runtimes/container/podman-cli-engine.js';
import { runCommand } from '../runtimes/exec.js';
import { createHelmAdapter } from '../runtimes/helm/helm-adapter.js';
import type { RuntimeAdapter, RuntimeKind } from '../runtimes/types.js';
import { createWasmAdapter } from '../runtimes/wasm/wasm-adapter.js';
import type { RuntimeProbe } from './capabilities.js';
import { bytesOf, type AgentConfig } from './config.js';

/**
 * The runtime adapters this agent uses (agents/runtimes), chosen from the configuration and what the
 * host really has: podman (CLI) or a Docker-compatible API socket for containers, podman-compose or
 * `docker compose` for compose archives, helm when a cluster is reachable, and the built-in WASM runtime.
 * Every adapter gets its own state folder under `<home>/workloads/` and this agent instance's id.
 */
export interface RuntimeSet {
  /** The adapter of a kind when it is usable on this host. */
  get(kind: RuntimeKind): RuntimeAdapter | undefined;
  /** Every adapter created (usable or not), for finding workloads after a restart. */
  all(): RuntimeAdapter[];
  /** Probes every runtime again (and other engines the host has); the result feeds the capabilities. */
  probe(): Promise<RuntimeProbe[]>;
  lastProbe(): RuntimeProbe[];
  /** Removes a container image the agent pulled once no container uses it (after an update replaced it). */
  pruneImage(ref: string): Promise<void>;
}

export interface RuntimeSetOptions {
  config: AgentConfig;
  workloadsDir: string;
  instance: string;
  logger: Logger;
  clock: Clock;
  env?: NodeJS.ProcessEnv;
  /** The WASM runner script (default: located next to the CLI bundle). */
  wasmRunnerPath?: string;
  /** Hosts whose registries are plain HTTP (for helm's --plain-http). */
  plainHttpRegistries?: string[];
}

export async function createRuntimeSet(o: RuntimeSetOptions): Promise<RuntimeSet> {
  const { config, logger, clock } = o;
  const env = o.env ?? process.env;
  const rc = config.runtimes;
  const dir = (k: string) => {
    const d = path.join(o.workloadsDir, k);
    fs.mkdirSync(d, { recursive: true, mode: 0o700 });
    return d;
  };
  const adapters = new Map<RuntimeKind, RuntimeAdapter>();
  if (rc.wasm.enabled) {
    adapters.set(
      'wasm',
      createWasmAdapter({
        stateDir: dir('wasm'),
        logger,
        clock,
        defaultMemoryBytes: bytesOf(rc.wasm.defaultMemory),
        ...(o.wasmRunnerPath ? { runnerPath: o.wasmRunnerPath } : {}),
      }),
    );
  }
  // The container engine: podman's CLI unless configured (or only) Docker's API socket is there.
  let engine: ContainerEngine | undefined;
  let tool: ComposeTool | undefined;
  if (rc.container.enabled || rc.compose.enabled) {
    const podman = new PodmanCliEngine({ binary: rc.container.podman, env });
    const socket = rc.container.dockerSocket ?? '/var/run/docker.sock';
    const wantDocker =
      rc.container.engine === 'docker' ||
      (rc.container.engine === 'auto' && !(await usable(podman)) && fs.existsSync(socket));
    if (wantDocker) {
      const { DockerApiEngine } = await import('../runtimes/container/docker-api-engine.js');
      engine = new DockerApiEngine({ socketPath: socket });
    } else engine = podman;
    if (rc.compose.enabled) {
      const t =
        rc.compose.tool === 'auto'
          ? engine.name === 'podman'
            ? 'podman-compose'
            : 'docker-compose'
          : rc.compose.tool;
      tool = t === 'podman-compose' ? podmanCompose() : dockerCompose();
    }
  }
  if (engine && rc.container.enabled) {
    adapters.set(
      'container',
      createContainerAdapter({
        engine,
        logger,
        clock,
        instance: o.instance,
        removeImages: rc.container.removeImages,
      }),
    );
  }
  if (engine && tool) {
    adapters.set(
      'compose',
      createComposeAdapter({
        stateDir: dir('compose'),
        engine,
        tool,
        logger,
        clock,
        instance: o.instance,
        env,
      }),
    );
  }
  if (rc.helm.enabled) {
    adapters.set(
      'helm',
      createHelmAdapter({
        stateDir: dir('helm'),
        logger,
        clock,
        binary: rc.helm.binary,
        env,
        ...(rc.helm.kubeconfig ? { kubeconfig: rc.helm.kubeconfig } : {}),
        ...(rc.helm.kubeContext ? { kubeContext: rc.helm.kubeContext } : {}),
        ...(o.plainHttpRegistries?.length ? { plainHttpRegistries: o.plainHttpRegistries } : {}),
      }),
    );
  }

  let probes: RuntimeProbe[] = [];
  const available = new Set<RuntimeKind>();
  const set: RuntimeSet = {
    get: (k) => (available.has(k) ? adapters.get(k) : undefined),
    all: () => [...adapters.values()],
    lastProbe: () => probes,
    async pruneImage(ref) {
      if (!engine || !rc.container.removeImages) return;
      try {
        await engine.removeImage(ref);
      } catch (e) {
        logger.debug({ image: ref, err: (e as Error).message }, 'image not removed');
      }
    },
    async probe() {
      const ours = await Promise.all(
        [...adapters.entries()].map(async ([kind, a]) => {
          const p = await a
            .probe()
            .catch((e: unknown) => ({ available: false, detail: (e as Error).message }));
          return { name: kind, ...p } as RuntimeProbe;
        }),
      );
      const others = await probeOtherEngines(env);
      available.clear();
      for (const p of ours) if (p.available) available.add(p.name as RuntimeKind);
      probes = [...ours, ...others];
      logger.debug({ runtimes: probes }, 'runtimes probed');
      return probes;
    },
  };
  await set.probe();
  return set;
}

async function usable(engine: ContainerEngine): Promise<boolean> {
  try {
    await engine.version();
    return true;
  } catch {
    return false;
  }
}

/** Container engines we have no adapter for, reported so the operator sees what the host offers. */
async function probeOtherEngines(env: NodeJS.ProcessEnv): Promise<RuntimeProbe[]> {
  const out: RuntimeProbe[] = [];
  const sock = '/run/containerd/containerd.sock';
  if (fs.existsSync(sock)) {
    const r = await runCommand('ctr', ['--address', sock, 'version'], { env, timeoutMs: 5_000 }).catch(
      () => undefined,
    );
    const v = r?.code === 0 ? /Version:\s*v?(\S+)/.exec(r.stdout)?.[1] : undefined;
    out.push({
      name: 'containerd',
      available: false,
      ...(v ? { version: v } : {}),
      detail: 'found; Outpost runs containers through podman or the Docker API',
    });
  }
  return out;
}
