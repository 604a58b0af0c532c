import fs from 'node:fs';
import { OutpostError } from '../../lib/errors/index.js';
import type { Clock } from '../../lib/base/index.js';
import type { Logger } from '../../lib/log/index.js';
import type { ApplicationDeployment, DeploymentState, DeploymentStatus } from '../../lib/model/index.js';
import {
  isImageArtifact,
  type RuntimeAdapter,
  type RuntimeKind,
  type WorkloadStatus,
} from '../runtimes/types.js';
import { ms, type AgentConfig } from './config.js';
import { DeploymentPins, planCacheBytes } from './pins.js';
import { planDeployment, type PlanDeps } from './plan.js';
import type { RuntimeSet } from './runtimes.js';
import { backoffMs } from './schedule.js';
import { securityEvent } from './security.js';
import type { ComponentReport, DeploymentRecord, PlannedWorkload, StateStore, StatusError } from './state.js';
import {
  componentFromWorkload,
  isHealthy,
  isSettling,
  sameReport,
  shortMessage,
  statusBody,
} from './status.js';

/**
 * Brings the host to the adopted desired state, one task per deployment (ADR 0267):
 *
 * - a deployment whose YAML is applied and whose workloads are healthy is left alone (an agent restart
 *   never restarts a healthy workload: adapters compare spec hashes);
 * - otherwise its components are resolved (artifacts pulled and verified) and applied in the listed
 *   order, each waited for when `wait` is set, reporting installing → installed / failed; the cached
 *   artifacts it uses stay pinned from before their download until the task ends (ADR 0342);
 * - a deployment that left the manifest is removed (removing → removed), workloads in reverse order;
 * - tasks run concurrently (bounded), each with a timeout, so one stuck deployment blocks no other; a
 *   failed one is retried with exponential backoff; running workloads are observed and every change of
 *   state is reported.
 */

export interface ReconcilerDeps {
  store: StateStore;
  runtimes: RuntimeSet;
  plan: PlanDeps;
  /** Queues a status report durably (the outbox) and starts delivering it. */
  report(status: DeploymentStatus): void;
  deviceId: string;
  config: AgentConfig;
  logger: Logger;
  clock: Clock;
  parseYaml(bytes: Buffer, deviceId: string): ApplicationDeployment;
}

export class Reconciler {
  private readonly log: Logger;
  private readonly running = new Map<string, Promise<void>>();
  private readonly again = new Set<string>();
  private readonly retryTimers = new Map<string, NodeJS.Timeout>();
  private readonly waiting: (() => void)[] = [];
  private active = 0;
  private stopped = false;
  private readonly stopController = new AbortController();
  private observing: Promise<void> | undefined;

  constructor(private readonly d: ReconcilerDeps) {
    this.log = d.logger.child({ component: 'agent-reconcile' });
  }

  /** Reconciles every deployment in the state (at start and after each adopted manifest). */
  kickAll(): void {
    for (const id of Object.keys(this.d.store.get().deployments)) this.kick(id);
  }

  /** Schedules a deployment's task; a running one runs again when it ends. */
  kick(id: string): void {
    if (this.stopped) return;
    const t = this.retryTimers.get(id);
    if (t) {
      clearTimeout(t);
      this.retryTimers.delete(id);
    }
    if (this.running.has(id)) {
      this.again.add(id);
      return;
    }
    const p = this.runTask(id).finally(() => {
      this.running.delete(id);
      if (this.again.delete(id)) this.kick(id);
    });
    this.running.set(id, p);
  }

  /** Resolves when no task is running or queued. */
  async idle(): Promise<void> {
    while (this.running.size > 0) await Promise.allSettled([...this.running.values()]);
  }

  busy(id: string): boolean {
    return this.running.has(id);
  }

