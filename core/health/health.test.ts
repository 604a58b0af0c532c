import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { markEnrolled, startTestCore } from '../../test/helpers/core.js';
import { WASM_APP } from '../../test/fixtures/margo.js';
import { manualClock } from '../../lib/base/index.js';
import { FINE_STEP_MS, COARSE_STEP_MS } from './series.js';

const MIN = 60_000;
const HOUR = 3_600_000;

/**
 * Fleet health through a real core on SQLite with a clock the test moves: what needs attention (worst
 * first, each with the route that resolves it) and the stored time series with its retention.
 */
describe('fleet health', () => {
  // Thresholds: stale after 1 minute, offline after 5.
  const clock = manualClock(Date.UTC(2026, 5, 1, 12, 0, 0));
  let t: Awaited<ReturnType<typeof startTestCore>>;
  const seen = (name: string, at: number) => markEnrolled(t.core, name, at, { enrolledAt: true });

  beforeAll(async () => {
    t = await startTestCore({
      clock,
      overrides: {
        mmi: { enabled: true },
        nats: { staleAfterSeconds: 60, offlineAfterSeconds: 300 },
        health: { sampleEverySeconds: 3600, fineRetentionHours: 2, coarseRetentionDays: 1 },
      },
    });
    const c = t.core.client();
    await c.apps.add({
      source: { kind: 'upload', upload: { fileName: 'margo.yaml', content: WASM_APP('1.0.0') } },
    });
    await c.sites.add({ id: 'plant' });
    await c.sites.add({ id: 'yard' });
    for (const n of ['p1', 'p2', 'p3', 'p4', 'p5']) await c.nodes.add({ name: n, siteId: 'plant' });
    for (const n of ['y1', 'y2']) await c.nodes.add({ name: n, siteId: 'yard' });
    for (const n of ['p1', 'p2', 'p3', 'p4', 'p5', 'y1', 'y2']) seen(n, clock.now());
  });
  afterAll(async () => t.stop());

  it('has nothing to say about a healthy fleet', async () => {
    const a = await t.core.client().health.attention({});
    expect(a.items).toEqual([]);
    expect(a.bySeverity).toEqual({ critical: 0, warning: 0, info: 0 });
  });

  it('lists offline nodes before stale ones, a node alone with its page, many as a filtered list', async () => {
    const now = clock.now();
    // Four nodes of plant offline (a group), one of yard offline (alone), one of yard stale.
    for (const n of ['p1', 'p2', 'p3', 'p4']) seen(n, now - 10 * MIN);
    seen('y1', now - 20 * MIN);
    seen('y2', now - 2 * MIN);
    const a = await t.core.client().health.attention({});
    expect(a.items.map((i) => [i.kind, i.severity, i.title, i.href, i.since])).toEqual([
      // Oldest first within a severity.
      ['nodes-offline', 'critical', 'Node y1 is offline at yard', '/nodes/y1', now - 20 * MIN],
      [
        'nodes-offline',
        'critical',
        '4 nodes offline at plant',
        '/sites?site=plant&presence=offline',
        now - 10 * MIN,
      ],
      ['nodes-stale', 'warning', 'Node y2 is stale at yard', '/nodes/y2', now - 2 * MIN],
    ]);
    expect(a.items[1]!.count).toBe(4);
    expect(a.items[1]!.detail).toBe('p1, p2, p3, p4.');
    expect(a.bySeverity).toEqual({ critical: 2, warning: 1, info: 0 });
    const page = await t.core.client().health.attention({ limit: 1 });
    expect(page.items).toHaveLength(1);
    expect(page.more).toBe(2);
  });

  it('reports a deployment that failed on a node, and the failed call in the audit log', async () => {
    const c = t.core.client();
    for (const n of ['p1', 'p2', 'p3', 'p4', 'y1', 'y2']) seen(n, clock.now());
    const d = await c.deployments.create({
      appId: 'hello-wasm',
      name: 'hello',
      target: { nodes: ['p1', 'p2'] },
      parameters: {},
    });
    await t.core.deploy.recordStatus({
      clientId: 'default.p1',
      status: {
        deploymentId: d.id,
        adoptedManifestVersion: 1,
        status: { state: 'failed', error: { code: 'E1', message: 'image pull failed' } },
        components: [],
      },
      digest: undefined,
      receivedAt: clock.now(),
    });
    // A refused command (queries are not audited).
    await c.nodes.cordon({ name: 'nope' }).catch(() => undefined);
    const a = await c.health.attention({});
    const failed = a.items.find((i) => i.kind === 'deployment-failed');
    expect(failed).toMatchObject({
      severity: 'critical',
      title: 'hello failed on 1 node of 2',
      href: `/deployments/${d.id}`,
      count: 1,
    });
    const recent = a.items.find((i) => i.kind === 'recent-failures');
    expect(recent).toMatchObject({ severity: 'info', count: 1, href: '/audit?result=error' });
    // Critical items come before the info one.
    expect(a.items.indexOf(failed!)).toBeLessThan(a.items.indexOf(recent!));
  });

  it('warns about an SVID that runs out within a week, and says so louder once it has', async () => {
    const now = clock.now();
    const insert = t.core.store.sqlite.prepare(
      `INSERT INTO svids (serial_hex, client_id, spiffe_id, issued_at, not_after, revoked_at) VALUES (?, ?, ?, ?, ?, NULL)`,
    );
    insert.run('aa01', 'default.p3', 'spiffe://x/p3', now - 10 * HOUR, now + 48 * HOUR);
    insert.run('aa02', 'default.p4', 'spiffe://x/p4', now - 10 * HOUR, now - HOUR);
    insert.run('aa03', 'default.p5', 'spiffe://x/p5', now - 10 * HOUR, now + 30 * 24 * HOUR);
    const a = await t.core.client().health.attention({});
    const svid = a.items.filter((i) => i.kind === 'svid-expiring');
    expect(svid.map((i) => [i.severity, i.title, i.until, i.href])).toEqual([
      ['critical', 'The identity of p4 has expired', now - HOUR, '/nodes/p4'],
      ['warning', 'The identity of p3 expires soon', now + 48 * HOUR, '/nodes/p3'],
    ]);
  });

  it('stores nodes by presence, deployment states and per-site counts, and keeps them only as long as told', async () => {
    const c = t.core.client();
    const start = clock.now();
    for (const n of ['p1', 'p2', 'p3', 'p4', 'p5', 'y1', 'y2']) seen(n, start);
    await t.core.health.sample();
    clock.advance(10 * MIN);
    // p5 keeps reporting, the others fall silent.
    seen('p5', clock.now());
    await t.core.health.sample();
    const presence = await c.health.series({ series: 'presence', hours: 1 });
    expect(presence.step).toBe(FINE_STEP_MS);
    const [fleet] = presence.subjects;
    expect(fleet!.subject).toBe('');
    const last = fleet!.points.at(-1)!;
    expect(last.values).toEqual({ online: 1, stale: 0, offline: 6, unknown: 0 });
    expect(fleet!.points.at(-2)!.values.online).toBe(7);
    const sites = await c.health.series({ series: 'site', hours: 1 });
    expect(sites.subjects.map((s) => s.subject)).toEqual(['plant', 'yard']);
    expect(sites.subjects[0]!.points.at(-1)!.values).toMatchObject({ online: 1, offline: 4, reachable: 1 });
    const deployments = await c.health.series({ series: 'deployments', hours: 1 });
    expect(deployments.subjects[0]!.points.at(-1)!.values).toMatchObject({ failed: 1, pending: 1 });
    // Beyond the fine retention (2 h) the hourly points answer; beyond a day nothing is left.
    const long = await c.health.series({ series: 'presence', hours: 5 });
    expect(long.step).toBe(COARSE_STEP_MS);
    expect(long.subjects[0]!.points.length).toBeGreaterThan(0);
    clock.advance(3 * HOUR);
    await t.core.health.sample();
    const fineRows = () =>
      (
        t.core.store.sqlite
          .prepare(`SELECT count(*) AS n FROM metric_samples WHERE step = ? AND at < ?`)
          .get(FINE_STEP_MS, clock.now() - 2 * HOUR) as { n: number }
      ).n;
    expect(fineRows()).toBe(0);
    clock.advance(2 * 24 * HOUR);
    await t.core.health.sample();
    const old = t.core.store.sqlite
      .prepare(`SELECT count(*) AS n FROM metric_samples WHERE at < ?`)
      .get(clock.now() - 24 * HOUR) as { n: number };
    expect(old.n).toBe(0);
  });

  it("keeps each node's presence changes with the moment they happened", async () => {
    const c = t.core.client();
    const base = clock.now();
    seen('p5', base);
    await t.core.health.sample();
    clock.advance(10 * MIN);
    await t.core.health.sample();
    const d = await c.nodes.detail({ name: 'p5' });
    expect(d.presenceHistory.slice(0, 2)).toEqual([
      { presence: 'offline', at: base + 5 * MIN },
      { presence: 'online', at: base },
    ]);
    expect(d.events.find((e) => e.kind === 'presence')).toMatchObject({
      text: 'became offline',
      at: base + 5 * MIN,
    });
  });

  it('refuses a series it does not keep, changing nothing', async () => {
    const err = await t.core
      .client()
      .health.series({ series: 'nope' as 'presence', hours: 1 })
      .catch((e: unknown) => e);
    expect((err as { code: string }).code).toBe('invalid-input');
  });
});
