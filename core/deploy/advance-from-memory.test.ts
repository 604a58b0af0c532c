import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../../test/helpers/wait.js';
import { nextStep, parseRolloutPlan } from '../placement/index.js';
import { reportStatus, served as servedBy, startRolloutCore } from './testing/rollout-core.js';
import { observedNodes, type ObservedRow } from './views.js';
import { rowChanges } from '../store/row-changes.js';

/**
 * A rollout step reads its plan from memory and coalesces bursts of status reports (ADR 0550). What it
 * decides must be what a step from the database alone decides: after every step the stored plan is a
 * fixed point of the full recomputation (plan parsed from its row, every target's row read again), and a
 * write of the plan by anything else is what the next step starts from.
 */
describe('rollout steps from memory', () => {
  let t: Awaited<ReturnType<typeof startRolloutCore>>;
  const NODES = Array.from({ length: 8 }, (_, i) => `m${i}`);

  beforeAll(async () => {
    t = await startRolloutCore(NODES);
  });
  afterAll(async () => t.stop());

  const served = (node: string, id: string) => servedBy(t.core, node, id);
  /** A report as the MMI hands it over; not waited for (a burst). */
  const report = (node: string, id: string, state: 'installing' | 'installed' | 'failed') =>
    reportStatus(t.core, node, id, state);
  const storedPlan = (id: string) =>
    parseRolloutPlan(
      JSON.parse(
        t.core.store.sqlite.prepare('SELECT rollout FROM deployments WHERE id = ?').pluck().get(id) as string,
      ),
    );
  /** The full recomputation: the plan from its row, every target read again. */
  const recompute = (id: string) =>
    nextStep(
      storedPlan(id),
      observedNodes(
        t.core.store.sqlite
          .prepare(
            `SELECT node_uid AS nodeUid, desired, generation, state, reported_digest AS reportedDigest, yaml_digest AS yamlDigest,
               prev_generation AS prevGeneration, prev_yaml_digest AS prevYamlDigest FROM deployment_targets WHERE deployment_id = ?`,
          )
          .all(id) as ObservedRow[],
      ),
      Date.now(),
    );
  const told = (id: string) => NODES.filter((n) => served(n, id));

  it('after every burst of reports, the stored plan is what a step from the database decides', async () => {
    const c = t.core.client();
    const d = await c.deployments.create({
      appId: 'hello-wasm',
      target: { siteId: 'plant' },
      rollout: { strategy: { kind: 'batches', size: 3, maxUnavailable: 3 } },
    });
    const seen = new Set<string>();
    for (let round = 0; round < 10 && seen.size < NODES.length; round++) {
      const batch = told(d.id).filter((n) => !seen.has(n));
      expect(batch.length).toBeGreaterThan(0);
      expect(batch.length).toBeLessThanOrEqual(3);
      // The whole batch reports at once (installing, then installed), as a fleet does.
      for (const n of batch) report(n, d.id, 'installing');
      for (const n of batch) report(n, d.id, 'installed');
      batch.forEach((n) => seen.add(n));
      await t.core.deploy.settle();
      const again = recompute(d.id);
      // Nothing left for a full step to do: no dispatch the cached step missed, the same phase.
      expect(again.decision.kind).not.toBe('dispatch');
      expect(again.plan.phase).toBe(storedPlan(d.id).phase);
      expect(Object.keys(storedPlan(d.id).dispatchedAt).sort()).toEqual(
        told(d.id)
          .map((n) => `default.${n}`)
          .sort(),
      );
    }
    expect(seen.size).toBe(NODES.length);
    const view = await c.deployments.get({ id: d.id });
    expect(view.rollout?.phase).toBe('complete');
    expect(view.counts.installed).toBe(NODES.length);
    expect(recompute(d.id).decision.kind).toBe('complete');
  });

  it('a plan written by anything else (a raw SQL write here) is what the next step starts from', async () => {
    const c = t.core.client();
    const d = await c.deployments.create({
      appId: 'hello-wasm',
      target: { siteId: 'plant' },
      name: 'paused-by-sql',
      rollout: { strategy: { kind: 'batches', size: 2, maxUnavailable: 2 } },
    });
    const first = told(d.id);
    expect(first).toHaveLength(2);
    // Paused behind the engine's back: the cached plan must not be used any more.
    const plan = storedPlan(d.id);
    t.core.store.sqlite
      .prepare('UPDATE deployments SET rollout = ? WHERE id = ?')
      .run(JSON.stringify({ ...plan, signals: { ...plan.signals, paused: true } }), d.id);
    for (const n of first) report(n, d.id, 'installed');
    await t.core.deploy.settle();
    expect(told(d.id)).toEqual(first);
    expect(storedPlan(d.id).signals.paused).toBe(true);
    // Resumed through the API: the next batch goes out.
    await c.deployments.resume({ id: d.id });
    await t.core.deploy.settle();
    expect(told(d.id)).toHaveLength(4);
  });

  it('an update made while a step after reports is still waiting reaches every node', async () => {
    const c = t.core.client();
    const d = await c.deployments.create({
      appId: 'hello-wasm',
      target: { siteId: 'plant' },
      name: 'updated-in-a-burst',
    });
    for (let round = 0; round < 3; round++) {
      const before = NODES.map((n) => served(n, d.id)!.digest);
      // Every node reports; the step they trigger waits for more reports when the update comes.
      for (const n of NODES) report(n, d.id, 'installed');
      await c.deployments.update({ id: d.id, parameters: { greeting: `hi${round}` } });
      await t.core.deploy.settle();
      const after = NODES.map((n) => served(n, d.id)!.digest);
      after.forEach((digest, i) => expect(digest, `${NODES[i]}, round ${round}`).not.toBe(before[i]));
      expect(storedPlan(d.id).toRevision).toBe(String(round + 2));
    }
  });

  it('a step whose commit failed leaves no plan behind: the next step dispatches what it did not', async () => {
    const c = t.core.client();
    const d = await c.deployments.create({
      appId: 'hello-wasm',
      target: { siteId: 'plant' },
      name: 'step-rolled-back',
      rollout: { strategy: { kind: 'batches', size: 2, maxUnavailable: 2 } },
    });
    const first = told(d.id);
    expect(first).toHaveLength(2);
    // The next step's transaction fails at its commit (as a full disk would fail it): armed for the first
    // transaction that writes this rollout, nothing else.
    let armed = true;
    let wrote = false;
    let refused = 0;
    const stopWatch = rowChanges(t.core.store.sqlite).watch(
      { table: 'deployments', key: 'id', columns: ['rollout'] },
      (id) => {
        if (id === d.id) wrote = true;
      },
    );
    const stopHook = t.core.store.beforeCommit(() => {
      if (armed && wrote) {
        armed = false;
        refused++;
        throw new Error('disk full (test)');
      }
      wrote = false;
    });
    try {
      for (const n of first) report(n, d.id, 'installed');
      await t.core.deploy.settle();
      await waitFor(() => refused === 1, 'the step refused at its commit');
      await t.core.deploy.settle();
    } finally {
      stopHook();
      stopWatch();
    }
    // Nothing of the refused step is in the database: the next batch was not told.
    expect(told(d.id)).toEqual(first);
    expect(Object.keys(storedPlan(d.id).dispatchedAt)).toHaveLength(2);
    // The next step starts from the database, not from the plan of the step that never committed.
    await t.core.deploy.scheduleAdvance('default', d.id, 'test');
    await t.core.deploy.settle();
    expect(told(d.id)).toHaveLength(4);
    expect(Object.keys(storedPlan(d.id).dispatchedAt)).toHaveLength(4);
  });
});