  /** Cancels running tasks (they are resumed from the state after a restart) and stops timers. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.stopController.abort(new OutpostError('cancelled', 'the agent is stopping'));
    for (const t of this.retryTimers.values()) clearTimeout(t);
    this.retryTimers.clear();
    for (const w of this.waiting.splice(0)) w();
    await Promise.allSettled([...this.running.values(), this.observing]);
  }

  private async slot(): Promise<() => void> {
    while (this.active >= this.d.config.deployments.concurrency) {
      await new Promise<void>((r) => this.waiting.push(r));
      if (this.stopped) throw new OutpostError('cancelled', 'the agent is stopping');
    }
    this.active++;
    return () => {
      this.active--;
      this.waiting.shift()?.();
    };
  }

  private async runTask(id: string): Promise<void> {
    let release: (() => void) | undefined;
    try {
      release = await this.slot();
    } catch {
      return;
    }
    const timeout = AbortSignal.timeout(ms(this.d.config.deployments.timeoutSeconds));
    const signal = AbortSignal.any([timeout, this.stopController.signal]);
    try {
      const rec = this.d.store.get().deployments[id];
      if (!rec) return;
      if (rec.desired) await this.applyDeployment(rec, signal);
      else await this.removeDeployment(rec, signal);
    } catch (e) {
      if (this.stopped) return;
      const timedOut = timeout.aborted;
      const err = timedOut
        ? new OutpostError(
            'timeout',
            `the deployment did not converge within ${this.d.config.deployments.timeoutSeconds} s`,
          )
        : e;
      this.log.error({ deploymentId: id, err: shortMessage(err) }, 'deployment task failed');
      this.failDeployment(id, err);
    } finally {
      release();
    }
  }

  // ---------------------------------------------------------------------------------------------------
  // Reports

  private update(id: string, change: (r: DeploymentRecord) => void): DeploymentRecord | undefined {
    let out: DeploymentRecord | undefined;
    this.d.store.update((s) => {
      const r = s.deployments[id];
      if (!r) return;
      change(r);
      r.updatedAt = this.d.clock.now();
      out = r;
    });
    return out;
  }

  /** Queues a report when it differs from the last one. */
  private report(
    id: string,
    components: ComponentReport[],
    state?: DeploymentState,
    error?: StatusError,
  ): void {
    const rec = this.d.store.get().deployments[id];
    if (!rec) return;
    const body = statusBody(rec, components, state, error);
    if (sameReport(rec.reported, body)) return;
    // Queued (durably) before it is recorded as reported: a crash in between sends it twice, never not at all.
    this.d.report(body);
    this.update(id, (r) => {
      r.reported = {
        state: body.status.state,
        adoptedManifestVersion: body.adoptedManifestVersion,
        components: body.components as ComponentReport[],
        ...(body.status.error ? { error: body.status.error } : {}),
        at: this.d.clock.now(),
      };
    });
    this.log.info(
      { deploymentId: id, state: body.status.state, adoptedManifestVersion: body.adoptedManifestVersion },
      'deployment state',
    );
  }

  private failDeployment(id: string, e: unknown): void {
    const rec = this.d.store.get().deployments[id];
    if (!rec) return;
    const code = e instanceof OutpostError ? e.code : 'agent/internal';
    const message = shortMessage(e);
    const component =
      (e as OutpostError).data && typeof (e as OutpostError).data === 'object'
        ? ((e as OutpostError).data as { component?: string }).component
        : undefined;
    const names = rec.reported?.components.map((c) => c.name) ?? rec.plan?.map((p) => p.component) ?? [];
    const state: DeploymentState = 'failed';
    const components = names.map((n) =>
      n === component || component === undefined
        ? { name: n, state, ...(n === component ? { error: { code, source: n, message } } : {}) }
        : { name: n, state: rec.reported?.components.find((c) => c.name === n)?.state ?? 'pending' },
    ) as ComponentReport[];
    this.report(id, components, 'failed', { code, source: rec.name || id, message });
    this.scheduleRetry(id);
  }

  private scheduleRetry(id: string): void {
    const rec = this.update(id, (r) => {
      r.failures++;
      r.retryAt = this.d.clock.now() + this.retryDelay(r.failures);
    });
    if (!rec?.retryAt || this.stopped) return;
    const wait = Math.max(0, rec.retryAt - this.d.clock.now());
    const t = setTimeout(() => {
      this.retryTimers.delete(id);
      this.kick(id);
    }, wait);
    t.unref?.();
    this.retryTimers.set(id, t);
  }

