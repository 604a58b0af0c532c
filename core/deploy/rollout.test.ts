import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DeploymentView } from '../../lib/contract/index.js';
import { OutpostError } from '../../lib/errors/index.js';
import { waitFor } from '../../test/helpers/wait.js';
import { reportStatus, served as servedBy, startRolloutCore } from './testing/rollout-core.js';

/**
 * Rollout strategies through the real engine, SQLite, git and the LO's manifests; node reports are
 * fed in-process exactly as the MMI backend hands them over (digest of the YAML the node was served).
 */
describe('rollouts', () => {
  let t: Awaited<ReturnType<typeof startRolloutCore>>;
  const NODES = ['n1', 'n2', 'n3', 'n4', 'n5'];

  beforeAll(async () => {
    t = await startRolloutCore(NODES, ['1.0.0', '2.0.0']);
  });
  afterAll(async () => t.stop());

  const served = (node: string, id: string) => servedBy(t.core, node, id);
  const report = async (node: string, id: string, state: 'installing' | 'installed' | 'failed') => {
    reportStatus(t.core, node, id, state);
    await t.core.deploy.settle();
  };
  const view = (id: string) => t.core.client().deployments.get({ id });
  const told = (d: DeploymentView, version: string) =>
    d.nodes.filter((n) => served(n.nodeName, d.id) && n.version === version).map((n) => n.nodeName);

  it('canary then batches: the canary goes alone, waits for promote, then never more than maxUnavailable at once', async () => {
    const c = t.core.client();
    let d = await c.deployments.create({
      appId: 'hello-wasm',
      version: '1.0.0',
      target: { siteId: 'plant' },
      rollout: {
        strategy: {
          kind: 'canary',
          canary: 1,
          promote: 'manual',
          then: { kind: 'batches', size: 2, maxUnavailable: 1 },
        },
      },
    });
    expect(told(d, '1.0.0')).toHaveLength(1);
    const canary = told(d, '1.0.0')[0]!;
    expect(d.rollout?.phase).toBe('canary');
    await report(canary, d.id, 'installed');
    d = await view(d.id);
    expect(d.rollout?.waitingFor).toBe('operator-promote');
    expect(told(d, '1.0.0')).toEqual([canary]);

    d = await c.deployments.promote({ id: d.id });
    const seen: number[] = [];
    for (let round = 0; round < 10 && d.rollout?.phase !== 'complete'; round++) {
      const inFlight = d.nodes.filter(
        (n) => served(n.nodeName, d.id) && !(n.state === 'installed' && n.current),
      );
      seen.push(inFlight.length);
      expect(inFlight.length).toBeLessThanOrEqual(1);
      for (const n of inFlight) await report(n.nodeName, d.id, 'installed');
      d = await view(d.id);
    }
    expect(d.rollout?.phase).toBe('complete');
    expect(d.counts.installed).toBe(5);
    expect(Math.max(...seen)).toBe(1);
  });

  it('an update whose canary fails stops the rollout and returns the canary to the previous version', async () => {
    const c = t.core.client();
    const [existing] = (await c.deployments.list({})).deployments;
    let d = await c.deployments.update({
      id: existing!.id,
      version: '2.0.0',
      rollout: {
        strategy: {
          kind: 'canary',
          canary: 1,
          promote: { afterSeconds: 3600 },
          then: { kind: 'all-at-once' },
        },
        autoRollback: true,
      },
    });
    const canary = told(d, '2.0.0');
    expect(canary).toHaveLength(1);
    const before = served(canary[0]!, d.id)!.digest;
    await report(canary[0]!, d.id, 'failed');
    d = await view(d.id);
    expect(['rolled-back', 'rolling-back']).toContain(d.rollout?.phase);
    // The canary is told the previous version again; nobody else ever got 2.0.0.
    const back = d.nodes.find((n) => n.nodeName === canary[0])!;
    expect(back.version).toBe('1.0.0');
    expect(served(canary[0]!, d.id)!.digest).not.toBe(before);
    expect(d.nodes.filter((n) => n.version === '2.0.0')).toEqual([]);
    await report(canary[0]!, d.id, 'installed');
    d = await view(d.id);
    expect(d.rollout?.phase).toBe('rolled-back');
  });

  it('pause stops dispatching until resume', async () => {
    const c = t.core.client();
    const [existing] = (await c.deployments.list({})).deployments;
    let d = await c.deployments.update({
      id: existing!.id,
      version: '2.0.0',
      rollout: { strategy: { kind: 'batches', size: 1, maxUnavailable: 1 } },
    });
    expect(told(d, '2.0.0')).toHaveLength(1);
    d = await c.deployments.pause({ id: d.id });
    expect(d.rollout?.paused).toBe(true);
    await report(told(d, '2.0.0')[0]!, d.id, 'installed');
    d = await view(d.id);
    expect(told(d, '2.0.0')).toHaveLength(1);
    d = await c.deployments.resume({ id: d.id });
    expect(told(d, '2.0.0')).toHaveLength(2);
  });

  it('promotes a canary by itself once its soak time has passed', async () => {
    const c = t.core.client();
    const [existing] = (await c.deployments.list({})).deployments;
    let d = await c.deployments.update({
      id: existing!.id,
      version: '1.0.0',
      rollout: { strategy: { kind: 'canary', canary: 1, promote: { afterSeconds: 1 } } },
    });
    const canary = told(d, '1.0.0').filter((n) => d.nodes.find((x) => x.nodeName === n)!.current === false);
    expect(d.rollout?.phase).toBe('canary');
    expect(d.rollout?.progress).toMatchObject({ inProgress: 1, notStarted: 4 });
    await report(canary[0]!, d.id, 'installed');
    d = await view(d.id);
    expect(d.rollout?.waitingFor).toBe('canary-soak');
    expect(d.rollout?.message).toMatch(/^waiting: canary-soak until \d{4}-/);
    // No status and no operator: the engine's timer moves it on after the soak.
    const id = d.id;
    d = await waitFor(
      async () => {
        const v = await view(id);
        return v.rollout?.phase === 'rolling' && v;
      },
      { what: 'the rollout to move on after the soak', timeoutMs: 15_000, intervalMs: 200 },
    );
    expect(d.rollout?.phase).toBe('rolling');
    expect(d.rollout?.progress).toMatchObject({ installed: 1, inProgress: 4, notStarted: 0 });
  });

  it('refuses promote when no canary waits, naming the phase', async () => {
    const [existing] = (await t.core.client().deployments.list({})).deployments;
    const err = await t.core
      .client()
      .deployments.promote({ id: existing!.id })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OutpostError);
    expect((err as OutpostError).code).toBe('conflict');
  });

  it('counts nodes that do not install within --install-timeout as failed and rolls them back, with no report at all', async () => {
    const c = t.core.client();
    const [existing] = (await c.deployments.list({})).deployments;
    let d = await c.deployments.update({
      id: existing!.id,
      version: '2.0.0',
      rollout: { strategy: { kind: 'all-at-once' }, installTimeoutSeconds: 1, autoRollback: true },
    });
    expect(d.rollout?.phase).toBe('rolling');
    // Nobody reports: the engine's own timer must notice the deadline.
    const id = d.id;
    d = await waitFor(
      async () => {
        const v = await view(id);
        return v.rollout?.phase !== 'rolling' && v;
      },
      { what: 'the install timeout to end the rollout', timeoutMs: 15_000, intervalMs: 200 },
    );
    expect(['rolling-back', 'rolled-back']).toContain(d.rollout?.phase);
    expect(d.nodes.filter((n) => n.version === '2.0.0')).toEqual([]);
  });
});
