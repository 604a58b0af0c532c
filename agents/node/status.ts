import { overallState, type DeploymentState, type DeploymentStatus } from '../../lib/model/index.js';
import type { WorkloadStatus } from '../runtimes/types.js';
import type { ComponentReport, DeploymentRecord, StatusError } from './state.js';

/** Margo deployment status from what the runtimes say (ADR 0267). */

/** The overall state (lib/model's overallState); a deployment with no component reports is failed. */
export function overallOf(components: readonly { state: DeploymentState }[]): DeploymentState {
  return overallState(components) ?? 'failed';
}

/**
 * Whether a workload is up as far as the agent can tell: running, or a one-shot that finished with 0
 * (not one whose supervisor was ended from outside: that one is lost).
 */
export function isHealthy(st: WorkloadStatus): boolean {
  return !st.lost && (st.state === 'running' || (st.state === 'exited' && (st.exitCode ?? 0) === 0));
}

/** Whether waiting longer can change the outcome (it is still coming up or restarting). */
export function isSettling(st: WorkloadStatus): boolean {
  return st.state === 'installing' || st.state === 'pending' || st.state === 'restarting';
}

/** A component's Margo state from its workload's status (after it was applied). */
export function componentFromWorkload(name: string, st: WorkloadStatus): ComponentReport {
  if (isHealthy(st)) return { name, state: 'installed' };
  if (st.lost)
    return {
      name,
      state: 'failed',
      error: { code: 'runtime/lost', source: name, message: st.message ?? 'its supervisor is gone' },
    };
  switch (st.state) {
    case 'pending':
    case 'installing':
      return { name, state: 'installing' };
    case 'restarting':
      return {
        name,
        state: 'failed',
        error: {
          code: 'runtime/restarting',
          source: name,
          message: `crashed${st.exitCode !== undefined ? ` (exit code ${st.exitCode})` : ''} and is restarting (${st.restarts} restarts)${st.message ? `: ${st.message}` : ''}`,
        },
      };
    case 'removed':
      return {
        name,
        state: 'failed',
        error: { code: 'runtime/missing', source: name, message: 'the workload is gone from the runtime' },
      };
    default:
      return {
        name,
        state: 'failed',
        error: {
          code: st.state === 'exited' ? 'runtime/exited' : 'runtime/failed',
          source: name,
          message:
            st.message ?? `${st.state}${st.exitCode !== undefined ? ` with exit code ${st.exitCode}` : ''}`,
        },
      };
  }
}

/** The body of `POST /api/v1/deployments/{id}/status` (rc.3 shape). */
export function statusBody(
  rec: Pick<DeploymentRecord, 'deploymentId' | 'adoptedManifestVersion' | 'deviceId'>,
  components: ComponentReport[],
  state: DeploymentState = overallOf(components),
  error?: StatusError,
): DeploymentStatus {
  return {
    deploymentId: rec.deploymentId,
    // Reported on behalf of a child device: its full id (Margo: required for children).
    ...(rec.deviceId ? { deviceId: rec.deviceId } : {}),
    adoptedManifestVersion: rec.adoptedManifestVersion,
    status: { state, ...(error ? { error } : {}) },
    components: components.map((c) => ({
      name: c.name,
      state: c.state,
      ...(c.error ? { error: c.error } : {}),
    })),
  };
}

/** Whether two reports say the same (then the second is not sent). */
export function sameReport(a: DeploymentRecord['reported'], b: DeploymentStatus): boolean {
  if (!a) return false;
  return (
    a.state === b.status.state &&
    a.adoptedManifestVersion === b.adoptedManifestVersion &&
    JSON.stringify(a.error ?? null) === JSON.stringify(b.status.error ?? null) &&
    JSON.stringify(a.components) === JSON.stringify(b.components)
  );
}

/** Error messages in reports stay short (one line, bounded). */
export function shortMessage(e: unknown, max = 500): string {
  const m = e instanceof Error ? e.message : String(e);
  const line = m.split('\n')[0] ?? '';
  return line.length > max ? `${line.slice(0, max - 1)}…` : line;
}