  private retryDelay(failures: number): number {
    const c = this.d.config.deployments;
    return backoffMs(failures, ms(c.retrySeconds), ms(c.maxRetrySeconds));
  }

  // ---------------------------------------------------------------------------------------------------
  // Apply

  private adapter(kind: RuntimeKind): RuntimeAdapter | undefined {
    return this.d.runtimes.get(kind);
  }

  private parse(rec: DeploymentRecord): ApplicationDeployment {
    const yaml = this.d.store.readYaml(rec.digest);
    if (!yaml)
      throw new OutpostError(
        'agent/state-lost',
        `the verified YAML ${rec.digest} is missing from the agent's desired/ folder`,
      );
    const doc = this.d.parseYaml(yaml, this.d.deviceId);
    if (doc.id !== rec.deploymentId) {
      throw new OutpostError(
        'agent/invalid-deployment',
        `the YAML's id ${doc.id} differs from the manifest's deploymentId ${rec.deploymentId}`,
      );
    }
    const target = doc.metadata.deviceId;
    if (target && target !== this.d.deviceId) {
      // Reserved gateway code 101: we are not a gateway and have no such child device.
      throw new OutpostError(
        '101',
        `the deployment targets device "${target}"; this node is "${this.d.deviceId}" and has no child devices`,
      );
    }
    return doc;
  }

  /** Applies with the task's cache pins, released however the task ends (installed, failed, cancelled). */
  private async applyDeployment(rec: DeploymentRecord, signal: AbortSignal): Promise<void> {
    const pins = new DeploymentPins(() => this.d.plan.cache(), `deployment ${rec.deploymentId}`);
    try {
      await this.applyPinned(rec, signal, pins);
    } finally {
      pins.release();
    }
  }

