/**
 * Rollout planner: a pure state machine that decides, each time a node status arrives or a timer
 * fires, what the deployment code should do next (ADR 0122).
 *
 * - `createRollout()` validates the strategy and returns a plan (plain JSON; persist it as it is).
 * - `nextStep(plan, observed, now)` returns the next decision and the updated plan. The caller acts
 *   on the decision (writes the desired state of the nodes to dispatch or roll back) and then
 *   persists the returned plan. Calling it again with the same input gives the same decision.
 * - `pauseRollout`, `resumeRollout`, `promoteRollout`, `requestRollback` record operator signals.
 *
 * Invariants: never more than maxUnavailable nodes are in a not-yet-installed (pending, installing,
 * unknown) state of the new revision at once; a canary that fails stops the rollout; when more nodes
 * fail than the failure threshold allows the rollout stops and, with autoRollback, the nodes that
 * took the new revision are returned to the revision they ran before.
 */
import { z } from 'zod';
import { OutpostError, type FieldProblem } from '../../lib/errors/index.js';

export type NodeRolloutState =
  'pending' | 'installing' | 'installed' | 'failed' | 'removing' | 'removed' | 'unknown';

/** What a node reports: its state for `revision` (the revision it runs, or was told to run). */
export interface ObservedNode {
  state: NodeRolloutState;
  revision: string | null;
}
export type ObservedNodes = Record<string, ObservedNode | undefined>;

const percentText = z.string().regex(/^(100|[1-9]?[0-9](\.[0-9]+)?)%$/, 'must be a percentage such as "25%"');

const allAtOnceSchema = z.object({ kind: z.literal('all-at-once') }).strict();
const batchesSchema = z
  .object({
    kind: z.literal('batches'),
    size: z.number().int().positive().optional(),
    percent: z.number().positive().max(100).optional(),
    maxUnavailable: z.union([z.number().int().positive(), percentText]).optional(),
  })
  .strict()
  .refine((s) => !(s.size !== undefined && s.percent !== undefined), {
    message: 'give size or percent, not both',
    path: ['percent'],
  });
const canarySchema = z
  .object({
    kind: z.literal('canary'),
    canary: z.number().int().positive(),
    promote: z.union([z.literal('manual'), z.object({ afterSeconds: z.number().nonnegative() }).strict()]),
    then: z.union([allAtOnceSchema, batchesSchema]),
  })
  .strict();
const strategySchema = z.discriminatedUnion('kind', [allAtOnceSchema, batchesSchema, canarySchema]);

export type AllAtOnceStrategy = z.infer<typeof allAtOnceSchema>;
export type BatchesStrategy = z.infer<typeof batchesSchema>;
export type CanaryStrategy = z.infer<typeof canarySchema>;
export type RolloutStrategy = z.infer<typeof strategySchema>;

const failureThresholdSchema = z.union([z.number().int().nonnegative(), percentText]);

const inputSchema = z
  .object({
    targets: z.array(z.string().min(1)).min(1),
    toRevision: z.string().min(1),
    previousRevisions: z.record(z.string(), z.string().min(1).nullable()).default({}),
    strategy: strategySchema,
    failureThreshold: failureThresholdSchema.default(0),
    autoRollback: z.boolean().default(true),
    installTimeoutSeconds: z.number().positive().nullable().default(null),
    now: z.number().finite(),
  })
  .strict()
  .refine((x) => new Set(x.targets).size === x.targets.length, {
    message: 'must not list a node twice',
    path: ['targets'],
  });

export type CreateRolloutInput = z.input<typeof inputSchema>;

export type RolloutPhase =
  'canary' | 'canary-hold' | 'rolling' | 'rolling-back' | 'complete' | 'failed' | 'rolled-back';

const planSchema = z
  .object({
    version: z.literal(1),
    targets: z.array(z.string().min(1)).min(1),
    toRevision: z.string().min(1),
    previousRevisions: z.record(z.string(), z.string().min(1).nullable()),
    strategy: strategySchema,
    failureThreshold: failureThresholdSchema,
    autoRollback: z.boolean(),
    installTimeoutSeconds: z.number().positive().nullable(),
    phase: z.enum(['canary', 'canary-hold', 'rolling', 'rolling-back', 'complete', 'failed', 'rolled-back']),
    signals: z
      .object({ paused: z.boolean(), promoted: z.boolean(), rollbackRequested: z.boolean() })
      .strict(),
    createdAt: z.number(),
    /** Node uid -> epoch ms when it was told to take the new revision. */
    dispatchedAt: z.record(z.string(), z.number()),
    canaryInstalledAt: z.number().nullable(),
    rollback: z
      .object({
        startedAt: z.number(),
        reason: z.string(),
        nodes: z.array(z.object({ uid: z.string(), revision: z.string() }).strict()),
      })
      .strict()
      .nullable(),
    endedAt: z.number().nullable(),
    /** Why the rollout stopped (failed or rolled back). */
    stopReason: z.string().nullable(),
  })
  .strict();

