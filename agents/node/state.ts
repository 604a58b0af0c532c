import fs from 'node:fs';
import path from 'node:path';
import type { DeploymentState } from '../../lib/model/index.js';
import type { RuntimeKind, WorkloadSpec } from '../runtimes/index.js';
import { ensureDir, readJson, removeStaleTemps, writeFileDurable } from './durable.js';
import type { RestartRecord } from './restart-policy.js';

/**
 * `state.json`: what the agent adopted and what it runs (ADR 0262). Replaced atomically (temp file,
 * fsync, rename, folder fsync) on every change, so a crash leaves either the old or the new state.
 * `manifestVersion` and `etag` change only after a manifest passed every check and its YAML files are
 * stored in `desired/`; a restart never goes backwards.
 */

export interface StatusError {
  code?: string;
  source?: string;
  message?: string;
}

export interface ComponentReport {
  name: string;
  state: DeploymentState;
  error?: StatusError;
}

/** One component resolved to a workload (artifacts pulled, spec hash computed). */
export interface PlannedWorkload {
  component: string;
  kind: RuntimeKind;
  /** Margo `wait` (default true). */
  wait: boolean;
  /** How long the component gets to come up when `wait` is set. */
  timeoutMs: number;
  spec: WorkloadSpec;
  /** Where a file artifact came from, to pull it again when the cache lost it. */
  source?: { ref: string; digest: string; size: number };
}

export interface AppliedWorkload {
  workloadId: string;
  kind: RuntimeKind;
  component: string;
  specHash: string;
}

export interface ReportedStatus {
  state: DeploymentState;
  adoptedManifestVersion: number;
  components: ComponentReport[];
  error?: StatusError;
  at: number;
}

export interface DeploymentRecord {
  deploymentId: string;
  /** `metadata.name` of the YAML (the `error.source` of deployment-level errors). */
  name: string;
  /** In the adopted manifest (false: it left the manifest and is being removed). */
  desired: boolean;
  /** Digest of the desired YAML (kept after it left the manifest, for the record). */
  digest: string;
  /** The manifestVersion from which this revision (or its removal) was taken. */
  adoptedManifestVersion: number;
  /** The child device it runs on (`<host>/<mcu>`), when its YAML targets one (reports name it). */
  deviceId?: string;
  /** The YAML digest whose workloads are fully in place (installed). */
  appliedDigest?: string;
  /** Workloads that exist on the host for this deployment (what a removal must remove). */
  workloads: AppliedWorkload[];
  /** The resolved plan of `planDigest` (reused after a restart, so no registry is needed to re-check). */
  plan?: PlannedWorkload[];
  planDigest?: string;
  /** The last status queued for the LO. */
  reported?: ReportedStatus;
  /** Consecutive failed attempts, and when the next one is due. */
  failures: number;
  retryAt?: number;
  /** The agent's restarts of each component's workload (ADR 0207), by component name. */
  restarts?: Record<string, RestartRecord>;
  /** Set while the deployment's cached artifacts alone exceed the blob cache limit (ADR 0342). */
  cacheOverLimit?: { neededBytes: number; maxBytes: number };
  updatedAt: number;
}

export interface AgentState {
  version: 1;
  /** The adopted manifestVersion (0: none yet). */
  manifestVersion: number;
  /** The adopted manifest's ETag (sent as If-None-Match). */
  etag?: string;
  /** When the adopted manifest was taken. */
  manifestAdoptedAt?: number;
  /** The last time the agent confirmed it has the LO's current desired state (a 200 adopted or a 304). */
  lastSync?: number;
  /** The last failed poll (cleared by a successful one). */
  lastError?: { at: number; message: string };
  /** Digest of the capabilities last accepted by the LO, and when. */
  capabilities?: { digest: string; sentAt: number };
  deployments: Record<string, DeploymentRecord>;
}

export function emptyState(): AgentState {
  return { version: 1, manifestVersion: 0, deployments: {} };
}

export interface StateStore {
  readonly file: string;
  get(): AgentState;
  /** Applies `change` to a copy and writes it durably; the in-memory state changes only if the write succeeded. */
  update(change: (s: AgentState) => void): AgentState;
  /** The verified YAML bytes of a digest, kept in `desired/`. */
  readYaml(digest: string): Buffer | undefined;
  hasYaml(digest: string): boolean;
  /** Stores verified YAML bytes durably (content-addressed). */
  putYaml(digest: string, bytes: Buffer): void;
  /** Removes stored YAML files no deployment refers to. */
  pruneYaml(keep: Iterable<string>): void;
}

export function readStateFile(file: string): AgentState | undefined {
  const s = readJson<AgentState>(file);
  if (s === undefined) return undefined;
  if (s.version !== 1 || typeof s.manifestVersion !== 'number' || typeof s.deployments !== 'object') {
    throw new Error(
      `${file} is not an agent state file (version ${String((s as { version?: unknown }).version)})`,
    );
  }
  return s;
}

export function createStateStore(opts: { file: string; desiredDir: string }): StateStore {
  const { file, desiredDir } = opts;
  ensureDir(path.dirname(file));
  ensureDir(desiredDir);
  removeStaleTemps(path.dirname(file));
  removeStaleTemps(desiredDir);
  let state = readStateFile(file) ?? emptyState();
  const yamlFile = (digest: string) => path.join(desiredDir, `${digest.replace(/^sha256:/, '')}.yaml`);
  return {
    file,
    get: () => state,
    update(change) {
      const next = structuredClone(state);
      change(next);
      writeFileDurable(file, JSON.stringify(next), 0o600);
      state = next;
      return state;
    },
    readYaml(digest) {
      try {
        return fs.readFileSync(yamlFile(digest));
      } catch {
        return undefined;
      }
    },
    hasYaml: (digest) => fs.existsSync(yamlFile(digest)),
    putYaml(digest, bytes) {
      if (!fs.existsSync(yamlFile(digest))) writeFileDurable(yamlFile(digest), bytes, 0o600);
    },
    pruneYaml(keep) {
      const wanted = new Set([...keep].map((d) => `${d.replace(/^sha256:/, '')}.yaml`));
      for (const n of fs.readdirSync(desiredDir))
        if (n.endsWith('.yaml') && !wanted.has(n)) fs.rmSync(path.join(desiredDir, n), { force: true });
    },
  };
}