  private async applyPinned(rec: DeploymentRecord, signal: AbortSignal, pins: DeploymentPins): Promise<void> {
    const id = rec.deploymentId;
    let doc: ApplicationDeployment;
    try {
      doc = this.parse(rec);
    } catch (e) {
      if (rec.name === '') this.update(id, (r) => (r.name = id));
      throw e;
    }
    if (rec.name !== doc.metadata.name) rec = this.update(id, (r) => (r.name = doc.metadata.name))!;
    const names = doc.spec.deploymentProfile.components.map((c) => c.name);

    // Converged already (agent restart, periodic check): leave healthy workloads alone.
    if (rec.appliedDigest === rec.digest && rec.planDigest === rec.digest && rec.plan) {
      const { states, unknown } = await this.observePlan(rec.plan);
      if (unknown) {
        // The runtime cannot be asked now: keep what was reported and look again later.
        this.log.warn(
          { deploymentId: id },
          'the runtime cannot tell the workload states now; checking again later',
        );
        this.scheduleRetry(id);
        return;
      }
      if (states.every((s) => s.state === 'installed')) {
        this.report(id, states);
        this.update(id, (r) => {
          r.failures = 0;
          delete r.retryAt;
        });
        return;
      }
    }

    this.report(
      id,
      names.map((n) => ({ name: n, state: 'installing' })),
      'installing',
    );
    const previous = rec.plan ?? [];
    let plan: PlannedWorkload[] | undefined;
    if (rec.planDigest === rec.digest && rec.plan) {
      // Pinned before the check: what is there now stays there until the task ends.
      await pins.pinPlan(rec.plan);
      if (artifactsPresent(rec.plan)) plan = rec.plan;
    }
    if (!plan) {
      try {
        plan = await planDeployment(doc, this.d.plan, signal, pins);
      } catch (e) {
        if ((e as OutpostError).code === 'oci/digest-mismatch') {
          securityEvent(this.log, 'artifactDigestMismatch', { deploymentId: id, error: shortMessage(e) });
        }
        throw e;
      }
      const p = plan;
      this.update(id, (r) => {
        r.plan = p;
        r.planDigest = r.digest;
      });
    }
    await this.noteCacheFit(id, plan, pins);
    signal.throwIfAborted();

    // Workloads of the previous revision that the new one no longer has (renamed, removed, other runtime).
    const keep = new Set(plan.map((p) => `${p.kind}:${p.spec.workloadId}`));
    for (const w of [...(this.d.store.get().deployments[id]?.workloads ?? [])].reverse()) {
      if (keep.has(`${w.kind}:${w.workloadId}`)) continue;
      await this.adapterFor(w.kind).remove(w.workloadId, { signal });
      this.update(
        id,
        (r) =>
          (r.workloads = r.workloads.filter((x) => !(x.kind === w.kind && x.workloadId === w.workloadId))),
      );
    }

    const force = rec.failures > 0;
    const states: ComponentReport[] = names.map((n) => ({ name: n, state: 'installing' }));
    let failed = false;
    for (const [i, pw] of plan.entries()) {
      signal.throwIfAborted();
      const adapter = this.adapter(pw.kind);
      if (!adapter) {
        states[i] = {
          name: pw.component,
          state: 'failed',
          error: {
            code: 'agent/runtime-unavailable',
            source: pw.component,
            message: `the ${pw.kind} runtime is not available on this node`,
          },
        };
        failed = true;
        break;
      }
      const current = await adapter.status(pw.spec.workloadId).catch(() => undefined);
      let st: WorkloadStatus;
      if (
        current &&
        current.specHash === pw.spec.specHash &&
        isHealthy(current) &&
        !(force && !isHealthy(current))
      ) {
        st = current;
      } else {
        // Recorded before apply: a crash during apply leaves the workload known, so it is never orphaned.
        this.update(id, (r) => {
          if (!r.workloads.some((w) => w.workloadId === pw.spec.workloadId && w.kind === pw.kind))
            r.workloads.push({
              workloadId: pw.spec.workloadId,
              kind: pw.kind,
              component: pw.component,
              specHash: pw.spec.specHash,
            });
          else
            for (const w of r.workloads)
              if (w.workloadId === pw.spec.workloadId) w.specHash = pw.spec.specHash;
        });
        try {
          st = await adapter.apply(pw.spec, {
            signal,
            force: force && current?.specHash === pw.spec.specHash,
          });
          if (pw.wait) st = await this.waitReady(adapter, pw, st, signal);
        } catch (e) {
          if (signal.aborted) throw e;
          if ((e as OutpostError).code === 'runtime/digest-mismatch') {
            securityEvent(this.log, 'artifactDigestMismatch', {
              deploymentId: id,
              component: pw.component,
              error: shortMessage(e),
            });
          }
          states[i] = {
            name: pw.component,
            state: 'failed',
            error: {
              code: (e as OutpostError).code ?? 'runtime/failed',
              source: pw.component,
              message: shortMessage(e),
            },
          };
          failed = true;
          break;
        }
      }
      states[i] = componentFromWorkload(pw.component, st);
      if (states[i]!.state === 'failed') {
        failed = true;
        break;
      }
      if (i < plan.length - 1) this.report(id, states, 'installing');
    }
    if (failed) {
      for (let j = 0; j < states.length; j++)
        if (states[j]!.state === 'installing') states[j] = { name: states[j]!.name, state: 'pending' };
      const bad = states.find((s) => s.state === 'failed');
      this.report(id, states, 'failed', bad?.error ? { ...bad.error, source: doc.metadata.name } : undefined);
      this.scheduleRetry(id);
      return;
    }
    const allInstalled = states.every((s) => s.state === 'installed');
    // Images of the previous revision that no workload uses any more (the engine keeps images in use).
    const images = new Set(plan.map((p) => (isImageArtifact(p.spec.artifact) ? p.spec.artifact.image : '')));
    for (const p of previous) {
      if (isImageArtifact(p.spec.artifact) && !images.has(p.spec.artifact.image))
        await this.d.runtimes.pruneImage(p.spec.artifact.image);
    }
    this.report(id, states);
    this.update(id, (r) => {
      if (allInstalled) r.appliedDigest = r.digest;
      r.failures = 0;
      delete r.retryAt;
    });
  }