/** The persisted state of a rollout (plain JSON). */
export type RolloutPlan = z.infer<typeof planSchema>;

export type WaitReason =
  'canary-soak' | 'operator-promote' | 'batch-in-progress' | 'paused' | 'rollback-in-progress';

export type RolloutDecision =
  /** Move these nodes to `revision` now. */
  | { kind: 'dispatch'; nodes: string[]; revision: string }
  /** Nothing to do until a status arrives, the operator acts, or `until` (epoch ms) passes. */
  | { kind: 'wait'; reason: WaitReason; nodes: string[]; until?: number }
  /** Every target runs the new revision, except `failed` (within the threshold). */
  | { kind: 'complete'; failed: string[] }
  /** Stopped without rollback: `failed` nodes failed; `reason` says why. */
  | { kind: 'failed'; reason: string; failed: string[] }
  /** Return these nodes to the revision they ran before (nodes without one are listed in `keep`). */
  | {
      kind: 'rollback';
      reason: string;
      failed: string[];
      nodes: { uid: string; revision: string }[];
      keep: string[];
    }
  /** The rollback is over; `failed` nodes did not get back to their previous revision. */
  | { kind: 'rolled-back'; reason: string; nodes: string[]; failed: string[] };

export interface RolloutProgress {
  total: number;
  installed: number;
  failed: number;
  inProgress: number;
  notStarted: number;
}

export interface RolloutStep {
  plan: RolloutPlan;
  decision: RolloutDecision;
  progress: RolloutProgress;
}

