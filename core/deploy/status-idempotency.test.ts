import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addEnrolledNodes, startTestCore } from '../../test/helpers/core.js';
import { reportStatus } from './testing/rollout-core.js';
import { WASM_APP } from '../../test/fixtures/margo.js';
import { busOrigin } from '../store/report-cursors.js';

/**
 * Issue 19, defects 4 and 5 (ADR 0168, 0169): a report the bus hands over again (the stream cursor of a
 * server killed before it was saved) changes nothing and moves no rollout; a node's state is dated by
 * when the node made the report, not by when it arrived.
 */
describe('status reports: once per (node, seq), dated by their event time', () => {
  let t: Awaited<ReturnType<typeof startTestCore>>;
  let id = '';

  beforeAll(async () => {
    t = await startTestCore({ overrides: { mmi: { enabled: true } } });
    const c = t.core.client();
    await c.apps.add({
      source: { kind: 'upload', upload: { fileName: 'margo.yaml', content: WASM_APP('1.0.0') } },
    });
    await c.sites.add({ id: 'plant' });
    await addEnrolledNodes(t.core, ['n1', 'n2'], 'plant');
    const d = await c.deployments.create({
      appId: 'hello-wasm',
      target: { siteId: 'plant' },
      rollout: { strategy: { kind: 'canary', canary: 1, promote: 'manual', then: { kind: 'all-at-once' } } },
    });
    id = d.id;
  });
  afterAll(async () => t.stop());

  const report = async (state: 'installing' | 'installed', seq: number, eventAt: number) => {
    const r = reportStatus(t.core, 'n1', id, state, {
      eventAt,
      origin: { key: busOrigin('plant', 'default.n1'), seq },
    });
    await t.core.deploy.settle();
    return r;
  };
  const history = () =>
    t.core.store.sqlite
      .prepare('SELECT state, event_at AS eventAt FROM status_reports WHERE deployment_id = ? ORDER BY seq')
      .all(id) as { state: string; eventAt: number | null }[];
  const row = () =>
    t.core.store.sqlite
      .prepare('SELECT updated_at AS updatedAt, rollout FROM deployments WHERE id = ?')
      .get(id) as {
      updatedAt: number;
      rollout: string;
    };

  it('dates the node state by the event time and keeps when it arrived', async () => {
    const madeAt = Date.now() - 61_000; // queued 61 s on the way
    expect(await report('installing', 10, madeAt - 5_000)).toBe('created');
    expect(await report('installed', 11, madeAt)).toBe('updated');
    const v = await t.core.client().deployments.get({ id });
    const n1 = v.nodes.find((n) => n.nodeName === 'n1')!;
    expect(n1.state).toBe('installed');
    expect(n1.stateAt).toBe(madeAt);
    expect(n1.receivedAt).not.toBeNull();
    expect(n1.receivedAt! - n1.stateAt!).toBeGreaterThanOrEqual(60_000);
    expect(history()).toEqual([
      { state: 'installing', eventAt: madeAt - 5_000 },
      { state: 'installed', eventAt: madeAt },
    ]);
    expect(v.rollout?.phase).toBe('canary-hold');
  });

  it('ignores reports handed over again after a crash: no history, no state change, no rollout step', async () => {
    const before = { history: history(), row: row() };
    await new Promise((r) => setTimeout(r, 5)); // a step would now write a later updated_at
    // The stream hands both over again (the cursor save was lost), the older one first.
    expect(await report('installing', 10, Date.now())).toBe('duplicate');
    expect(await report('installed', 11, Date.now())).toBe('duplicate');
    expect(history()).toEqual(before.history);
    expect(row()).toEqual(before.row);
    const v = await t.core.client().deployments.get({ id });
    expect(v.nodes.find((n) => n.nodeName === 'n1')!.state).toBe('installed');
    // A new report still goes through.
    expect(await report('installed', 12, Date.now())).toBe('updated');
    expect(history()).toHaveLength(3);
  });
});
