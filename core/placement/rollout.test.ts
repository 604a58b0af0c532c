import { describe, expect, it } from 'vitest';
import { OutpostError } from '../../lib/errors/index.js';
import {
  batchSizeOf,
  createRollout,
  maxUnavailableOf,
  nextStep,
  parseRolloutPlan,
  pauseRollout,
  promoteRollout,
  requestRollback,
  resumeRollout,
  retryRollout,
  toleratedFailures,
  type CreateRolloutInput,
  type NodeRolloutState,
  type ObservedNodes,
  type RolloutPlan,
  type RolloutStep,
} from './rollout.js';

const T0 = Date.UTC(2026, 0, 1);
const uids = (n: number) => Array.from({ length: n }, (_, i) => `n${i + 1}`);

function plan(over: Partial<CreateRolloutInput> = {}): RolloutPlan {
  const targets = over.targets ?? uids(5);
  return createRollout({
    targets,
    toRevision: '2.0.0',
    previousRevisions: Object.fromEntries(targets.map((u) => [u, '1.0.0'])),
    strategy: { kind: 'all-at-once' },
    now: T0,
    ...over,
  });
}

/** A tiny fleet: what each node reports. */
class Fleet {
  observed: ObservedNodes = {};
  constructor(targets: string[], revision: string | null = '1.0.0') {
    for (const u of targets) this.observed[u] = { state: 'installed', revision };
  }
  set(uids: string[], state: NodeRolloutState, revision = '2.0.0') {
    for (const u of uids) this.observed[u] = { state, revision };
  }
}

/** Calls nextStep and "persists" the plan, as the deployment code would. */
function step(ref: { plan: RolloutPlan }, fleet: Fleet, now: number): RolloutStep {
  const s = nextStep(ref.plan, fleet.observed, now);
  ref.plan = parseRolloutPlan(JSON.parse(JSON.stringify(s.plan)));
  if (s.decision.kind === 'dispatch') fleet.set(s.decision.nodes, 'pending');
  return s;
}

function errorOf(fn: () => unknown): OutpostError {
  try {
    fn();
  } catch (err) {
    if (err instanceof OutpostError) return err;
    throw err;
  }
  throw new Error('expected an OutpostError');
}

describe('all at once', () => {
  it('dispatches every node, waits, then completes', () => {
    const ref = { plan: plan() };
    const fleet = new Fleet(ref.plan.targets);
    expect(step(ref, fleet, T0).decision).toEqual({ kind: 'dispatch', nodes: uids(5), revision: '2.0.0' });
    const wait = step(ref, fleet, T0 + 1);
    expect(wait.decision).toEqual({ kind: 'wait', reason: 'batch-in-progress', nodes: uids(5) });
    expect(wait.progress).toEqual({ total: 5, installed: 0, failed: 0, inProgress: 5, notStarted: 0 });
    fleet.set(uids(5), 'installed');
    expect(step(ref, fleet, T0 + 2).decision).toEqual({ kind: 'complete', failed: [] });
    expect(ref.plan.phase).toBe('complete');
    expect(ref.plan.endedAt).toBe(T0 + 2);
    // Terminal and idempotent.
    expect(step(ref, fleet, T0 + 3).decision).toEqual({ kind: 'complete', failed: [] });
  });

  it('does not dispatch a node that already runs the new revision', () => {
    const ref = { plan: plan({ targets: ['a', 'b'] }) };
    const fleet = new Fleet(['a', 'b']);
    fleet.set(['a'], 'installed');
    expect(step(ref, fleet, T0).decision).toEqual({ kind: 'dispatch', nodes: ['b'], revision: '2.0.0' });
  });

  it('gives the same decision when called twice with the same plan, and never re-dispatches', () => {
    const p = plan();
    const fleet = new Fleet(p.targets);
    const a = nextStep(p, fleet.observed, T0);
    const b = nextStep(p, fleet.observed, T0);
    expect(b).toEqual(a);
    const again = nextStep(a.plan, fleet.observed, T0 + 1);
    expect(again.decision.kind).toBe('wait');
  });
});