function problemsOf(error: z.ZodError, prefix: string): FieldProblem[] {
  return error.issues.map((i) => ({
    field: [prefix, ...i.path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`))]
      .join('')
      .replace(/^\./, ''),
    message: i.message,
  }));
}

function invalid(problems: FieldProblem[], what: string): OutpostError {
  const first = problems[0]!;
  return new OutpostError(
    'invalid-input',
    `${what}: ${first.field}: ${first.message}${problems.length > 1 ? ` (and ${problems.length - 1} more)` : ''}`,
    { errors: problems },
  );
}

/** Validates the input and returns the initial plan. Throws `invalid-input` naming every bad field. */
export function createRollout(input: CreateRolloutInput): RolloutPlan {
  const parsed = inputSchema.safeParse(input);
  if (!parsed.success) throw invalid(problemsOf(parsed.error, 'rollout'), 'invalid rollout');
  const x = parsed.data;
  return {
    version: 1,
    targets: [...x.targets],
    toRevision: x.toRevision,
    previousRevisions: { ...x.previousRevisions },
    strategy: x.strategy,
    failureThreshold: x.failureThreshold,
    autoRollback: x.autoRollback,
    installTimeoutSeconds: x.installTimeoutSeconds,
    phase: x.strategy.kind === 'canary' ? 'canary' : 'rolling',
    signals: { paused: false, promoted: false, rollbackRequested: false },
    createdAt: x.now,
    dispatchedAt: {},
    canaryInstalledAt: null,
    rollback: null,
    endedAt: null,
    stopReason: null,
  };
}

/** Reads a persisted plan back (e.g. from the database). Throws `invalid-input` when it is not one. */
export function parseRolloutPlan(json: unknown): RolloutPlan {
  const parsed = planSchema.safeParse(json);
  if (!parsed.success) throw invalid(problemsOf(parsed.error, 'plan'), 'invalid rollout plan');
  return parsed.data;
}

export function pauseRollout(plan: RolloutPlan): RolloutPlan {
  return { ...plan, signals: { ...plan.signals, paused: true } };
}

export function resumeRollout(plan: RolloutPlan): RolloutPlan {
  return { ...plan, signals: { ...plan.signals, paused: false } };
}

/** Operator promotion of the canary: skips the soak time or the manual approval (the canary must still install). */
export function promoteRollout(plan: RolloutPlan): RolloutPlan {
  return { ...plan, signals: { ...plan.signals, promoted: true } };
}

/** Operator-requested rollback: the next step returns the nodes that took the new revision (even without autoRollback). */
export function requestRollback(plan: RolloutPlan): RolloutPlan {
  return { ...plan, signals: { ...plan.signals, rollbackRequested: true } };
}

/**
 * The operator's retry of a stopped rollout (issue 12, ADR 0501): once the failure is gone, the rollout
 * resumes from the step where it stopped. Allowed for `failed` and `rolled-back` rollouts whose nodes no
 * longer report `failed` on the new revision. Nodes that failed by the install timeout are told again (their
 * clock starts over); nodes that were rolled back take the new revision again in their turn. Throws
 * `conflict` naming what still stands in the way.
 */
export function retryRollout(plan: RolloutPlan, observed: ObservedNodes, now: number): RolloutPlan {
  if (plan.phase !== 'failed' && plan.phase !== 'rolled-back')
    throw new OutpostError(
      'conflict',
      plan.phase === 'rolling-back'
        ? 'the rollout is rolling back; retry once it has rolled back'
        : `the rollout is ${plan.phase}, not stopped by a failure: nothing to retry`,
    );
  const still = plan.targets.filter((uid) => {
    const o = observed[uid];
    return o?.revision === plan.toRevision && o.state === 'failed';
  });
  if (still.length > 0)
    throw new OutpostError(
      'conflict',
      `${still.length} node(s) still report failed on revision ${plan.toRevision} (${still.slice(0, 5).join(', ')}${still.length > 5 ? ', ...' : ''}): repair them first, or update or remove the deployment`,
      { data: { failed: still } },
    );
  const dispatchedAt = { ...plan.dispatchedAt };
  const rolledBack = new Set((plan.rollback?.nodes ?? []).map((n) => n.uid));
  for (const uid of plan.targets) {
    if (rolledBack.has(uid)) delete dispatchedAt[uid];
    else if (dispatchedAt[uid] !== undefined) {
      const o = observed[uid];
      // Told but not (yet) installed: its install clock starts over.
      if (!(o?.revision === plan.toRevision && o.state === 'installed')) dispatchedAt[uid] = now;
    }
  }
  // A canary that was rolled back must install again before the rollout goes on.
  const canaryInstalledAt = plan.rollback !== null ? null : plan.canaryInstalledAt;
  const canary = plan.strategy.kind === 'canary';
  const phase: RolloutPhase =
    canary && canaryInstalledAt === null
      ? 'canary'
      : canary && !plan.signals.promoted
        ? 'canary-hold'
        : 'rolling';
  return {
    ...plan,
    phase,
    dispatchedAt,
    canaryInstalledAt,
    signals: { ...plan.signals, paused: false, rollbackRequested: false },
    rollback: null,
    endedAt: null,
    stopReason: null,
  };
}

// ---------- sizes ----------

function ofTotal(value: number | string, total: number, round: (x: number) => number): number {
  if (typeof value === 'number') return value;
  return round((Number.parseFloat(value) / 100) * total);
}

/** Failures tolerated before the rollout stops (a count, or a percentage of the targets rounded down). */
export function toleratedFailures(plan: Pick<RolloutPlan, 'failureThreshold' | 'targets'>): number {
  return ofTotal(plan.failureThreshold, plan.targets.length, Math.floor);
}

function rollingStrategy(plan: RolloutPlan): AllAtOnceStrategy | BatchesStrategy {
  return plan.strategy.kind === 'canary' ? plan.strategy.then : plan.strategy;
}

/** Max nodes in flight at once (Infinity for all-at-once). */
export function maxUnavailableOf(plan: RolloutPlan): number {
  const s = rollingStrategy(plan);
  if (s.kind === 'all-at-once') return Number.POSITIVE_INFINITY;
  const total = plan.targets.length;
  if (s.maxUnavailable !== undefined) return Math.max(1, ofTotal(s.maxUnavailable, total, Math.floor));
  return batchSizeRaw(s, total);
}

function batchSizeRaw(s: BatchesStrategy, total: number): number {
  if (s.size !== undefined) return s.size;
  if (s.percent !== undefined) return Math.max(1, Math.ceil((s.percent / 100) * total));
  if (s.maxUnavailable !== undefined) return Math.max(1, ofTotal(s.maxUnavailable, total, Math.floor));
  return 1;
}

/** Nodes dispatched together (never more than maxUnavailable). */
export function batchSizeOf(plan: RolloutPlan): number {
  const s = rollingStrategy(plan);
  if (s.kind === 'all-at-once') return plan.targets.length;
  return Math.min(batchSizeRaw(s, plan.targets.length), maxUnavailableOf(plan));
}

function canaryCount(plan: RolloutPlan): number {
  return plan.strategy.kind === 'canary' ? Math.min(plan.strategy.canary, plan.targets.length) : 0;
}

// ---------- classification ----------

type Status = 'not-started' | 'in-progress' | 'installed' | 'failed';

function classify(plan: RolloutPlan, observed: ObservedNodes, now: number): Map<string, Status> {
  const out = new Map<string, Status>();
  const timeout = plan.installTimeoutSeconds === null ? null : plan.installTimeoutSeconds * 1000;
  for (const uid of plan.targets) {
    const o = observed[uid];
    const onNew = o?.revision === plan.toRevision;
    const at = plan.dispatchedAt[uid];
    if (at === undefined && !onNew) {
      out.set(uid, 'not-started');
      continue;
    }
    if (onNew && o.state === 'installed') out.set(uid, 'installed');
    else if (onNew && o.state === 'failed') out.set(uid, 'failed');
    else if (timeout !== null && at !== undefined && now - at >= timeout) out.set(uid, 'failed');
    else out.set(uid, 'in-progress');
  }
  return out;
}

function progressOf(status: Map<string, Status>): RolloutProgress {
  const p: RolloutProgress = { total: status.size, installed: 0, failed: 0, inProgress: 0, notStarted: 0 };
  for (const s of status.values()) {
    if (s === 'installed') p.installed++;
    else if (s === 'failed') p.failed++;
    else if (s === 'in-progress') p.inProgress++;
    else p.notStarted++;
  }
  return p;
}

function withStatus(status: Map<string, Status>, wanted: Status, among: readonly string[]): string[] {
  return among.filter((uid) => status.get(uid) === wanted);
}

// ---------- the step ----------

/**
 * With an install timeout, a wait on nodes in flight ends when the first of them runs out of time, so
 * the caller looks again then (a node that never reports must still count as failed).
 */
function withDeadline(p: RolloutPlan, d: RolloutDecision): RolloutDecision {
  if (d.kind !== 'wait' || d.until !== undefined || p.installTimeoutSeconds === null) return d;
  const ms = p.installTimeoutSeconds * 1000;
  let until: number | undefined;
  if (d.reason === 'rollback-in-progress' && p.rollback) until = p.rollback.startedAt + ms;
  else if (d.reason === 'batch-in-progress' || d.reason === 'paused')
    for (const uid of d.nodes) {
      const at = p.dispatchedAt[uid];
      if (at !== undefined && (until === undefined || at + ms < until)) until = at + ms;
    }
  return until === undefined ? d : { ...d, until };
}

/**
 * The next decision for the rollout. Pure: the same plan, observation and time give the same result.
 * Act on `decision`, then persist `plan`.
 */
export function nextStep(plan: RolloutPlan, observed: ObservedNodes, now: number): RolloutStep {
  let p: RolloutPlan = { ...plan, dispatchedAt: { ...plan.dispatchedAt }, signals: { ...plan.signals } };
  const status = classify(p, observed, now);
  const progress = progressOf(status);
  const done = (decision: RolloutDecision): RolloutStep => ({
    plan: p,
    decision: withDeadline(p, decision),
    progress,
  });
  const failedNodes = () => withStatus(status, 'failed', p.targets);

  // Stops the rollout: rolls back the nodes that took the new revision when wanted, else fails.
  const stop = (reason: string): RolloutStep => {
    const failed = failedNodes();
    const rollbackWanted = p.autoRollback || p.signals.rollbackRequested;
    // The nodes that took the new revision: dispatched by this plan, or reporting it.
    const took = p.targets.filter((uid) => status.get(uid) !== 'not-started');
    const nodes = took
      .filter((uid) => typeof p.previousRevisions[uid] === 'string')
      .map((uid) => ({ uid, revision: p.previousRevisions[uid]! }));
    const keep = took.filter((uid) => typeof p.previousRevisions[uid] !== 'string');
    if (rollbackWanted && nodes.length > 0) {
      p = { ...p, phase: 'rolling-back', rollback: { startedAt: now, reason, nodes }, stopReason: reason };
      return done({ kind: 'rollback', reason, failed, nodes, keep });
    }
    p = { ...p, phase: 'failed', endedAt: now, stopReason: reason };
    return done({ kind: 'failed', reason, failed });
  };

  for (let guard = 0; guard < 8; guard++) {
    switch (p.phase) {
      case 'complete':
        return done({ kind: 'complete', failed: failedNodes() });
      case 'failed':
        if (p.signals.rollbackRequested && p.rollback === null)
          return stop(p.stopReason ?? 'the operator requested a rollback');
        return done({ kind: 'failed', reason: p.stopReason ?? 'failed', failed: failedNodes() });
      case 'rolled-back':
      case 'rolling-back': {
        const rb = p.rollback!;
        const timeout = p.installTimeoutSeconds === null ? null : p.installTimeoutSeconds * 1000;
        const back: string[] = [];
        const failed: string[] = [];
        const waiting: string[] = [];
        for (const n of rb.nodes) {
          const o = observed[n.uid];
          if (o?.revision === n.revision && o.state === 'installed') back.push(n.uid);
          else if (o?.revision === n.revision && o.state === 'failed') failed.push(n.uid);
          else if (timeout !== null && now - rb.startedAt >= timeout) failed.push(n.uid);
          else waiting.push(n.uid);
        }
        if (waiting.length > 0 && p.phase === 'rolling-back')
          return done({ kind: 'wait', reason: 'rollback-in-progress', nodes: waiting });
        if (p.phase === 'rolling-back') p = { ...p, phase: 'rolled-back', endedAt: now };
        return done({ kind: 'rolled-back', reason: rb.reason, nodes: rb.nodes.map((n) => n.uid), failed });
      }
      case 'canary':
      case 'canary-hold':
      case 'rolling': {
        if (p.signals.rollbackRequested) return stop('the operator requested a rollback');
        const canary = p.targets.slice(0, canaryCount(p));
        if (p.phase !== 'rolling') {
          const bad = withStatus(status, 'failed', canary);
          if (bad.length > 0) return stop(`canary failed on ${bad.join(', ')}`);
        }
        const failed = failedNodes();
        const tolerated = toleratedFailures(p);
        if (failed.length > tolerated)
          return stop(
            `${failed.length} node(s) failed, more than the ${tolerated} the failure threshold allows`,
          );

        const inFlight = withStatus(status, 'in-progress', p.targets);
        const maxUnavailable = maxUnavailableOf(p);

        if (p.phase === 'canary') {
          if (canary.every((uid) => status.get(uid) === 'installed')) {
            p = { ...p, phase: 'canary-hold', canaryInstalledAt: now };
            continue;
          }
          if (p.signals.paused) return done({ kind: 'wait', reason: 'paused', nodes: inFlight });
          const notStarted = withStatus(status, 'not-started', canary);
          if (notStarted.length === 0 || inFlight.length >= maxUnavailable)
            return done({ kind: 'wait', reason: 'batch-in-progress', nodes: inFlight });
          return dispatch(notStarted.slice(0, Math.min(notStarted.length, maxUnavailable - inFlight.length)));
        }

        if (p.phase === 'canary-hold') {
          if (p.signals.promoted) {
            p = { ...p, phase: 'rolling' };
            continue;
          }
          if (p.signals.paused) return done({ kind: 'wait', reason: 'paused', nodes: [] });
          const promote = (p.strategy as CanaryStrategy).promote;
          if (promote === 'manual') return done({ kind: 'wait', reason: 'operator-promote', nodes: canary });
          const until = (p.canaryInstalledAt ?? now) + promote.afterSeconds * 1000;
          if (now < until) return done({ kind: 'wait', reason: 'canary-soak', nodes: canary, until });
          p = { ...p, phase: 'rolling' };
          continue;
        }

        // rolling
        const remaining = withStatus(status, 'not-started', p.targets);
        if (remaining.length === 0) {
          if (inFlight.length > 0)
            return done({ kind: 'wait', reason: 'batch-in-progress', nodes: inFlight });
          p = { ...p, phase: 'complete', endedAt: now };
          return done({ kind: 'complete', failed });
        }
        if (p.signals.paused) return done({ kind: 'wait', reason: 'paused', nodes: inFlight });
        const next = remaining.slice(0, batchSizeOf(p));
        if (inFlight.length + next.length > maxUnavailable)
          return done({ kind: 'wait', reason: 'batch-in-progress', nodes: inFlight });
        return dispatch(next);
      }
    }
  }
  throw new OutpostError('internal', `rollout: no decision after several phase changes (phase ${p.phase})`);

  function dispatch(nodes: string[]): RolloutStep {
    for (const uid of nodes) p.dispatchedAt[uid] = now;
    for (const uid of nodes) status.set(uid, 'in-progress');
    return {
      plan: p,
      decision: { kind: 'dispatch', nodes, revision: p.toRevision },
      progress: progressOf(status),
    };
  }
}
