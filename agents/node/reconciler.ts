import fs from 'node:fs';
import { OutpostError } from '../../lib/errors/index.js';
import type { Clock } from '../../lib/base/index.js';
import type { Logger } from '../../lib/log/index.js';
import type { ApplicationDeployment, DeploymentState, DeploymentStatus } from '../../lib/model/index.js';
import {
  BUILTIN_RUNTIMES,
  isImageArtifact,
  runtimeDefinition,
  type RestartTiming,
  type RuntimeAdapter,
  type RuntimeDefinition,
  type RuntimeSet,
  type WorkloadStatus,
} from '../runtimes/index.js';
import { ms, type AgentConfig } from './config.js';
import { DeploymentPins, planCacheBytes } from './pins.js';
import { planDeployment, type PlanDeps } from './plan.js';
import { judge, restarted, type Judgement, type RestartRecord } from './restart-policy.js';
import { backoffMs } from './schedule.js';
import { securityEvent } from './security.js';
import type { ComponentReport, DeploymentRecord, PlannedWorkload, StateStore, StatusError } from './state.js';
import { isHealthy, isSettling, sameReport, shortMessage, statusBody } from './status.js';

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
 *   failed one is retried with exponential backoff;
 * - `check()` (called by the observation module, agents/node/modules/observation.ts) looks at the
 *   workloads of an applied deployment: every change of state is reported, and a workload that stopped
 *   is started again as the restart policy says (restart-policy.ts, ADR 0207): `failed` with the exit
 *   and its time, then `installing` and `installed` as the repair goes.
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
  /** The restart backoff (default from `config.deployments`). */
  restart?: RestartTiming;
  /** The registered runtimes (default: agents/runtimes/registry.ts). */
  definitions?: readonly RuntimeDefinition[];
  /** Whether a child device id (`<deviceId>/<mcu>`) is one of this host's (its MCUs, ADR 0441). */
  hasChild?: (deviceId: string) => boolean;
}