describe('batches', () => {
  it('moves one batch at a time by size', () => {
    const ref = { plan: plan({ strategy: { kind: 'batches', size: 2 } }) };
    const fleet = new Fleet(ref.plan.targets);
    expect(step(ref, fleet, T0).decision).toMatchObject({ kind: 'dispatch', nodes: ['n1', 'n2'] });
    fleet.set(['n1'], 'installed');
    expect(step(ref, fleet, T0 + 1).decision).toEqual({
      kind: 'wait',
      reason: 'batch-in-progress',
      nodes: ['n2'],
    });
    fleet.set(['n2'], 'installed');
    expect(step(ref, fleet, T0 + 2).decision).toMatchObject({ kind: 'dispatch', nodes: ['n3', 'n4'] });
    fleet.set(['n3', 'n4'], 'installed');
    expect(step(ref, fleet, T0 + 3).decision).toMatchObject({ kind: 'dispatch', nodes: ['n5'] });
    fleet.set(['n5'], 'installed');
    expect(step(ref, fleet, T0 + 4).decision).toEqual({ kind: 'complete', failed: [] });
  });

  it('sizes batches by percent (rounded up) and caps them by maxUnavailable', () => {
    expect(batchSizeOf(plan({ targets: uids(5), strategy: { kind: 'batches', percent: 30 } }))).toBe(2);
    expect(
      batchSizeOf(plan({ targets: uids(10), strategy: { kind: 'batches', size: 5, maxUnavailable: 3 } })),
    ).toBe(3);
    expect(
      maxUnavailableOf(plan({ targets: uids(10), strategy: { kind: 'batches', maxUnavailable: '25%' } })),
    ).toBe(2);
    expect(
      batchSizeOf(plan({ targets: uids(10), strategy: { kind: 'batches', maxUnavailable: '25%' } })),
    ).toBe(2);
    expect(
      maxUnavailableOf(plan({ targets: uids(3), strategy: { kind: 'batches', maxUnavailable: '10%' } })),
    ).toBe(1);
    expect(batchSizeOf(plan({ targets: uids(4), strategy: { kind: 'batches' } }))).toBe(1);
  });

  it('starts the next batch while one is in flight when maxUnavailable allows', () => {
    const ref = {
      plan: plan({ targets: uids(6), strategy: { kind: 'batches', size: 2, maxUnavailable: 4 } }),
    };
    const fleet = new Fleet(ref.plan.targets);
    expect(step(ref, fleet, T0).decision).toMatchObject({ nodes: ['n1', 'n2'] });
    expect(step(ref, fleet, T0 + 1).decision).toMatchObject({ nodes: ['n3', 'n4'] });
    expect(step(ref, fleet, T0 + 2).decision).toMatchObject({ kind: 'wait', reason: 'batch-in-progress' });
    fleet.set(['n1'], 'installed');
    expect(step(ref, fleet, T0 + 3).decision).toMatchObject({ kind: 'wait' });
    fleet.set(['n2'], 'installed');
    expect(step(ref, fleet, T0 + 4).decision).toMatchObject({ nodes: ['n5', 'n6'] });
  });

  it('continues past failures within the threshold, then stops and rolls back the nodes that took the update', () => {
    const ref = {
      plan: plan({
        targets: ['a', 'b', 'c', 'd', 'fresh'],
        previousRevisions: { a: '1.0.0', b: '1.0.0', c: '1.0.0', d: '1.0.0', fresh: null },
        strategy: { kind: 'batches', size: 2 },
        failureThreshold: 1,
      }),
    };
    const fleet = new Fleet(['a', 'b', 'c', 'd']);
    expect(step(ref, fleet, T0).decision).toMatchObject({ nodes: ['a', 'b'] });
    fleet.set(['a'], 'failed');
    fleet.set(['b'], 'installed');
    expect(step(ref, fleet, T0 + 1).decision).toMatchObject({ kind: 'dispatch', nodes: ['c', 'd'] });
    fleet.set(['c'], 'failed');
    const s = step(ref, fleet, T0 + 2);
    expect(s.decision).toEqual({
      kind: 'rollback',
      reason: '2 node(s) failed, more than the 1 the failure threshold allows',
      failed: ['a', 'c'],
      nodes: [
        { uid: 'a', revision: '1.0.0' },
        { uid: 'b', revision: '1.0.0' },
        { uid: 'c', revision: '1.0.0' },
        { uid: 'd', revision: '1.0.0' },
      ],
      keep: [],
    });
    expect(ref.plan.phase).toBe('rolling-back');
  });

  it('lists nodes without a previous revision as kept, not rolled back', () => {
    const ref = {
      plan: plan({
        targets: ['a', 'fresh'],
        previousRevisions: { a: '1.0.0' },
        strategy: { kind: 'all-at-once' },
      }),
    };
    const fleet = new Fleet(['a']);
    step(ref, fleet, T0);
    fleet.set(['fresh'], 'failed');
    expect(step(ref, fleet, T0 + 1).decision).toMatchObject({
      kind: 'rollback',
      nodes: [{ uid: 'a', revision: '1.0.0' }],
      keep: ['fresh'],
    });
  });

  it('fails without rollback when autoRollback is off or nothing has a previous revision', () => {
    const off = { plan: plan({ targets: ['a'], autoRollback: false }) };
    const fleet = new Fleet(['a']);
    step(off, fleet, T0);
    fleet.set(['a'], 'failed');
    expect(step(off, fleet, T0 + 1).decision).toEqual({
      kind: 'failed',
      reason: '1 node(s) failed, more than the 0 the failure threshold allows',
      failed: ['a'],
    });
    // The operator may still ask for the rollback afterwards.
    off.plan = requestRollback(off.plan);
    expect(step(off, fleet, T0 + 2).decision).toMatchObject({
      kind: 'rollback',
      nodes: [{ uid: 'a', revision: '1.0.0' }],
    });

    const deploy = { plan: plan({ targets: ['a'], previousRevisions: {} }) };
    const f2 = new Fleet(['a'], null);
    step(deploy, f2, T0);
    f2.set(['a'], 'failed');
    expect(step(deploy, f2, T0 + 1).decision).toMatchObject({ kind: 'failed', failed: ['a'] });
  });

  it('reads a percentage failure threshold against the number of targets', () => {
    expect(toleratedFailures(plan({ targets: uids(25), failureThreshold: '10%' }))).toBe(2);
    expect(toleratedFailures(plan({ targets: uids(5), failureThreshold: '10%' }))).toBe(0);
  });

  it('counts a node that does not install within the timeout as failed', () => {
    const ref = { plan: plan({ targets: ['a'], installTimeoutSeconds: 600, autoRollback: false }) };
    const fleet = new Fleet(['a']);
    step(ref, fleet, T0);
    fleet.set(['a'], 'installing');
    // The wait says when to look again: the moment the node runs out of time.
    expect(step(ref, fleet, T0 + 599_000).decision).toMatchObject({ kind: 'wait', until: T0 + 600_000 });
    expect(step(ref, fleet, T0 + 600_000).decision).toMatchObject({ kind: 'failed', failed: ['a'] });
  });
});

