/**
 * The edge agent's runtime adapters (agents/runtimes/README.md): one interface, one adapter per
 * runtime. The agent builds them once with createRuntimeAdapters() and picks one per deployment
 * profile with runtimeForProfile().
 */
import path from 'node:path';
import type { Clock } from '../../lib/base/index.js';
import type { Logger } from '../../lib/log/index.js';
import { ComposeAdapter } from './compose/compose-adapter.js';
import { dockerCompose, podmanCompose, type ComposeTool } from './compose/compose-tool.js';
import { ContainerAdapter } from './container/container-adapter.js';
import { DockerApiEngine } from './container/docker-api-engine.js';
import type { ContainerEngine } from './container/engine.js';
import { PodmanCliEngine } from './container/podman-cli-engine.js';
import { HelmAdapter, type HelmAdapterOptions } from './helm/helm-adapter.js';
import type { RuntimeProbe } from './probe.js';
import type { RuntimeAdapter, RuntimeKind } from './types.js';
import { WasmAdapter, type WasmAdapterOptions } from './wasm/wasm-adapter.js';

export * from './types.js';
export { computeSpecHash, safeName, Label } from './names.js';
export { runtimeForProfile, type RuntimeChoice } from './select-runtime.js';
export { probeRuntimes, capabilitiesFromProbe, type RuntimeProbe, type ProbeOptions } from './probe.js';
export { WasmAdapter, type WasmAdapterOptions } from './wasm/wasm-adapter.js';
export { locateWasmRunner } from './wasm/locate-runner.js';
export { ContainerAdapter, type ContainerAdapterOptions } from './container/container-adapter.js';
export { PodmanCliEngine, type PodmanCliOptions } from './container/podman-cli-engine.js';
export { DockerApiEngine, type DockerApiOptions } from './container/docker-api-engine.js';
export type { ContainerEngine, ContainerInfo } from './container/engine.js';
export { ComposeAdapter, type ComposeAdapterOptions } from './compose/compose-adapter.js';
export { podmanCompose, dockerCompose, type ComposeTool } from './compose/compose-tool.js';
export { extractComposeArchive, type ExtractLimits } from './compose/extract-archive.js';
export { HelmAdapter, type HelmAdapterOptions } from './helm/helm-adapter.js';

export interface RuntimeAdaptersOptions {
  /** The agent's runtime state folder: wasm/, compose/ and helm/ go below it. */
  stateDir: string;
  logger: Logger;
  clock?: Clock;
  /** Agent instance id (labels on containers; default `default`). */
  instance?: string;
  /** Environment for podman / compose (e.g. CONTAINERS_CONF). Default process.env. */
  env?: NodeJS.ProcessEnv;
  /** `podman` (CLI, default) or the Docker Engine API at a socket. */
  engine?: 'podman' | { dockerSocket: string };
  /** Default: podman-compose with podman, `docker compose` with the Docker API. */
  compose?: 'podman-compose' | 'docker-compose';
  wasm?: Omit<WasmAdapterOptions, 'stateDir' | 'logger' | 'clock'>;
  helm?: Omit<HelmAdapterOptions, 'stateDir' | 'logger' | 'clock'>;
  stopTimeoutSec?: number;
}

export interface RuntimeAdapters {
  adapters: Record<RuntimeKind, RuntimeAdapter>;
  /** The container engine in use (close it on shutdown when it is the Docker API). */
  engine: ContainerEngine;
  close(): Promise<void>;
}

/** Builds one adapter per runtime kind, sharing one container engine. Starts nothing. */
export function createRuntimeAdapters(o: RuntimeAdaptersOptions): RuntimeAdapters {
  const engine: ContainerEngine =
    o.engine === undefined || o.engine === 'podman'
      ? new PodmanCliEngine({ env: o.env })
      : new DockerApiEngine({ socketPath: o.engine.dockerSocket });
  const tool: ComposeTool =
    (o.compose ?? (engine.name === 'podman' ? 'podman-compose' : 'docker-compose')) === 'podman-compose'
      ? podmanCompose()
      : dockerCompose();
  const common = { logger: o.logger, clock: o.clock };
  return {
    engine,
    adapters: {
      wasm: new WasmAdapter({ ...common, ...o.wasm, stateDir: path.join(o.stateDir, 'wasm') }),
      container: new ContainerAdapter({
        ...common,
        engine,
        instance: o.instance,
        stopTimeoutSec: o.stopTimeoutSec,
      }),
      compose: new ComposeAdapter({
        ...common,
        engine,
        tool,
        instance: o.instance,
        env: o.env,
        stopTimeoutSec: o.stopTimeoutSec,
        stateDir: path.join(o.stateDir, 'compose'),
      }),
      helm: new HelmAdapter({ ...common, ...o.helm, stateDir: path.join(o.stateDir, 'helm') }),
    },
    async close() {
      if (engine instanceof DockerApiEngine) await engine.close();
    },
  };
}

/** The engine choice a probe suggests: podman when it works, else the Docker API, else nothing. */
export function engineFromProbe(
  p: RuntimeProbe,
  dockerSocket = '/var/run/docker.sock',
): RuntimeAdaptersOptions['engine'] | undefined {
  if (p.podman.available) return 'podman';
  if (p.dockerApi.available) return { dockerSocket };
  return undefined;
}
