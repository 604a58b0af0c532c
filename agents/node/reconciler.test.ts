import { afterEach, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { systemClock } from '../../lib/base/index.js';
import { silentLogger } from '../../lib/log/index.js';
import { OutpostError } from '../../lib/errors/index.js';
import { parseApplicationDeployment } from '../../lib/margo/index.js';
import type { DeploymentStatus } from '../../lib/model/index.js';
import type { ProbeResult, RuntimeAdapter, WorkloadSpec, WorkloadStatus } from '../runtimes/types.js';
import { parseAgentConfig } from './config.js';
import type { PlanDeps } from './plan.js';
import { createObservation } from './modules/observation.js';
import { Reconciler } from './reconciler.js';
import type { RuntimeSet } from '../runtimes/index.js';
import { createStateStore, type PlannedWorkload, type StateStore } from './state.js';

/**
 * The reconciler's ordering and state rules against an in-memory adapter (the integration tests run the
 * real adapters): listed order, `wait`, the first failure stops the rest, healthy workloads are left
 * alone, removal goes in reverse order, and every change is reported.
 */

const ID = '11111111-2222-4333-8444-555555555555';
const sha = (s: string) => `sha256:${createHash('sha256').update(s).digest('hex')}`;
const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

class MemoryAdapter implements RuntimeAdapter {
  readonly kind = 'container' as const;
  readonly log: string[] = [];
  readonly running = new Map<string, { specHash: string; checks: number }>();
  /** Components that need this many status checks before they run. */
  slow = new Map<string, number>();
  failing = new Set<string>();
  /** The runtime cannot be asked (podman hanging, a socket gone). */
  broken = false;
  /** At each apply: how often every workload's status had been checked already. */
  readonly checksAtApply: Record<string, Record<string, number>> = {};
  probe(): Promise<ProbeResult> {
    return Promise.resolve({ available: true });
  }
  async apply(w: WorkloadSpec): Promise<WorkloadStatus> {
    this.log.push(`apply ${w.component}`);
    this.checksAtApply[w.component] = Object.fromEntries(
      [...this.running].map(([k, v]) => [k.split('.')[1]!, v.checks]),
    );
    if (this.failing.has(w.component))
      throw new OutpostError('runtime/start-failed', `${w.component} does not start`);
    this.running.set(w.workloadId, { specHash: w.specHash, checks: 0 });
    return this.status(w.workloadId);
  }
  async remove(id: string): Promise<void> {
    this.log.push(`remove ${id.split('.')[1]}`);
    this.running.delete(id);
  }
  /** While set, status calls wait for it (a runtime slow to answer, as podman under load). */
  hold: Promise<void> | undefined;
  async status(id: string): Promise<WorkloadStatus> {
    if (this.hold) await this.hold;
    if (this.broken) throw new OutpostError('runtime/command-failed', 'podman ps: cannot connect');
    const r = this.running.get(id);
    if (!r) return { workloadId: id, kind: 'container', state: 'removed', since: 0, restarts: 0 };
    const need = this.slow.get(id.split('.')[1]!) ?? 0;
    const state = r.checks++ < need ? 'installing' : 'running';
    return { workloadId: id, kind: 'container', state, specHash: r.specHash, since: 0, restarts: 0 };
  }
  async list(): Promise<WorkloadStatus[]> {
    return Promise.all([...this.running.keys()].map((k) => this.status(k)));
  }
}

function yaml(names: string[]): string {
  return `id: ${ID}
metadata:
  name: demo
  namespace: default
  deviceId: edge-1
spec:
  applicationId: demo
  deploymentProfile:
    type: compose
    components:
${names.map((n) => `      - name: ${n}\n        properties:\n          repository: oci://r.example/${n}\n          revision: 1.0.0`).join('\n')}
`;
}

function plan(names: string[], wait: Record<string, boolean> = {}): PlannedWorkload[] {
  return names.map((n) => ({
    component: n,
    kind: 'container',
    wait: wait[n] ?? true,
    timeoutMs: 5_000,
    spec: {
      workloadId: `${ID}.${n}`,
      deploymentId: ID,
      component: n,
      revision: '1.0.0',
      artifact: { image: `r.example/${n}@sha256:${'0'.repeat(64)}` },
      env: {},
      specHash: sha(`${n}-v1`),
    },
  }));
}

function setup(names: string[], wait: Record<string, boolean> = {}) {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'outpost-recon-'));
  dirs.push(d);
  const store: StateStore = createStateStore({
    file: path.join(d, 'state.json'),
    desiredDir: path.join(d, 'desired'),
  });
  const y = yaml(names);
  store.putYaml(sha(y), Buffer.from(y));
  store.update((s) => {
    s.manifestVersion = 7;
    s.deployments[ID] = {
      deploymentId: ID,
      name: '',
      desired: true,
      digest: sha(y),
      adoptedManifestVersion: 7,
      workloads: [],
      plan: plan(names, wait),
      planDigest: sha(y),
      failures: 0,
      updatedAt: 0,
    };
  });
  const adapter = new MemoryAdapter();
  const reports: DeploymentStatus[] = [];
  const runtimes: RuntimeSet = {
    get: () => adapter,
    all: () => [adapter],
    probe: () => Promise.resolve([]),
    lastProbe: () => [],
    pruneImage: () => Promise.resolve(),
  };
  const config = parseAgentConfig({ deployments: { retrySeconds: 3600 } });
  const r = new Reconciler({
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
  const states = () => reports.map((s) => `${s.status.state}:${s.components.map((c) => c.state).join(',')}`);
  // The observation module's pass (its loop is not started here: the tests make each pass themselves).
  const observation = createObservation({
    reconciler: r,
    store,
    intervalMs: 3_600_000,
    clock: systemClock,
    logger: silentLogger(),
  });
  return { store, adapter, reports, r, states, observe: () => observation.observe() };
}

describe('reconciler', () => {
  it('applies components in the listed order, waiting for each one, and reports each step', async () => {
    const t = setup(['db', 'api', 'web']);
    t.adapter.slow.set('db', 3);
    t.r.kick(ID);
    await t.r.idle();
    expect(t.adapter.log).toEqual(['apply db', 'apply api', 'apply web']);
    // api was applied only after db had come up (db needed 3 checks before it ran).
    expect(t.adapter.checksAtApply.api!.db).toBeGreaterThan(3);
    expect(t.states()).toEqual([
      'installing:installing,installing,installing',
      'installing:installed,installing,installing',
      'installing:installed,installed,installing',
      'installed:installed,installed,installed',
    ]);
    expect(t.reports.at(-1)).toMatchObject({ adoptedManifestVersion: 7 });
    expect(t.store.get().deployments[ID]).toMatchObject({
      appliedDigest: t.store.get().deployments[ID]!.digest,
      name: 'demo',
    });
    await t.r.stop();
  });

  it('stops at the first failure: the rest stay pending, the deployment is failed with the component error', async () => {
    const t = setup(['db', 'api', 'web']);
    t.adapter.failing.add('api');
    t.r.kick(ID);
    await t.r.idle();
    expect(t.adapter.log).toEqual(['apply db', 'apply api']);
    const last = t.reports.at(-1)!;
    expect(last.status).toEqual({
      state: 'failed',
      error: { code: 'runtime/start-failed', source: 'demo', message: 'api does not start' },
    });
    expect(last.components).toEqual([
      { name: 'db', state: 'installed' },
      {
        name: 'api',
        state: 'failed',
        error: { code: 'runtime/start-failed', source: 'api', message: 'api does not start' },
      },
      { name: 'web', state: 'pending' },
    ]);
    expect(t.store.get().deployments[ID]).toMatchObject({ failures: 1 });
    expect(t.store.get().deployments[ID]!.appliedDigest).toBeUndefined();
    await t.r.stop();
  });

  it('leaves healthy workloads alone when nothing changed (a restart), and reports nothing new', async () => {
    const t = setup(['db', 'web']);
    t.r.kick(ID);
    await t.r.idle();
    const n = t.reports.length;
    t.adapter.log.length = 0;
    t.r.kick(ID);
    await t.r.idle();
    await t.observe();
    expect(t.adapter.log).toEqual([]);
    expect(t.reports.length).toBe(n);
    await t.r.stop();
  });

  it('notices a workload that vanished, reports it failed, and applies it again', async () => {
    const t = setup(['db']);
    t.r.kick(ID);
    await t.r.idle();
    t.adapter.running.clear();
    await t.observe();
    expect(t.reports.at(-1)!.components[0]).toMatchObject({
      state: 'failed',
      error: { code: 'runtime/missing' },
    });
    t.r.kick(ID);
    await t.r.idle();
    expect(t.reports.at(-1)!.status.state).toBe('installed');
    expect(t.adapter.log).toEqual(['apply db', 'apply db']);
    await t.r.stop();
  });

  it('keeps watching after a pass that had nothing to await (issue 19, defect 3)', async () => {
    const t = setup(['db']);
    // Nothing applied yet and a retry pending: the first pass looks at nothing and awaits nothing.
    t.store.update((s) => (s.deployments[ID]!.desired = false));
    await t.observe();
    t.store.update((s) => (s.deployments[ID]!.desired = true));
    t.r.kick(ID);
    await t.r.idle();
    const n = t.reports.length;
    t.adapter.running.clear();
    // A later pass must look again: the workload is gone.
    await t.observe();
    expect(t.reports.length).toBeGreaterThan(n);
    expect(t.reports.at(-1)!.components[0]).toMatchObject({ state: 'failed' });
    await t.r.stop();
  });

  it('removes a deployment that left the manifest in reverse order: removing, then removed, then forgets it', async () => {
    const t = setup(['db', 'api', 'web']);
    t.r.kick(ID);
    await t.r.idle();
    t.store.update((s) => {
      s.deployments[ID]!.desired = false;
      s.deployments[ID]!.adoptedManifestVersion = 8;
    });
    t.r.kick(ID);
    await t.r.idle();
    expect(t.adapter.log.slice(3)).toEqual(['remove web', 'remove api', 'remove db']);
    expect(t.reports.slice(-2).map((r) => [r.status.state, r.adoptedManifestVersion])).toEqual([
      ['removing', 8],
      ['removed', 8],
    ]);
    expect(t.store.get().deployments[ID]).toBeUndefined();
    expect(t.store.readYaml(sha(yaml(['db', 'api', 'web'])))).toBeUndefined();
    await t.r.stop();
  });

  it('concludes nothing while the runtime cannot be asked: no report, no re-apply', async () => {
    const t = setup(['db']);
    t.r.kick(ID);
    await t.r.idle();
    const n = t.reports.length;
    t.adapter.broken = true;
    await t.observe();
    t.r.kick(ID);
    await t.r.idle();
    expect(t.reports.length).toBe(n);
    expect(t.adapter.log).toEqual(['apply db']);
    await t.r.stop();
  });

  it('does not wait for a component with wait: false', async () => {
    const t = setup(['db', 'web'], { db: false });
    t.adapter.slow.set('db', 1000);
    t.r.kick(ID);
    await t.r.idle();
    expect(t.adapter.log).toEqual(['apply db', 'apply web']);
    expect(t.reports.at(-1)!.components.map((c) => c.state)).toEqual(['installing', 'installed']);
    expect(t.reports.at(-1)!.status.state).toBe('installing');
    await t.r.stop();
  });

  it('a check that was asking the runtime when a new revision was adopted reports nothing for it', async () => {
    const t = setup(['web']);
    t.r.kick(ID);
    await t.r.idle();
    expect(t.states().at(-1)).toBe('installed:installed');
    const before = t.reports.length;
    // The runtime answers slowly; meanwhile the agent adopts manifest 8 with a new revision of this
    // deployment (its task not started yet, or already done: either way not running now).
    let answer!: () => void;
    t.adapter.hold = new Promise<void>((r) => (answer = r));
    const checking = t.r.check(ID);
    const y2 = yaml(['web']).replace('revision: 1.0.0', 'revision: 2.0.0');
    t.store.putYaml(sha(y2), Buffer.from(y2));
    t.store.update((s) => {
      s.manifestVersion = 8;
      s.deployments[ID] = { ...s.deployments[ID]!, digest: sha(y2), adoptedManifestVersion: 8 };
    });
    t.adapter.hold = undefined;
    answer();
    await checking;
    // The old revision's workload, judged running, is not reported as manifest 8's state.
    expect(t.reports.slice(before)).toEqual([]);
  });
});