describe('canary', () => {
  const canary = (promote: 'manual' | { afterSeconds: number }, over: Partial<CreateRolloutInput> = {}) =>
    plan({ strategy: { kind: 'canary', canary: 2, promote, then: { kind: 'batches', size: 2 } }, ...over });

  it('installs the canary, waits for the operator, then rolls on in batches', () => {
    const ref = { plan: canary('manual') };
    const fleet = new Fleet(ref.plan.targets);
    expect(step(ref, fleet, T0).decision).toMatchObject({ kind: 'dispatch', nodes: ['n1', 'n2'] });
    expect(step(ref, fleet, T0 + 1).decision).toMatchObject({ kind: 'wait', reason: 'batch-in-progress' });
    fleet.set(['n1', 'n2'], 'installed');
    expect(step(ref, fleet, T0 + 2).decision).toEqual({
      kind: 'wait',
      reason: 'operator-promote',
      nodes: ['n1', 'n2'],
    });
    expect(step(ref, fleet, T0 + 3_600_000).decision).toMatchObject({ reason: 'operator-promote' });
    ref.plan = promoteRollout(ref.plan);
    expect(step(ref, fleet, T0 + 3_600_001).decision).toMatchObject({
      kind: 'dispatch',
      nodes: ['n3', 'n4'],
    });
  });

  it('promotes automatically after the soak time', () => {
    const ref = { plan: canary({ afterSeconds: 60 }) };
    const fleet = new Fleet(ref.plan.targets);
    step(ref, fleet, T0);
    fleet.set(['n1', 'n2'], 'installed');
    expect(step(ref, fleet, T0 + 10_000).decision).toEqual({
      kind: 'wait',
      reason: 'canary-soak',
      nodes: ['n1', 'n2'],
      until: T0 + 70_000,
    });
    expect(step(ref, fleet, T0 + 69_999).decision).toMatchObject({ reason: 'canary-soak' });
    expect(step(ref, fleet, T0 + 70_000).decision).toMatchObject({ kind: 'dispatch', nodes: ['n3', 'n4'] });
  });

  it('stops and rolls back the canary when a canary node fails, even within the failure threshold', () => {
    const ref = { plan: canary({ afterSeconds: 60 }, { failureThreshold: 3 }) };
    const fleet = new Fleet(ref.plan.targets);
    step(ref, fleet, T0);
    fleet.set(['n1'], 'installed');
    fleet.set(['n2'], 'failed');
    expect(step(ref, fleet, T0 + 1).decision).toEqual({
      kind: 'rollback',
      reason: 'canary failed on n2',
      failed: ['n2'],
      nodes: [
        { uid: 'n1', revision: '1.0.0' },
        { uid: 'n2', revision: '1.0.0' },
      ],
      keep: [],
    });
    // Nothing else is ever dispatched; the rollback is awaited, then reported once done.
    expect(step(ref, fleet, T0 + 2).decision).toEqual({
      kind: 'wait',
      reason: 'rollback-in-progress',
      nodes: ['n1', 'n2'],
    });
    fleet.set(['n1', 'n2'], 'installed', '1.0.0');
    const done = step(ref, fleet, T0 + 3);
    expect(done.decision).toEqual({
      kind: 'rolled-back',
      reason: 'canary failed on n2',
      nodes: ['n1', 'n2'],
      failed: [],
    });
    expect(ref.plan.phase).toBe('rolled-back');
    expect(step(ref, fleet, T0 + 4).decision.kind).toBe('rolled-back');
    expect(Object.keys(ref.plan.dispatchedAt)).toEqual(['n1', 'n2']);
  });

  it('stops when a canary node fails during the soak', () => {
    const ref = { plan: canary({ afterSeconds: 600 }, { autoRollback: false }) };
    const fleet = new Fleet(ref.plan.targets);
    step(ref, fleet, T0);
    fleet.set(['n1', 'n2'], 'installed');
    expect(step(ref, fleet, T0 + 1).decision).toMatchObject({ reason: 'canary-soak' });
    fleet.set(['n2'], 'failed');
    expect(step(ref, fleet, T0 + 2).decision).toEqual({
      kind: 'failed',
      reason: 'canary failed on n2',
      failed: ['n2'],
    });
  });

  it('reports a node that could not go back', () => {
    const ref = { plan: canary('manual') };
    const fleet = new Fleet(ref.plan.targets);
    step(ref, fleet, T0);
    fleet.set(['n1', 'n2'], 'failed');
    step(ref, fleet, T0 + 1);
    fleet.set(['n1'], 'installed', '1.0.0');
    fleet.set(['n2'], 'failed', '1.0.0');
    expect(step(ref, fleet, T0 + 2).decision).toMatchObject({ kind: 'rolled-back', failed: ['n2'] });
  });
});

