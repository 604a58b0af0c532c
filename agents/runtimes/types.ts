/**
 * The one interface every runtime adapter implements (agents/runtimes/README.md). The agent hands an
 * adapter a fully resolved {@link WorkloadSpec} whose artifacts are already pulled and digest-verified on
 * local disk (or, for containers, an image reference on the site registry); the adapter makes the host
 * run exactly that, finds what it runs again after an agent restart, and never restarts a healthy
 * workload whose spec hash did not change.
 */

/** A registered runtime's kind (`wasm`, `container`, `compose`, `helm`, ...: agents/runtimes/registry.ts). */
export type RuntimeKind = string;

/** A file on local disk, already pulled and digest-verified by the agent (the adapter checks the digest again). */
export interface FileArtifact {
  path: string;
  /** OCI media type of the layer, e.g. `application/wasm` or `application/vnd.org.margo.component.compose.tar+gzip`. */
  mediaType: string;
  /** `sha256:<hex>` of the file's bytes. */
  digest: string;
}

/** A container image reference, normally on the site registry. */
export interface ImageArtifact {
  image: string;
  /** `false` for a plain-HTTP loopback registry (`--tls-verify=false`). Default true. */
  tlsVerify?: boolean;
  /**
   * A folder with the registry's CA (`*.crt`) and a client certificate (`*.cert` + `*.key`), for a pull
   * from the site registry (podman's `--cert-dir`; the Docker API takes them from /etc/docker/certs.d).
   */
  certDir?: string;
  /** When to pull: `missing` (default) pulls only if the image is not in local storage. */
  pull?: 'missing' | 'always' | 'never';
}

export type Artifact = FileArtifact | ImageArtifact;

export function isImageArtifact(a: Artifact): a is ImageArtifact {
  return typeof (a as ImageArtifact).image === 'string';
}

export interface RestartPolicy {
  /** `on-failure` (default): restart after a non-zero exit or a trap; `always`: also after exit 0. */
  policy?: 'on-failure' | 'always' | 'never';
  /** First backoff delay (wasm; default 500 ms), doubled after each consecutive failure... */
  initialDelayMs?: number;
  /** ...up to this cap (default 30 s). */
  maxDelayMs?: number;
  /** Give up (state `failed`) after this many restarts; default unlimited. */
  maxRestarts?: number;
}

export interface HelmSpec {
  /** `oci://registry/repo/chart` or a local chart path (`.tgz` or directory). */
  chartRef: string;
  /** The component `revision` (OCI tag form; `_` is turned back into `+` for helm). */
  version?: string;
  /** Values by dot path (`image.tag`, `a\.b.c`, `list[0].name`) from the Margo parameters. */
  values: Record<string, unknown>;
  namespace: string;
  /** `--wait` (Margo `wait`, default true). */
  wait: boolean;
  /** Margo `timeout` (`8m30s`). */
  timeout?: string;
}

export interface ContainerOptions {
  /** `--network` (default: the engine's default network). */
  network?: string;
  /** `--publish` entries (`127.0.0.1:8080:80/tcp`). */
  publish?: string[];
}

export interface WorkloadSpec {
  /** Stable id: `${deploymentId}.${componentName}`. */
  workloadId: string;
  deploymentId: string;
  /** Margo component name. */
  component: string;
  /** Margo component revision. */
  revision: string;
  /**
   * Hash of everything that defines the workload (see computeSpecHash). `apply()` is a no-op when the
   * workload already runs with this hash and is healthy.
   */
  specHash: string;
  artifact: Artifact;
  /** Environment variables (Margo parameters whose pointer is a variable name). */
  env: Record<string, string>;
  /** Program arguments (wasm argv[1..]; container command after the image). */
  args?: string[];
  helm?: HelmSpec;
  container?: ContainerOptions;
  limits?: { memoryBytes?: number; cpus?: number };
  restart?: RestartPolicy;
  /**
   * The Margo child device the workload runs on (`<host>/<mcu>`), when the deployment targets one
   * (the ocre runtime); absent for the host itself.
   */
  device?: string;
}

export type WorkloadState =
  | 'pending'
  | 'installing'
  | 'running'
  /** Crashed and waiting out its backoff before the next start. */
  | 'restarting'
  /** Finished (exit code in `exitCode`), or stopped. */
  | 'exited'
  | 'failed'
  | 'removed'
  | 'unknown';

export interface WorkloadStatus {
  workloadId: string;
  kind: RuntimeKind;
  state: WorkloadState;
  /** The spec hash the running workload was created from. */
  specHash?: string;
  /** Epoch ms since the workload is in this state (best knowledge). */
  since: number;
  restarts: number;
  exitCode?: number;
  message?: string;
  /** Where the workload's output is (wasm: a file; containers: `podman logs <name>`). */
  logsPath?: string;
  /** Runtime handle: the runner pid (wasm), container id, compose project, helm release. */
  handle?: string;
  pid?: number;
  /**
   * The workload's supervisor ended without recording an end (killed, or stopped from outside the
   * agent): the workload is `failed`, and the agent starts it again as its restart policy says.
   */
  lost?: boolean;
}

export type WorkloadEventType =
  'unchanged' | 'adopted' | 'installing' | 'replacing' | 'started' | 'removing' | 'removed' | 'failed';

export interface WorkloadEvent {
  workloadId: string;
  type: WorkloadEventType;
  at: number;
  message?: string;
}

export interface ApplyOptions {
  signal?: AbortSignal;
  onEvent?: (e: WorkloadEvent) => void;
  /** Recreate even when the same spec hash is present (an operator's explicit retry). */
  force?: boolean;
}

export interface RemoveOptions {
  signal?: AbortSignal;
  onEvent?: (e: WorkloadEvent) => void;
  /** Seconds to wait for a clean stop before killing (default 10). */
  stopTimeoutSec?: number;
}

export interface ProbeResult {
  available: boolean;
  version?: string;
  detail?: string;
}

export interface RuntimeAdapter {
  readonly kind: RuntimeKind;
  probe(): Promise<ProbeResult>;
  /** Converges the host to `w`: no-op when already running with the same spec hash, replaces otherwise. */
  apply(w: WorkloadSpec, opts?: ApplyOptions): Promise<WorkloadStatus>;
  /** Stops and deletes the workload and everything created for it; a missing workload is not an error. */
  remove(workloadId: string, opts?: RemoveOptions): Promise<void>;
  /** State `removed` when the adapter has no trace of the workload. */
  status(workloadId: string): Promise<WorkloadStatus>;
  /** Every workload this adapter (instance) manages, found from the runtime itself (labels, state files). */
  list(): Promise<WorkloadStatus[]>;
  /** Removes an image it pulled once nothing uses it (runtimes that pull images). */
  pruneImage?(ref: string): Promise<void>;
}

/** Error codes the adapters throw (namespaced; `status` maps to HTTP for reports). */
export const RuntimeErrorCode = {
  /** The runtime's binary or daemon is missing or unusable. */
  unavailable: 'runtime/unavailable',
  /** The spec is malformed or asks for something the adapter cannot do. */
  invalidSpec: 'runtime/invalid-spec',
  /** A file artifact does not match its digest. */
  digestMismatch: 'runtime/digest-mismatch',
  /** A compose archive breaks the Margo packaging rules. */
  unsafeArchive: 'runtime/unsafe-archive',
  /** The module needs more memory than the limit allows. */
  memoryLimit: 'runtime/memory-limit',
  /** A runtime command failed (message carries the last stderr line). */
  commandFailed: 'runtime/command-failed',
  /** The workload was started but did not come up. */
  startFailed: 'runtime/start-failed',
} as const;
