import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { systemClock } from '../../../lib/base/index.js';
import { silentLogger } from '../../../lib/log/index.js';
import { parseApplicationDeployment } from '../../../lib/margo/index.js';
import type { DeploymentStatus } from '../../../lib/model/index.js';
import type {
  ProbeResult,
  RuntimeAdapter,
  RuntimeSet,
  WorkloadSpec,
  WorkloadStatus,
} from '../../runtimes/index.js';
import { parseAgentConfig } from '../config.js';
import type { PlanDeps } from '../plan.js';
import { Reconciler } from '../reconciler.js';
import { createStateStore } from '../state.js';
import { createObservation } from './observation.js';
import { waitFor } from '../../../test/helpers/wait.js';

/**
 * The observation module's loop against the real reconciler and an in-memory runtime (the real runtimes:
 * test/integration/observation-soak.test.ts): it never stops looking (issue 19, defect 3), notices a
 * workload that stopped, and the workload is started again with the agent's backoff; a crash loop is
 * reported with its count.
 */

const ID = '21111111-2222-4333-8444-555555555555';
const sha = (s: string) => `sha256:${createHash('sha256').update(s).digest('hex')}`;
const dirs: string[] = [];
const stops: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const s of stops.splice(0)) await s();
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

/** A runtime whose workloads run until killed; `crashing` ones exit 1 right after every start. */
class MemoryRuntime implements RuntimeAdapter {
  readonly kind = 'container';
  readonly workloads = new Map<string, { specHash: string; state: 'running' | 'failed'; since: number }>();
  readonly starts: string[] = [];
  crashing = false;
  probe(): Promise<ProbeResult> {
    return Promise.resolve({ available: true });
  }
  apply(w: WorkloadSpec): Promise<WorkloadStatus> {
    this.starts.push(w.workloadId);
    this.workloads.set(w.workloadId, {
      specHash: w.specHash,
      state: this.crashing ? 'failed' : 'running',
      since: Date.now(),
    });
    return this.status(w.workloadId);
  }
  kill(id: string): void {
    this.workloads.set(id, { ...this.workloads.get(id)!, state: 'failed', since: Date.now() });
  }
  remove(id: string): Promise<void> {
    this.workloads.delete(id);
    return Promise.resolve();
  }
  status(id: string): Promise<WorkloadStatus> {
    const w = this.workloads.get(id);
    if (!w)
      return Promise.resolve({ workloadId: id, kind: this.kind, state: 'removed', since: 0, restarts: 0 });
    return Promise.resolve({
      workloadId: id,
      kind: this.kind,
      state: w.state,
      specHash: w.specHash,
      since: w.since,
      restarts: 0,
      ...(w.state === 'failed'
        ? { exitCode: w.state === 'failed' ? 137 : 0, message: 'exited with code 137' }
        : {}),
    });
  }
  list(): Promise<WorkloadStatus[]> {
    return Promise.all([...this.workloads.keys()].map((k) => this.status(k)));
  }
}