describe('operator signals', () => {
  it('pauses and resumes without losing progress', () => {
    const ref = { plan: plan({ strategy: { kind: 'batches', size: 2 } }) };
    const fleet = new Fleet(ref.plan.targets);
    step(ref, fleet, T0);
    ref.plan = pauseRollout(ref.plan);
    fleet.set(['n1', 'n2'], 'installed');
    expect(step(ref, fleet, T0 + 1).decision).toEqual({ kind: 'wait', reason: 'paused', nodes: [] });
    ref.plan = resumeRollout(ref.plan);
    expect(step(ref, fleet, T0 + 2).decision).toMatchObject({ kind: 'dispatch', nodes: ['n3', 'n4'] });
  });

  it('still stops on failures while paused', () => {
    const ref = { plan: pauseRollout(plan({ targets: ['a', 'b'], strategy: { kind: 'batches', size: 1 } })) };
    const fleet = new Fleet(['a', 'b']);
    expect(step(ref, fleet, T0).decision).toMatchObject({ kind: 'wait', reason: 'paused' });
    ref.plan = resumeRollout(ref.plan);
    step(ref, fleet, T0 + 1);
    ref.plan = pauseRollout(ref.plan);
    fleet.set(['a'], 'failed');
    expect(step(ref, fleet, T0 + 2).decision).toMatchObject({
      kind: 'rollback',
      nodes: [{ uid: 'a', revision: '1.0.0' }],
    });
  });

  it('rolls back on operator request mid-rollout', () => {
    const ref = { plan: plan({ strategy: { kind: 'batches', size: 2 } }) };
    const fleet = new Fleet(ref.plan.targets);
    step(ref, fleet, T0);
    fleet.set(['n1', 'n2'], 'installed');
    ref.plan = requestRollback(ref.plan);
    expect(step(ref, fleet, T0 + 1).decision).toMatchObject({
      kind: 'rollback',
      reason: 'the operator requested a rollback',
      failed: [],
      nodes: [
        { uid: 'n1', revision: '1.0.0' },
        { uid: 'n2', revision: '1.0.0' },
      ],
    });
  });
});

