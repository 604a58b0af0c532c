import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestCore } from '../../test/helpers/core.js';
import { manualClock } from '../../lib/base/index.js';
import { AIR_GAP_STALE_AFTER_MS, BUNDLE_KEY_ROTATE_AFTER_MS, CA_EXPIRY_WARNING_MS } from './attention.js';

const DAY = 24 * 3_600_000;

/**
 * What needs attention beyond nodes and deployments (issue 16, ADR 0232), through a real core whose
 * clock the test moves: air-gapped sites with the age of their newest data, the site CA running out,
 * and the bundle signing key due for rotation; each linking to the page that resolves it.
 */
describe('attention: air-gapped sites, site CA, bundle key', () => {
  const clock = manualClock(Date.UTC(2026, 5, 1, 12, 0, 0));
  let t: Awaited<ReturnType<typeof startTestCore>>;
  const items = async () => (await t.core.client().health.attention({ limit: 100 })).items;

  beforeAll(async () => {
    t = await startTestCore({ clock, overrides: { mmi: { enabled: true } } });
    const c = t.core.client();
    await c.sites.add({ id: 'plant' });
    await c.sites.add({ id: 'mine', airGapped: true });
    await c.sites.add({ id: 'ship', airGapped: true });
  });
  afterAll(async () => t.stop());

  it('lists each air-gapped site with the age of the last status bundle imported from it', async () => {
    const now = clock.now();
    // A status bundle from the mine, made 2 days ago and imported an hour ago; nothing from the ship.
    t.core.store.sqlite
      .prepare(
        `INSERT INTO bundle_streams (kind, source, target, last_imported_sequence, last_imported_at, last_imported)
         VALUES ('site-to-hq', 'mine', 'hq', 3, ?, ?)`,
      )
      .run(
        now - 3_600_000,
        JSON.stringify({ sequence: 3, created: now - 2 * DAY, bytes: 10, blobs: 1, counts: {} }),
      );
    const gapped = (await items()).filter((i) => i.kind === 'site-air-gapped');
    expect(gapped.map((i) => [i.siteId, i.severity, i.title, i.href, i.since])).toEqual([
      [
        'ship',
        'warning',
        'Air-gapped site ship: no status bundle imported yet',
        '/airgap?site=ship',
        expect.any(Number),
      ],
      ['mine', 'info', 'Air-gapped site mine: data 2 days old', '/airgap?site=mine', now - 2 * DAY],
    ]);
    expect(gapped[1]!.detail).toContain('(60 min ago)');

    // A week later the mine's data is old enough to be a warning.
    clock.advance(AIR_GAP_STALE_AFTER_MS);
    const later = (await items()).find((i) => i.id === 'site-air-gapped/mine');
    expect(later).toMatchObject({ severity: 'warning', title: 'Air-gapped site mine: data 9 days old' });
  });

  it('warns when the bundle signing key is due for rotation, and not after it is rotated', async () => {
    const c = t.core.client();
    const key = await c.bundle.exportKey({});
    expect((await items()).some((i) => i.kind === 'bundle-key-expiring')).toBe(false);
    clock.advance(BUNDLE_KEY_ROTATE_AFTER_MS - 10 * DAY);
    const due = (await items()).find((i) => i.kind === 'bundle-key-expiring');
    expect(due).toMatchObject({
      severity: 'warning',
      href: '/airgap',
      until: key.createdAt + BUNDLE_KEY_ROTATE_AFTER_MS,
      title: `The bundle signing key ${key.keyId} is due for rotation soon`,
    });
    await c.bundle.rotateKey({});
    expect((await items()).some((i) => i.kind === 'bundle-key-expiring')).toBe(false);
  });

  it('warns when the site CA runs out within 30 days, and says it expired once it has', async () => {
    const at = (await t.core.client().identity.ca({})).notAfter!;
    clock.set(at - CA_EXPIRY_WARNING_MS - DAY);
    expect((await items()).some((i) => i.kind === 'site-ca-expiring')).toBe(false);
    clock.set(at - 5 * DAY);
    expect((await items()).find((i) => i.kind === 'site-ca-expiring')).toMatchObject({
      severity: 'warning',
      title: 'The site CA expires soon',
      until: at,
      href: '/settings',
    });
    clock.set(at + DAY);
    const expired = (await items()).find((i) => i.kind === 'site-ca-expiring');
    expect(expired).toMatchObject({ severity: 'critical', title: 'The site CA has expired' });
    expect(expired!.detail).toContain('edgectl site init-ca --force');
  });
});