function setup(healthySeconds = 3600) {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'outpost-observe-'));
  dirs.push(d);
  const store = createStateStore({ file: path.join(d, 'state.json'), desiredDir: path.join(d, 'desired') });
  const runtime = new MemoryRuntime();
  const runtimes: RuntimeSet = {
    get: () => runtime,
    all: () => [runtime],
    probe: () => Promise.resolve([]),
    lastProbe: () => [],
    pruneImage: () => Promise.resolve(),
  };
  const config = parseAgentConfig({
    deployments: { retrySeconds: 3600, restartSeconds: 0.05, maxRestartSeconds: 0.2, healthySeconds },
  });
  const reports: DeploymentStatus[] = [];
  const reconciler = new Reconciler({
    store,
    runtimes,
    plan: {} as PlanDeps,
    report: (s) => reports.push(s),
    deviceId: 'edge-1',
    config,
    logger: silentLogger(),
    clock: systemClock,
    parseYaml: (b, dev) => parseApplicationDeployment(b, { deviceId: dev }),
  });
  const observation = createObservation({
    reconciler,
    store,
    intervalMs: 20,
    clock: systemClock,
    logger: silentLogger(),
  });
  stops.push(async () => {
    await observation.stop();
    await reconciler.stop();
  });
  /** Makes the deployment desired (as an adopted manifest would): `web`, or these components. */
  const deploy = (components: { name: string; policy?: 'never' }[] = [{ name: 'web' }]) => {
    const y = `id: ${ID}
metadata: { name: demo, namespace: default, deviceId: edge-1 }
spec:
  applicationId: demo
  deploymentProfile:
    type: compose
    components:
${components.map((c) => `      - name: ${c.name}\n        properties: { repository: oci://r.example/${c.name}, revision: 1.0.0 }`).join('\n')}
`;
    store.putYaml(sha(y), Buffer.from(y));
    store.update((s) => {
      s.manifestVersion = 3;
      s.deployments[ID] = {
        deploymentId: ID,
        name: '',
        desired: true,
        digest: sha(y),
        adoptedManifestVersion: 3,
        workloads: [],
        plan: components.map((c) => ({
          component: c.name,
          kind: 'container',
          wait: false,
          timeoutMs: 5_000,
          spec: {
            workloadId: `${ID}.${c.name}`,
            deploymentId: ID,
            component: c.name,
            revision: '1.0.0',
            artifact: { image: `r.example/${c.name}@sha256:${'0'.repeat(64)}` },
            env: {},
            ...(c.policy ? { restart: { policy: c.policy } } : {}),
            specHash: sha(`${c.name}-v1`),
          },
        })),
        planDigest: sha(y),
        failures: 0,
        updatedAt: 0,
      };
    });
  };
  const last = () => reports.at(-1)?.components[0];
  return { store, runtime, reports, reconciler, observation, deploy, last };
}

describe('the observation module', () => {
  it('keeps watching after passes with nothing to do, and has a killed workload started again', async () => {
    // Healthy again 0.1 s after a restart: each kill below is a crash of its own, not a crash loop.
    const t = setup(0.1);
    // Started with no deployments: every pass awaits nothing (the case of issue 19, defect 3).
    await t.observation.start();
    await t.observation.observe();
    await t.observation.observe();
    t.deploy();
    await waitFor(() => t.last()?.state === 'installed', { what: 'the first install', timeoutMs: 20_000 });
    const record = () => t.store.get().deployments[ID]!.restarts?.web;
    for (let kill = 1; kill <= 3; kill++) {
      await waitFor(() => (record()?.consecutive ?? 0) === 0, {
        what: 'the workload to be healthy again',
        timeoutMs: 20_000,
      });
      const starts = t.runtime.starts.length;
      t.runtime.kill(`${ID}.web`);
      await waitFor(() => t.last()?.state === 'failed', {
        what: `kill ${kill} to be noticed`,
        timeoutMs: 20_000,
      });
      expect(t.last()!.error!.message).toMatch(/^exited with code 137 at \S+Z; restart \d+ due at \S+Z$/);
      await waitFor(() => t.last()?.state === 'installed', {
        what: `the restart after kill ${kill}`,
        timeoutMs: 20_000,
      });
      expect(t.runtime.starts.length).toBe(starts + 1);
    }
    expect(record()).toMatchObject({ restarts: 3 });
  });

  it('backs a crash loop off and reports it with its count', async () => {
    const t = setup();
    t.runtime.crashing = true;
    t.deploy();
    await t.observation.start();
    await waitFor(() => (t.store.get().deployments[ID]?.restarts?.web?.restarts ?? 0) >= 5, {
      what: 'five restarts',
      timeoutMs: 20_000,
    });
    const loops = t.reports
      .map((r) => r.components[0]!)
      .filter((c) => c.error?.code === 'runtime/crash-loop')
      .map((c) => c.error!.message);
    expect(loops.length).toBeGreaterThan(0);
    expect(loops.at(-1)).toMatch(/^crash loop: exited with code 137 at \S+Z; restart \d+ due at \S+Z$/);
    // The backoff doubled up to its cap of 0.2 s: the delays the records show, never the clock.
    const rec = t.store.get().deployments[ID]!.restarts!.web!;
    expect(rec.consecutive).toBeGreaterThanOrEqual(5);
    // It never stopped being reported failed once the loop began.
    const after = t.reports.slice(
      t.reports.findIndex((r) => r.components[0]!.error?.code === 'runtime/crash-loop'),
    );
    expect(after.every((r) => r.status.state !== 'installed')).toBe(true);
  });

  it('leaves a workload down under policy never, and still restarts the others of its deployment', async () => {
    const t = setup(0.1);
    t.deploy([{ name: 'job', policy: 'never' }, { name: 'web' }]);
    await t.observation.start();
    await waitFor(() => t.reports.at(-1)?.status.state === 'installed', {
      what: 'the install',
      timeoutMs: 20_000,
    });
    t.runtime.kill(`${ID}.job`);
    await waitFor(() => t.reports.at(-1)?.components[0]?.state === 'failed', {
      what: 'the job reported down',
      timeoutMs: 20_000,
    });
    const starts = t.runtime.starts.length;
    t.runtime.kill(`${ID}.web`);
    await waitFor(() => t.runtime.starts.length > starts, { what: 'web restarted', timeoutMs: 20_000 });
    await waitFor(() => t.reports.at(-1)?.components[1]?.state === 'installed', {
      what: 'web installed again',
      timeoutMs: 20_000,
    });
    expect(t.runtime.starts.slice(starts)).toEqual([`${ID}.web`]);
    expect(t.reports.at(-1)).toMatchObject({
      status: { state: 'failed', error: { source: 'demo' } },
      components: [
        { name: 'job', state: 'failed' },
        { name: 'web', state: 'installed' },
      ],
    });
  });

  it('leaves a deployment alone while the reconciler works on it, and stops looking when stopped', async () => {
    const t = setup();
    t.deploy();
    t.reconciler.kick(ID);
    expect(t.reconciler.busy(ID)).toBe(true);
    await t.observation.observe();
    await t.reconciler.idle();
    expect(t.runtime.starts).toHaveLength(1);
    await t.observation.stop();
    t.runtime.kill(`${ID}.web`);
    const n = t.reports.length;
    await t.observation.observe();
    expect(t.reports.length).toBe(n);
  });
});