describe('validation and persistence', () => {
  it.each<[string, Partial<CreateRolloutInput>, string]>([
    ['no targets', { targets: [] }, 'rollout.targets'],
    ['a node twice', { targets: ['a', 'a'] }, 'rollout.targets'],
    ['size and percent', { strategy: { kind: 'batches', size: 2, percent: 50 } }, 'rollout.strategy.percent'],
    ['batch size 0', { strategy: { kind: 'batches', size: 0 } }, 'rollout.strategy.size'],
    [
      'maxUnavailable "150%"',
      { strategy: { kind: 'batches', maxUnavailable: '150%' } },
      'rollout.strategy.maxUnavailable',
    ],
    [
      'canary of 0',
      { strategy: { kind: 'canary', canary: 0, promote: 'manual', then: { kind: 'all-at-once' } } },
      'rollout.strategy.canary',
    ],
    [
      'negative soak',
      {
        strategy: { kind: 'canary', canary: 1, promote: { afterSeconds: -1 }, then: { kind: 'all-at-once' } },
      },
      'rollout.strategy.promote.afterSeconds',
    ],
    ['unknown strategy', { strategy: { kind: 'blue-green' } as never }, 'rollout.strategy.kind'],
    ['failure threshold "x"', { failureThreshold: 'x' }, 'rollout.failureThreshold'],
    ['empty revision', { toRevision: '' }, 'rollout.toRevision'],
  ])('rejects %s', (_name, over, field) => {
    const e = errorOf(() => plan(over));
    expect(e.code).toBe('invalid-input');
    expect(e.errors?.map((x) => x.field)).toContain(field);
    expect(e.message).toMatch(/^invalid rollout: /);
  });

  it('round-trips a plan through JSON and rejects a damaged one', () => {
    const p = nextStep(
      plan({ strategy: { kind: 'canary', canary: 1, promote: 'manual', then: { kind: 'all-at-once' } } }),
      {},
      T0,
    ).plan;
    expect(parseRolloutPlan(JSON.parse(JSON.stringify(p)))).toEqual(p);
    const e = errorOf(() => parseRolloutPlan({ ...p, phase: 'dancing' }));
    expect(e.errors?.[0]?.field).toBe('plan.phase');
  });
});

describe('retryRollout (issue 12)', () => {
  const base = () =>
    createRollout({
      targets: ['a', 'b', 'c'],
      toRevision: '2',
      previousRevisions: { a: '1', b: '1', c: '1' },
      strategy: { kind: 'batches', size: 1 },
      installTimeoutSeconds: 60,
      autoRollback: false,
      now: 0,
    });

  it('refuses a rollout that is not stopped, or whose node still reports the failure', () => {
    expect(() => retryRollout(base(), {}, 10)).toThrow(/not stopped by a failure/);
    const failed = { ...base(), phase: 'failed' as const, stopReason: 'x', dispatchedAt: { a: 0 } };
    expect(() => retryRollout(failed, { a: { state: 'failed', revision: '2' } }, 10)).toThrow(
      /1 node\(s\) still report failed on revision 2 \(a\)/,
    );
  });

  it('resumes where it stopped: a node that timed out gets a fresh clock, an installed one keeps its place', () => {
    const failed = {
      ...base(),
      phase: 'failed' as const,
      stopReason: 'timeout',
      endedAt: 70_000,
      dispatchedAt: { a: 0, b: 1000 },
    };
    const next = retryRollout(
      failed,
      { a: { state: 'installed', revision: '2' }, b: { state: 'installing', revision: '1' } },
      80_000,
    );
    expect(next).toMatchObject({
      phase: 'rolling',
      stopReason: null,
      endedAt: null,
      dispatchedAt: { a: 0, b: 80_000 },
    });
    const step = nextStep(
      next,
      { a: { state: 'installed', revision: '2' }, b: { state: 'installing', revision: '1' } },
      80_001,
    );
    expect(step.decision).toMatchObject({ kind: 'wait', reason: 'batch-in-progress', nodes: ['b'] });
  });

  it('after a rollback, the rolled-back nodes take the new revision again in their turn', () => {
    const rolled = {
      ...base(),
      phase: 'rolled-back' as const,
      stopReason: 'b failed',
      dispatchedAt: { a: 0, b: 1000 },
      rollback: {
        startedAt: 2000,
        reason: 'b failed',
        nodes: [
          { uid: 'a', revision: '1' },
          { uid: 'b', revision: '1' },
        ],
      },
    };
    const observed = {
      a: { state: 'installed' as const, revision: '1' },
      b: { state: 'installed' as const, revision: '1' },
    };
    const next = retryRollout(rolled, observed, 5000);
    expect(next).toMatchObject({ phase: 'rolling', rollback: null, dispatchedAt: {} });
    expect(nextStep(next, observed, 5001).decision).toEqual({
      kind: 'dispatch',
      nodes: ['a'],
      revision: '2',
    });
  });
});
