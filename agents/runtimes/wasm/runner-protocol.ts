import path from 'node:path';

/**
 * What the WASM adapter and its per-workload runner process share: the files in a workload's state
 * directory. The adapter writes `spec.json` and `module.wasm`, then starts the runner with the directory
 * as its only argument; the runner owns `lock`, `status.json` and the logs from then on.
 *
 *   <stateDir>/<safe workload name>/
 *     spec.json      RunnerConfig (written by the adapter, read once by the runner)
 *     module.wasm    the module (a verified copy of the agent's artifact)
 *     lock           {pid, specHash, startedAt}: created exclusively by the runner, removed on a clean stop
 *     status.json    RunnerStatus, replaced atomically on every state change
 *     output.log     the module's stdout and stderr (copy-truncated to output.log.1 past logMaxBytes)
 *     runner.log     the runner's own events (JSON lines)
 *     data/          preopened to the module as /data (kept across updates, deleted on removal)
 */
export const RunnerFiles = {
  spec: 'spec.json',
  module: 'module.wasm',
  lock: 'lock',
  status: 'status.json',
  output: 'output.log',
  runnerLog: 'runner.log',
  data: 'data',
} as const;

export const RUNNER_PROTOCOL = 1;

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
  /** How long a stop waits for the module's thread before the runner kills itself. */
  stopGraceMs: number;
}

/**
 * `starting` → `running` → (`restarting` → `running`)* → `exited` | `failed` | `stopped`.
 * `exited`, `failed` and `stopped` are written by the runner as it ends: `exited` when the policy says
 * the module is done, `failed` when it gave up (or cannot run the module at all), `stopped` after SIGTERM.
 */
export type RunnerState = 'starting' | 'running' | 'restarting' | 'exited' | 'failed' | 'stopped';

export interface RunnerStatus {
  protocol: typeof RUNNER_PROTOCOL;
  pid: number;
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

export interface RunnerLock {
  pid: number;
  specHash: string;
  startedAt: number;
}

export function runnerFile(dir: string, name: keyof typeof RunnerFiles): string {
  return path.join(dir, RunnerFiles[name]);
}
