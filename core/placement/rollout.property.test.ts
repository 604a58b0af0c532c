/**
 * Property-based tests of the rollout planner: random strategies and random node outcomes are played
 * through `nextStep` by a small fleet simulator, checking the invariants at every step.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  createRollout,
  maxUnavailableOf,
  nextStep,
  promoteRollout,
  toleratedFailures,
  type ObservedNodes,
  type RolloutDecision,
  type RolloutStrategy,
} from './rollout.js';

const T0 = Date.UTC(2026, 0, 1);

const thenArb = fc.oneof(
  fc.constant({ kind: 'all-at-once' as const }),
  fc.record(
    {
      kind: fc.constant('batches' as const),
      size: fc.integer({ min: 1, max: 6 }),
      maxUnavailable: fc.oneof(fc.integer({ min: 1, max: 5 }), fc.constantFrom('10%', '25%', '50%')),
    },
    { requiredKeys: ['kind'] },
  ),
);

const strategyArb: fc.Arbitrary<RolloutStrategy> = fc.oneof(
  thenArb,
  fc.record({
    kind: fc.constant('canary' as const),
    canary: fc.integer({ min: 1, max: 4 }),
    promote: fc.oneof(
      fc.constant('manual' as const),
      fc.record({ afterSeconds: fc.integer({ min: 0, max: 120 }) }),
    ),
    then: thenArb,
  }),
);

type Outcome = 'ok' | 'fail' | 'slow';

const scenarioArb = fc.integer({ min: 1, max: 16 }).chain((n) =>
  fc.record({
    n: fc.constant(n),
    strategy: strategyArb,
    failureThreshold: fc.oneof(fc.integer({ min: 0, max: 3 }), fc.constantFrom('0%', '20%', '50%')),
    autoRollback: fc.boolean(),
    fresh: fc.array(fc.boolean(), { minLength: n, maxLength: n }),
    outcomes: fc.array(fc.constantFrom<Outcome>('ok', 'ok', 'ok', 'fail', 'slow'), {
      minLength: n,
      maxLength: n,
    }),
    ticks: fc.array(fc.integer({ min: 1, max: 40_000 }), { minLength: 300, maxLength: 300 }),
    promoteAfter: fc.integer({ min: 0, max: 10 }),
  }),
);

describe('rollout planner properties', () => {
  it('respects maxUnavailable, canaries, thresholds and rollback on every path', () => {
    fc.assert(
      fc.property(scenarioArb, (sc) => {
        const targets = Array.from({ length: sc.n }, (_, i) => `n${i}`);
        const previous = Object.fromEntries(targets.map((u, i) => [u, sc.fresh[i] ? null : '1.0.0']));
        let plan = createRollout({
          targets,
          toRevision: '2.0.0',
          previousRevisions: previous,
          strategy: sc.strategy,
          failureThreshold: sc.failureThreshold,
          autoRollback: sc.autoRollback,
          now: T0,
        });
        const maxUnavailable = maxUnavailableOf(plan);
        const tolerated = toleratedFailures(plan);
        const canary =
          sc.strategy.kind === 'canary' ? targets.slice(0, Math.min(sc.strategy.canary, sc.n)) : [];
        const observed: ObservedNodes = Object.fromEntries(
          targets.map((u) => [u, { state: 'installed' as const, revision: previous[u] ?? null }]),
        );
        const dispatched = new Set<string>();
        const slowTicks = new Map<string, number>();
        let now = T0;
        let last: RolloutDecision | null = null;
        let canaryFailedSeen = false;
        let waitedForPromote = 0;

        for (let t = 0; t < sc.ticks.length; t++) {
          const step = nextStep(plan, observed, now);
          plan = step.plan;
          const d = step.decision;
          last = d;
          if (d.kind === 'dispatch') {
            for (const u of d.nodes) {
              expect(dispatched.has(u)).toBe(false); // never twice
              dispatched.add(u);
              observed[u] = { state: 'pending', revision: '2.0.0' };
            }
            // Canary first: nothing beyond the canary before every canary node installed.
            if (canary.length > 0 && d.nodes.some((u) => !canary.includes(u))) {
              for (const c of canary) expect(observed[c]).toEqual({ state: 'installed', revision: '2.0.0' });
              expect(canaryFailedSeen).toBe(false);
            }
          }
          // At most maxUnavailable nodes of the new revision not yet installed (failed ones are done).
          const inFlight = targets.filter(
            (u) =>
              observed[u]!.revision === '2.0.0' && ['pending', 'installing'].includes(observed[u]!.state),
          ).length;
          expect(inFlight).toBeLessThanOrEqual(maxUnavailable);

          if (d.kind === 'rollback') {
            // Exactly the nodes that took the update and had a previous revision go back.
            expect(d.nodes.map((x) => x.uid).sort()).toEqual(
              [...dispatched].filter((u) => previous[u]).sort(),
            );
            expect(d.keep.sort()).toEqual([...dispatched].filter((u) => !previous[u]).sort());
            for (const { uid, revision } of d.nodes) observed[uid] = { state: 'installing', revision };
          }
          if (d.kind === 'complete') {
            for (const u of targets) expect(['installed', 'failed']).toContain(observed[u]!.state);
            expect(targets.filter((u) => observed[u]!.state === 'failed').length).toBeLessThanOrEqual(
              tolerated,
            );
            expect(dispatched.size).toBe(sc.n);
            return;
          }
          if (d.kind === 'failed' || d.kind === 'rolled-back') {
            const failedCount = targets.filter(
              (u) => observed[u]!.revision === '2.0.0' && observed[u]!.state === 'failed',
            ).length;
            const canaryFailed = canary.some(
              (u) => observed[u]!.state === 'failed' && observed[u]!.revision === '2.0.0',
            );
            if (d.kind === 'failed') expect(failedCount > tolerated || canaryFailed).toBe(true);
            if (d.kind === 'rolled-back') {
              for (const u of d.nodes) expect(observed[u]).toEqual({ state: 'installed', revision: '1.0.0' });
            }
            return;
          }
          if (d.kind === 'wait' && d.reason === 'operator-promote' && ++waitedForPromote > sc.promoteAfter)
            plan = promoteRollout(plan);

          // The fleet moves on.
          for (const u of targets) {
            const o = observed[u]!;
            const i = targets.indexOf(u);
            if (o.revision === '2.0.0' && o.state === 'pending') observed[u] = { ...o, state: 'installing' };
            else if (o.revision === '2.0.0' && o.state === 'installing') {
              const outcome = sc.outcomes[i]!;
              const waited = (slowTicks.get(u) ?? 0) + 1;
              slowTicks.set(u, waited);
              if (outcome === 'fail') {
                observed[u] = { ...o, state: 'failed' };
                if (canary.includes(u)) canaryFailedSeen = true;
              } else if (outcome === 'ok' || waited > 3) observed[u] = { ...o, state: 'installed' };
            } else if (o.revision !== '2.0.0' && o.state === 'installing')
              observed[u] = { ...o, state: 'installed' };
          }
          now += sc.ticks[t]!;
        }
        throw new Error(`no end after ${sc.ticks.length} steps, last decision ${JSON.stringify(last)}`);
      }),
      { numRuns: 400 },
    );
  });

  it('gives the same decision for the same plan, observation and time', () => {
    fc.assert(
      fc.property(
        strategyArb,
        fc.integer({ min: 1, max: 10 }),
        fc.integer({ min: 0, max: 5 }),
        (strategy, n, k) => {
          const targets = Array.from({ length: n }, (_, i) => `n${i}`);
          const plan = createRollout({ targets, toRevision: '2', strategy, now: T0 });
          const observed: ObservedNodes = Object.fromEntries(
            targets.map((u, i) => [
              u,
              { state: i < k ? ('installed' as const) : ('installing' as const), revision: '2' },
            ]),
          );
          expect(nextStep(plan, observed, T0 + 5)).toEqual(nextStep(plan, observed, T0 + 5));
        },
      ),
    );
  });
});