  /**
   * A deployment whose artifacts alone exceed the cache limit still installs (its pins hold them, the
   * cache is over its limit until the task ends), but the operator must know: the warning goes to the log
   * and to the deployment's record (`edgectl agent status`), and is cleared once the deployment fits.
   */
  private async noteCacheFit(id: string, plan: PlannedWorkload[], pins: DeploymentPins): Promise<void> {
    const neededBytes = planCacheBytes(plan);
    const maxBytes = neededBytes > 0 ? (await pins.hold()).cache.maxBytes : Infinity;
    const over = neededBytes > maxBytes;
    const known = this.d.store.get().deployments[id]?.cacheOverLimit;
    if (over) {
      this.log.warn(
        { deploymentId: id, neededBytes, maxBytes },
        'the deployment needs more than the whole blob cache (cache.maxBytes): its artifacts stay pinned ' +
          'until it is installed, the cache exceeds its limit meanwhile, and they are downloaded again ' +
          'whenever it is re-applied; raise cache.maxBytes',
      );
      if (known?.neededBytes !== neededBytes || known.maxBytes !== maxBytes)
        this.update(id, (r) => (r.cacheOverLimit = { neededBytes, maxBytes }));
    } else if (known) {
      this.update(id, (r) => delete r.cacheOverLimit);
    }
  }

  private adapterFor(kind: RuntimeKind): RuntimeAdapter {
    const a = this.d.runtimes.all().find((x) => x.kind === kind);
    if (!a)
      throw new OutpostError(
        'agent/runtime-unavailable',
        `the ${kind} runtime is not configured on this node`,
      );
    return a;
  }

  /** Margo `wait`: the component is up (running, or finished with 0) or failed, within its timeout. */
  private async waitReady(
    adapter: RuntimeAdapter,
    pw: PlannedWorkload,
    first: WorkloadStatus,
    signal: AbortSignal,
  ): Promise<WorkloadStatus> {
    let st = first;
    const deadline = this.d.clock.monotonic() + pw.timeoutMs;
    while (isSettling(st) && this.d.clock.monotonic() < deadline) {
      await sleep(200, signal);
      st = await adapter.status(pw.spec.workloadId);
    }
    if (isSettling(st)) {
      return {
        ...st,
        state: 'failed',
        message: `did not come up within ${Math.round(pw.timeoutMs / 1000)} s (${st.state}${st.message ? `: ${st.message}` : ''})`,
      };
    }
    return st;
  }

  /**
   * The components' states as the runtimes report them. `unknown` when a runtime could not be asked
   * (not usable right now, or its status call failed): then nothing is concluded, so a flaky runtime
   * never makes the agent report or re-apply a workload that may be running fine.
   */
  private async observePlan(
    plan: PlannedWorkload[],
  ): Promise<{ states: ComponentReport[]; unknown: boolean }> {
    const states: ComponentReport[] = [];
    let unknown = false;
    for (const pw of plan) {
      const a = this.adapter(pw.kind);
      const st = a ? await a.status(pw.spec.workloadId).catch(() => undefined) : undefined;
      if (!st || st.state === 'unknown') {
        unknown = true;
        states.push({ name: pw.component, state: 'installing' });
        continue;
      }
      if (st.state !== 'removed' && st.specHash !== undefined && st.specHash !== pw.spec.specHash) {
        states.push({ name: pw.component, state: 'installing' });
        continue;
      }
      states.push(componentFromWorkload(pw.component, st));
    }
    return { states, unknown };
  }

  // ---------------------------------------------------------------------------------------------------
  // Remove

  private async removeDeployment(rec: DeploymentRecord, signal: AbortSignal): Promise<void> {
    const id = rec.deploymentId;
    const names = rec.reported?.components.map((c) => c.name) ?? rec.plan?.map((p) => p.component) ?? [];
    const known = new Map(rec.workloads.map((w) => [`${w.kind}:${w.workloadId}`, w]));
    for (const p of rec.plan ?? []) {
      const k = `${p.kind}:${p.spec.workloadId}`;
      if (!known.has(k))
        known.set(k, {
          workloadId: p.spec.workloadId,
          kind: p.kind,
          component: p.component,
          specHash: p.spec.specHash,
        });
    }
    if (rec.reported?.state !== 'removed') {
      this.report(
        id,
        names.map((n) => ({ name: n, state: 'removing' })),
        'removing',
      );
      for (const w of [...known.values()].reverse()) {
        signal.throwIfAborted();
        await this.adapterFor(w.kind).remove(w.workloadId, { signal });
        this.update(
          id,
          (r) =>
            (r.workloads = r.workloads.filter((x) => !(x.kind === w.kind && x.workloadId === w.workloadId))),
        );
      }
      this.report(
        id,
        names.map((n) => ({ name: n, state: 'removed' })),
        'removed',
      );
    }
    this.d.store.update((s) => {
      const r = s.deployments[id];
      // Only if nothing made it desired again while we removed it.
      if (r && !r.desired) delete s.deployments[id];
    });
    this.d.store.pruneYaml(Object.values(this.d.store.get().deployments).map((r) => r.digest));
  }

