import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addEnrolledNodes, startTestCore } from '../../test/helpers/core.js';
import { reportStatus } from './testing/rollout-core.js';
import { WASM_APP } from '../../test/fixtures/margo.js';
import { OutpostError } from '../../lib/errors/index.js';

/**
 * Issue 12: a failed canary is recoverable. While the node reports the failure, retry is refused; once the
 * node reports installed (it recovered by itself), the summary says the failure is gone and retry resumes
 * the rollout where it stopped.
 */
describe('retrying a failed canary', () => {
  let t: Awaited<ReturnType<typeof startTestCore>>;
  let id = '';
  beforeAll(async () => {
    t = await startTestCore({ overrides: { mmi: { enabled: true } } });
    const c = t.core.client();
    await c.apps.add({
      source: { kind: 'upload', upload: { fileName: 'margo.yaml', content: WASM_APP('1.0.0') } },
    });
    await c.sites.add({ id: 'plant' });
    await addEnrolledNodes(t.core, ['n1', 'n2', 'n3'], 'plant');
  });
  afterAll(async () => t.stop());

  const report = async (node: string, state: 'installing' | 'installed' | 'failed') => {
    reportStatus(t.core, node, id, state);
    await t.core.deploy.settle();
  };
  const conflict = async (p: Promise<unknown>) => {
    const e = await p.then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(e).toBeInstanceOf(OutpostError);
    expect((e as OutpostError).code).toBe('conflict');
    return (e as OutpostError).message;
  };

  it('refuses while the node reports the failure, and resumes from the canary once it is gone', async () => {
    const c = t.core.client();
    const d = await c.deployments.create({
      appId: 'hello-wasm',
      target: { siteId: 'plant' },
      rollout: { strategy: { kind: 'canary', canary: 1, promote: 'manual', then: { kind: 'all-at-once' } } },
    });
    id = d.id;
    const canary = d.nodes.find((n) => t.core.lo.manifests.current(n.nodeUid))!.nodeName;
    await report(canary, 'failed');
    let v = await c.deployments.get({ id });
    expect(v.rollout).toMatchObject({ phase: 'failed', retryable: false });
    expect(v.rollout!.message).toBe(`stopped: canary failed on default.${canary}`);
    expect(await conflict(c.deployments.promote({ id }))).toMatch(
      /already failed: once the failure is gone, edgectl co retry/,
    );
    expect(await conflict(c.deployments.retry({ id }))).toMatch(
      new RegExp(
        `^1 node\\(s\\) still report failed on revision 1 \\(default\\.${canary}\\): repair them first`,
      ),
    );

    // The agent recovers by itself: the summary follows the node.
    await report(canary, 'installed');
    v = await c.deployments.get({ id });
    expect(v.rollout).toMatchObject({ phase: 'failed', retryable: true, progress: { installed: 1 } });
    expect(v.rollout!.message).toBe(
      `stopped: canary failed on default.${canary}; the failure is gone (1/3 installed): retry resumes the rollout`,
    );

    v = await c.deployments.retry({ id });
    expect(v.rollout).toMatchObject({
      phase: 'canary-hold',
      waitingFor: 'operator-promote',
      retryable: false,
    });
    v = await c.deployments.promote({ id });
    const others = v.nodes.filter((n) => n.nodeName !== canary);
    for (const n of others) await report(n.nodeName, 'installed');
    v = await c.deployments.get({ id });
    expect(v.rollout).toMatchObject({ phase: 'complete', progress: { installed: 3 } });
  });
});