/** The agent's restart backoff from agent.yaml (`deployments.restartSeconds` ...). */
export function restartTiming(config: AgentConfig): RestartTiming {
  const d = config.deployments;
  return {
    firstDelayMs: ms(d.restartSeconds),
    maxDelayMs: ms(d.maxRestartSeconds),
    healthyAfterMs: ms(d.healthySeconds),
  };
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
  private readonly timing: RestartTiming;

  constructor(private readonly d: ReconcilerDeps) {
    this.log = d.logger.child({ component: 'agent-reconcile' });
    this.timing = d.restart ?? restartTiming(d.config);
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

  /** Whether a retry or a restart of the deployment is scheduled. */
  scheduled(id: string): boolean {
    return this.retryTimers.has(id);
  }

  /** Cancels running tasks (they are resumed from the state after a restart) and stops timers. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.stopController.abort(new OutpostError('cancelled', 'the agent is stopping'));
    for (const t of this.retryTimers.values()) clearTimeout(t);
    this.retryTimers.clear();
    for (const w of this.waiting.splice(0)) w();
    await Promise.allSettled([...this.running.values()]);
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
    if (rec?.retryAt) this.runAt(id, rec.retryAt);
  }

  /** Runs the deployment's task at `at` (a restart the policy made due, or a retry). */
  private runAt(id: string, at: number): void {
    if (this.stopped) return;
    const old = this.retryTimers.get(id);
    if (old) clearTimeout(old);
    const t = setTimeout(
      () => {
        this.retryTimers.delete(id);
        this.kick(id);
      },
      Math.max(0, at - this.d.clock.now()),
    );
    t.unref?.();
    this.retryTimers.set(id, t);
  }

  private retryDelay(failures: number): number {
    const c = this.d.config.deployments;
    return backoffMs(failures, ms(c.retrySeconds), ms(c.maxRetrySeconds));
  }

  // ---------------------------------------------------------------------------------------------------
  // Apply

  private adapter(kind: string): RuntimeAdapter | undefined {
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
    if (target && target !== this.d.deviceId && target.startsWith(`${this.d.deviceId}/`)) {
      if (!this.d.hasChild?.(target))
        throw new OutpostError(
          '101',
          `the deployment targets device "${target}", and this host has no such child device (agent.yaml mcus)`,
        );
      if (rec.deviceId !== target) this.update(rec.deploymentId, (r) => (r.deviceId = target));
    } else if (target && target !== this.d.deviceId) {
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

    // Applied already (agent restart, a restart the policy made due, an explicit kick): healthy workloads
    // are left alone, and only what stopped is started again.
    let judged: Map<string, Judgement> | undefined;
    const applied = rec.appliedDigest === rec.digest || pendingRestart(rec);
    const appliedPlan = rec.planDigest === rec.digest ? rec.plan : undefined;
    if (appliedPlan && applied) {
      const j = await this.judgePlan(rec, appliedPlan);
      if (j.unknown) {
        // The runtime cannot be asked now: keep what was reported and look again later.
        this.log.warn(
          { deploymentId: id },
          'the runtime cannot tell the workload states now; checking again later',
        );
        this.scheduleRetry(id);
        return;
      }
      rec = this.saveRestarts(id, appliedPlan, j.judged) ?? rec;
      if (rec.appliedDigest === rec.digest && !j.judged.some((x) => needsApply(x))) {
        this.reportJudged(rec, j.judged);
        this.update(id, (r) => {
          r.failures = 0;
          delete r.retryAt;
        });
        return;
      }
      // What stopped is reported before it is started again (with the time of its exit, or of its
      // notice): also when the agent starts over workloads that died while it was down.
      this.reportJudged(rec, j.judged);
      judged = new Map(appliedPlan.map((pw, i) => [pw.component, j.judged[i]!]));
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
    /** Why the loop stopped: an apply that threw (retried with backoff), or a workload that stopped. */
    let failed: 'error' | 'stopped' | undefined;
    let restartAt: number | undefined;
    let inPlace = true;
    let last = -1;
    for (const [i, pw] of plan.entries()) {
      signal.throwIfAborted();
      last = i;
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
        failed = 'error';
        break;
      }
      const current = await adapter.status(pw.spec.workloadId).catch(() => undefined);
      const before = judged?.get(pw.component);
      const same = current !== undefined && current.specHash === pw.spec.specHash;
      let st: WorkloadStatus;
      let record = this.d.store.get().deployments[id]?.restarts?.[pw.component];
      // Kept as it is: healthy, or (when repairing) coming up, restarted by its runtime, or down for good.
      const kept = same && (isHealthy(current) || (before !== undefined && !needsApply(before)));
      if (kept) {
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
          if (before?.action === 'restart' && before.record) {
            record = restarted(before.record);
            this.log.info(
              { deploymentId: id, component: pw.component, restarts: record.restarts },
              'workload started again',
            );
          }
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
          failed = 'error';
          break;
        }
      }
      const j = this.judgeOne(pw, st, record);
      this.saveRestarts(id, [pw], [j]);
      states[i] = j.report;
      if (!isHealthy(st)) inPlace = false;
      // A workload that stopped after this apply ends the task; one kept down for good (its policy) is
      // reported and the rest of the deployment still repaired.
      if (j.action === 'restart' || (j.action === 'final' && !kept)) {
        failed = 'stopped';
        if (j.action === 'restart') restartAt = j.record?.dueAt;
        break;
      }
      if (i < plan.length - 1) this.report(id, states, 'installing');
    }
    if (failed) {
      // What the loop did not reach: as it is, when it runs with this spec; else not started yet.
      for (let j = last + 1; j < plan.length; j++) {
        const pw = plan[j]!;
        const cur = await this.adapter(pw.kind)
          ?.status(pw.spec.workloadId)
          .catch(() => undefined);
        states[j] =
          cur && cur.specHash === pw.spec.specHash && isHealthy(cur)
            ? { name: pw.component, state: 'installed' }
            : { name: pw.component, state: 'pending' };
      }
      for (let j = 0; j < states.length; j++)
        if (states[j]!.state === 'installing') states[j] = { name: states[j]!.name, state: 'pending' };
      const bad = states.find((s) => s.state === 'failed');
      this.report(id, states, 'failed', bad?.error ? { ...bad.error, source: doc.metadata.name } : undefined);
      if (failed === 'error' || (restartAt === undefined && !judged)) this.scheduleRetry(id);
      else if (restartAt !== undefined) this.runAt(id, restartAt);
      return;
    }
    // Images of the previous revision that no workload uses any more (the engine keeps images in use).
    const images = new Set(plan.map((p) => (isImageArtifact(p.spec.artifact) ? p.spec.artifact.image : '')));
    for (const p of previous) {
      if (isImageArtifact(p.spec.artifact) && !images.has(p.spec.artifact.image))
        await this.d.runtimes.pruneImage(p.spec.artifact.image);
    }
    const down = states.find((st) => st.state === 'failed');
    if (down?.error) this.report(id, states, 'failed', { ...down.error, source: doc.metadata.name });
    else this.report(id, states);
    this.update(id, (r) => {
      if (inPlace) r.appliedDigest = r.digest;
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

  private adapterFor(kind: string): RuntimeAdapter {
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

  private supervises(kind: string): boolean {
    return runtimeDefinition(kind, this.d.definitions ?? BUILTIN_RUNTIMES)?.supervises ?? false;
  }

  /** One workload's state judged by the restart policy (restart-policy.ts). */
  private judgeOne(pw: PlannedWorkload, st: WorkloadStatus, record: RestartRecord | undefined): Judgement {
    return judge({
      component: pw.component,
      specHash: pw.spec.specHash,
      status: st,
      policy: pw.spec.restart?.policy ?? 'on-failure',
      ...(pw.spec.restart?.maxRestarts !== undefined ? { maxRestarts: pw.spec.restart.maxRestarts } : {}),
      supervises: this.supervises(pw.kind),
      record,
      now: this.d.clock.now(),
      timing: this.timing,
    });
  }

  /**
   * The workloads of a plan as the runtimes report them, judged. `unknown` when a runtime could not be
   * asked (not usable right now, or its status call failed): then nothing is concluded, so a flaky
   * runtime never makes the agent report or re-apply a workload that may be running fine. A workload of
   * another spec than the plan's (changed under the agent) is applied again.
   */
  private async judgePlan(
    rec: DeploymentRecord,
    plan: PlannedWorkload[],
  ): Promise<{ judged: Judgement[]; unknown: boolean }> {
    const judged: Judgement[] = [];
    let unknown = false;
    for (const pw of plan) {
      const a = this.adapter(pw.kind);
      const st = a ? await a.status(pw.spec.workloadId).catch(() => undefined) : undefined;
      const record = rec.restarts?.[pw.component];
      if (!st || st.state === 'unknown') {
        unknown = true;
        judged.push({ action: 'unknown', report: { name: pw.component, state: 'installing' }, record });
      } else if (st.state !== 'removed' && st.specHash !== undefined && st.specHash !== pw.spec.specHash) {
        judged.push({ action: 'apply', report: { name: pw.component, state: 'installing' }, record });
      } else judged.push(this.judgeOne(pw, st, record));
    }
    return { judged, unknown };
  }

  /**
   * Reports judged components; a failed deployment carries its first failed component's error with the
   * deployment as its source, as the task's own failure report does (so equal states give equal reports).
   */
  private reportJudged(rec: DeploymentRecord, judged: readonly Judgement[]): void {
    const components = judged.map((j) => j.report);
    const bad = components.find((c) => c.state === 'failed');
    if (bad?.error)
      this.report(rec.deploymentId, components, 'failed', {
        ...bad.error,
        source: rec.name || rec.deploymentId,
      });
    else this.report(rec.deploymentId, components);
  }

  /** Stores the restart records the judgements updated (only when they changed). */
  private saveRestarts(
    id: string,
    plan: readonly PlannedWorkload[],
    judged: readonly Judgement[],
  ): DeploymentRecord | undefined {
    const rec = this.d.store.get().deployments[id];
    if (!rec) return undefined;
    const next: Record<string, RestartRecord> = { ...rec.restarts };
    plan.forEach((pw, i) => {
      const r = judged[i]?.record;
      if (r) next[pw.component] = r;
      else delete next[pw.component];
    });
    if (JSON.stringify(next) === JSON.stringify(rec.restarts ?? {})) return rec;
    return this.update(id, (r) => {
      if (Object.keys(next).length) r.restarts = next;
      else delete r.restarts;
    });
  }

  /**
   * Looks at the workloads of an idle, applied deployment (the observation module calls it): a change of
   * state is reported, and a workload that stopped is started again when its restart is due.
   */
  async check(id: string): Promise<void> {
    const rec = this.d.store.get().deployments[id];
    if (this.stopped || !rec?.desired || !rec.plan || this.running.has(id) || this.retryTimers.has(id))
      return;
    const { judged, unknown } = await this.judgePlan(rec, rec.plan);
    if (unknown || this.stopped || this.running.has(id)) return;
    // A new revision adopted while the runtimes were asked: what was judged is the old plan's workloads,
    // and a report would carry the new manifest version (report() takes the record as it is now), telling
    // the LO the new revision is installed while the old one runs. Its task reports instead.
    const cur = this.d.store.get().deployments[id];
    if (
      !cur?.desired ||
      cur.digest !== rec.digest ||
      cur.planDigest !== rec.planDigest ||
      cur.adoptedManifestVersion !== rec.adoptedManifestVersion
    )
      return;
    this.saveRestarts(id, rec.plan, judged);
    this.reportJudged(rec, judged);
    const due = judged.filter((j) => needsApply(j));
    if (due.length === 0) return;
    const now = this.d.clock.now();
    const at = Math.min(...due.map((j) => (j.action === 'restart' ? (j.record?.dueAt ?? now) : now)));
    this.log.warn(
      {
        deploymentId: id,
        components: due.map((j) => j.report),
        restartInMs: Math.max(0, at - now),
      },
      'a workload stopped; it will be started again',
    );
    this.runAt(id, at);
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

/** Whether the judgement asks for the workload to be applied (started again, or made anew). */
function needsApply(j: Judgement): boolean {
  return j.action === 'restart' || j.action === 'apply';
}

/** A restart the policy made due and the agent did not make yet. */
function pendingRestart(rec: DeploymentRecord): boolean {
  return Object.values(rec.restarts ?? {}).some((r) => r.dueAt !== undefined);
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