  // ---------------------------------------------------------------------------------------------------
  // Observe

  /**
   * Checks the workloads of every idle, applied deployment: a change of state is reported; a workload
   * that failed or vanished is applied again (after the retry backoff).
   */
  observe(): Promise<void> {
    if (this.stopped) return Promise.resolve();
    if (this.observing) return this.observing;
    // The pass is kept until it has settled, and forgotten in a callback that always runs later than this
    // assignment: a pass that awaits nothing settles at once, and a `finally` inside it would run before
    // the assignment and leave a settled pass behind for good (issue 19, defect 3).
    const pass = this.observePass().finally(() => {
      if (this.observing === pass) this.observing = undefined;
    });
    this.observing = pass;
    return pass;
  }

  private async observePass(): Promise<void> {
    for (const rec of Object.values(this.d.store.get().deployments)) {
      if (this.stopped) return;
      if (!rec.desired || this.running.has(rec.deploymentId) || this.retryTimers.has(rec.deploymentId))
        continue;
      if (rec.appliedDigest !== rec.digest || rec.planDigest !== rec.digest || !rec.plan) {
        // Never converged and not waiting for a retry (e.g. after a restart): try now.
        if (!rec.retryAt || rec.retryAt <= this.d.clock.now()) this.kick(rec.deploymentId);
        continue;
      }
      const { states, unknown } = await this.observePlan(rec.plan);
      if (unknown) continue;
      this.report(rec.deploymentId, states);
      if (states.some((s) => s.state === 'failed')) {
        this.log.warn(
          { deploymentId: rec.deploymentId, components: states.filter((s) => s.state === 'failed') },
          'a running deployment failed; it will be applied again',
        );
        this.update(rec.deploymentId, (r) => delete r.appliedDigest);
        this.scheduleRetry(rec.deploymentId);
      }
    }
  }

  /**
   * Removes workloads this agent instance created whose deployment it no longer knows (a lost or reset
   * state file): anything not in the adopted state left the manifest.
   */
  async sweepOrphans(): Promise<void> {
    const deployments = this.d.store.get().deployments;
    const known = new Set<string>();
    for (const r of Object.values(deployments)) {
      for (const w of r.workloads) known.add(`${w.kind}:${w.workloadId}`);
      for (const p of r.plan ?? []) known.add(`${p.kind}:${p.spec.workloadId}`);
    }
    for (const a of this.d.runtimes.all()) {
      let list: WorkloadStatus[];
      try {
        list = await a.list();
      } catch {
        continue;
      }
      for (const w of list) {
        const dep = w.workloadId.split('.')[0] ?? '';
        if (known.has(`${a.kind}:${w.workloadId}`) || deployments[dep]) continue;
        this.log.warn(
          { workloadId: w.workloadId, kind: a.kind },
          'removing a workload of a deployment that is no longer desired',
        );
        await a
          .remove(w.workloadId)
          .catch((e: unknown) =>
            this.log.warn({ workloadId: w.workloadId, err: shortMessage(e) }, 'orphan not removed'),
          );
      }
    }
  }
}

/** Whether a plan's local files still exist (the cache may have evicted them). */
function artifactsPresent(plan: PlannedWorkload[]): boolean {
  return plan.every((p) => isImageArtifact(p.spec.artifact) || fs.existsSync(p.spec.artifact.path));
}

function sleep(msec: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) {
      reject(signal.reason as Error);
      return;
    }
    const t = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, msec);
    const onAbort = () => {
      clearTimeout(t);
      reject(signal.reason as Error);
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
