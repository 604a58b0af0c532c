import { describe, expect, it } from 'vitest';
import { overallState, type DeploymentState } from '../../lib/model/index.js';
import type { WorkloadStatus } from '../runtimes/types.js';
import { componentFromWorkload, overallOf, sameReport, statusBody } from './status.js';

const STATES: DeploymentState[] = ['pending', 'installing', 'installed', 'failed', 'removing', 'removed'];
const ws = (p: Partial<WorkloadStatus>): WorkloadStatus => ({
  workloadId: 'd.c',
  kind: 'wasm',
  state: 'running',
  since: 0,
  restarts: 0,
  ...p,
});

describe('deployment status', () => {
  it('is the most severe component state, exactly as lib/margo says, for every pair and triple', () => {
    for (const a of STATES)
      for (const b of STATES) {
        expect(overallOf([{ state: a }, { state: b }])).toBe(overallState([a, b]));
        for (const c of STATES)
          expect(overallOf([{ state: a }, { state: b }, { state: c }])).toBe(overallState([a, b, c]));
      }
  });

  it('maps workload states to component states with errors naming the component', () => {
    expect(componentFromWorkload('c', ws({ state: 'running' }))).toEqual({ name: 'c', state: 'installed' });
    expect(componentFromWorkload('c', ws({ state: 'exited', exitCode: 0 }))).toEqual({
      name: 'c',
      state: 'installed',
    });
    expect(componentFromWorkload('c', ws({ state: 'installing' })).state).toBe('installing');
    expect(
      componentFromWorkload('c', ws({ state: 'exited', exitCode: 3, message: 'exited with code 3' })),
    ).toEqual({
      name: 'c',
      state: 'failed',
      error: { code: 'runtime/exited', source: 'c', message: 'exited with code 3' },
    });
    expect(
      componentFromWorkload('c', ws({ state: 'restarting', exitCode: 1, restarts: 2 })).error?.message,
    ).toMatch(/crashed \(exit code 1\) and is restarting \(2 restarts\)/);
    expect(componentFromWorkload('c', ws({ state: 'removed' })).error?.code).toBe('runtime/missing');
  });

  it('builds the rc.3 body and tells equal reports apart from changed ones', () => {
    const body = statusBody({ deploymentId: 'd', adoptedManifestVersion: 4 }, [
      { name: 'c', state: 'installed' },
    ]);
    expect(body).toEqual({
      deploymentId: 'd',
      adoptedManifestVersion: 4,
      status: { state: 'installed' },
      components: [{ name: 'c', state: 'installed' }],
    });
    const reported = {
      state: 'installed' as const,
      adoptedManifestVersion: 4,
      components: [{ name: 'c', state: 'installed' as const }],
      at: 1,
    };
    expect(sameReport(reported, body)).toBe(true);
    expect(sameReport({ ...reported, adoptedManifestVersion: 3 }, body)).toBe(false);
    expect(sameReport(undefined, body)).toBe(false);
  });
});
