/**
 * What the container adapter needs from a container engine. Two implementations: the podman CLI
 * (podman-cli-engine.ts, the default) and the Docker-compatible Engine API over a unix socket
 * (docker-api-engine.ts: dockerd, or `podman system service`), for hosts that only have Docker.
 */

export type RestartName = 'no' | 'on-failure' | 'always';

export interface ContainerCreateSpec {
  name: string;
  image: string;
  labels: Record<string, string>;
  env: Record<string, string>;
  /** Command after the image (replaces its CMD). */
  args?: string[];
  memoryBytes?: number;
  cpus?: number;
  restart: { name: RestartName; maxRetries?: number };
  network?: string;
  /** `[ip:]hostPort:containerPort[/proto]`. */
  publish?: string[];
}

export type ContainerState =
  'created' | 'running' | 'paused' | 'restarting' | 'exited' | 'stopped' | 'dead' | 'unknown';

export interface ContainerInfo {
  id: string;
  name: string;
  image: string;
  labels: Record<string, string>;
  state: ContainerState;
  exitCode: number;
  /** Epoch ms, undefined when never started / finished. */
  startedAt?: number;
  finishedAt?: number;
  restartCount: number;
  oomKilled: boolean;
  error?: string;
  memoryBytes?: number;
  /** The engine's own restart policy (`no` when none). */
  restartPolicy: string;
}

export interface ContainerEngine {
  readonly name: 'podman' | 'docker-api';
  /** Engine version; throws `runtime/unavailable` when the engine is not usable. */
  version(): Promise<{ version: string; detail?: string }>;
  /** undefined when no such container. */
  inspect(nameOrId: string): Promise<ContainerInfo | undefined>;
  /** Containers (any state) carrying all these labels. */
  list(labels: Record<string, string>): Promise<ContainerInfo[]>;
  imageExists(ref: string): Promise<boolean>;
  pull(ref: string, opts: { tlsVerify: boolean; certDir?: string; signal?: AbortSignal }): Promise<void>;
  /** Creates the container (not started); returns its id. */
  create(spec: ContainerCreateSpec, signal?: AbortSignal): Promise<string>;
  start(id: string): Promise<void>;
  stop(id: string, timeoutSec: number): Promise<void>;
  /** Force-removes the container and its anonymous volumes; a missing container is fine. */
  remove(id: string): Promise<void>;
  /** Removes an image if nothing uses it; false when it is in use or missing. */
  removeImage(ref: string): Promise<boolean>;
  /** Names of networks / volumes carrying all these labels (compose cleanup). */
  networks(labels: Record<string, string>): Promise<string[]>;
  removeNetwork(name: string): Promise<void>;
  volumes(labels: Record<string, string>): Promise<string[]>;
  removeVolume(name: string): Promise<void>;
}

/** Parses engine timestamps; the zero time (`0001-01-01...`) and garbage give undefined. */
export function parseEngineTime(s: unknown): number | undefined {
  if (typeof s !== 'string') return undefined;
  const t = Date.parse(s);
  return Number.isFinite(t) && t > 0 ? t : undefined;
}

export function normaliseState(s: unknown): ContainerState {
  const v = typeof s === 'string' ? s.toLowerCase() : '';
  switch (v) {
    case 'created':
    case 'running':
    case 'paused':
    case 'restarting':
    case 'exited':
    case 'stopped':
    case 'dead':
      return v;
    case 'configured':
      return 'created';
    default:
      return 'unknown';
  }
}

/** The common `docker/podman inspect` JSON shape → ContainerInfo. */
export function fromInspect(d: Record<string, unknown>): ContainerInfo {
  const state = (d.State ?? {}) as Record<string, unknown>;
  const config = (d.Config ?? {}) as Record<string, unknown>;
  const host = (d.HostConfig ?? {}) as Record<string, unknown>;
  return {
    id: String(d.Id ?? ''),
    name: String(d.Name ?? '').replace(/^\//, ''),
    image: String(d.ImageName ?? config.Image ?? d.Image ?? ''),
    labels: (config.Labels ?? {}) as Record<string, string>,
    state: normaliseState(state.Status),
    exitCode: typeof state.ExitCode === 'number' ? state.ExitCode : 0,
    startedAt: parseEngineTime(state.StartedAt),
    finishedAt: parseEngineTime(state.FinishedAt),
    restartCount: typeof d.RestartCount === 'number' ? d.RestartCount : 0,
    oomKilled: state.OOMKilled === true,
    error: typeof state.Error === 'string' && state.Error ? state.Error : undefined,
    memoryBytes: typeof host.Memory === 'number' && host.Memory > 0 ? host.Memory : undefined,
    restartPolicy: String((host.RestartPolicy as { Name?: unknown } | undefined)?.Name || 'no'),
  };
}
