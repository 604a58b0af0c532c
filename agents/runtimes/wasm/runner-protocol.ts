import path from 'node:path';

/**
 * What the WASM adapter and the node's one runner process share (ADR 0201, ADR 0544): files in the
 * runtime's state directory. The adapter writes a workload's `spec.json`, `module.wasm` and, last,
 * `want.json` (a request: run this spec, or stop), then signals the runner (SIGUSR2), starting it when
 * none runs. The runner acts on every request it has not acted on yet and writes the workload's
 * `status.json` (with the request it answers) and logs from then on.
 *
 *   <stateDir>/
 *     .runner/lock       {pid, startedAt}: the runner process, created exclusively, removed as it ends
 *     .runner/runner.log the runner's own events (JSON lines)
 *     <safe workload name>/
 *       spec.json        RunnerConfig (written by the adapter)
 *       module.wasm      the module (a verified copy of the agent's artifact)
 *       want.json        WorkloadRequest (written by the adapter, atomically, after the two above)
 *       status.json      RunnerStatus, replaced atomically on every state change
 *       output.log       the module's stdout and stderr (copy-truncated to output.log.1 past logMaxBytes)
 *       runner.log       the workload's events in the runner (JSON lines)
 *       data/            preopened to the module as /data (kept across updates, deleted on removal)
 *       lock             only from a runner of an earlier version (one process per workload): {pid, specHash}
 */
export const RunnerFiles = {
  spec: 'spec.json',
  module: 'module.wasm',
  want: 'want.json',
  /** A per-workload runner of an earlier version (before ADR 0544) holds this while it runs. */
  lock: 'lock',
  status: 'status.json',
  output: 'output.log',
  runnerLog: 'runner.log',
  data: 'data',
} as const;

/** The runner's own folder below the state directory (not a workload: its name starts with a dot). */
export const HOST_DIR = '.runner';
export const HostFiles = { lock: 'lock', log: 'runner.log' } as const;

export const RUNNER_PROTOCOL = 1;

/** The signal that makes the runner read the requests again. */
export const RESCAN_SIGNAL = 'SIGUSR2';

export interface RunnerConfig {
  protocol: typeof RUNNER_PROTOCOL;
  workloadId: string;
  specHash: string;
  /** argv[0] of the module. */
  programName: string;
  args: string[];
  env: Record<string, string>;
  memoryMaxBytes: number;
  restart: {
    policy: 'on-failure' | 'always' | 'never';
    initialDelayMs: number;
    maxDelayMs: number;
    /** undefined: unlimited. */
    maxRestarts?: number;
    /** A run that lasted this long resets the backoff to the initial delay. */
    resetAfterMs: number;
  };
  logMaxBytes: number;
  /** How long a stop waits for the module's thread to end. */
  stopGraceMs: number;
}

/**
 * What the adapter asks of the runner for one workload. `request` is new for every request; the runner
 * acts on a request once (a runner started later does not start again what the agent did not ask for:
 * restarts after a runner died are the agent's, with its backoff).
 */
export interface WorkloadRequest {
  request: string;
  /** true: (re)start the module of spec.json; false: stop it. */
  run: boolean;
  specHash: string;
}

/**
 * `starting` → `running` → (`restarting` → `running`)* → `exited` | `failed` | `stopped`.
 * `exited`, `failed` and `stopped` are written by the runner as the workload ends: `exited` when the
 * policy says the module is done, `failed` when it gave up (or cannot run the module at all), `stopped`
 * after a stop request or when the runner was told to end (SIGTERM).
 */
export type RunnerState = 'starting' | 'running' | 'restarting' | 'exited' | 'failed' | 'stopped';

export interface RunnerStatus {
  protocol: typeof RUNNER_PROTOCOL;
  /** The runner process. */
  pid: number;
  /** The request this status answers. */
  request?: string;
  workloadId: string;
  specHash: string;
  state: RunnerState;
  since: number;
  restarts: number;
  /** When the module's current run started. */
  startedAt?: number;
  lastExit?: { at: number; exitCode?: number; message: string };
  nextStartAt?: number;
  memoryMaxBytes: number;
}

export interface HostLock {
  pid: number;
  startedAt: number;
}

/** A per-workload runner of an earlier version. */
export interface RunnerLock {
  pid: number;
  specHash: string;
  startedAt: number;
}

export function runnerFile(dir: string, name: keyof typeof RunnerFiles): string {
  return path.join(dir, RunnerFiles[name]);
}

export function hostFile(stateDir: string, name: keyof typeof HostFiles): string {
  return path.join(stateDir, HOST_DIR, HostFiles[name]);
}

/** Whether an entry of the state directory is a workload's folder (the runner's own starts with a dot). */
export function isWorkloadEntry(name: string): boolean {
  return !name.startsWith('.');
}
