import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestCore } from '../../test/helpers/core.js';
import { OutpostError } from '../../lib/errors/index.js';

/** Enrollment tokens are only made where the node will be accepted (ADR 0011). */
describe('enrollment tokens and the site that serves the node', () => {
  let t: Awaited<ReturnType<typeof startTestCore>>;
  beforeAll(async () => {
    t = await startTestCore({ overrides: { mmi: { enabled: true, port: 0 } } });
    const c = t.core.client();
    await c.sites.add({ id: 'here' });
    await c.sites.add({ id: 'far', servedBy: 'remote' });
  });
  afterAll(async () => t.stop());

  it('makes a token for a site this server serves, carrying its CA fingerprint and MMI URL', async () => {
    const r = await t.core.client().identity.createEnrollToken({ node: 'n1', siteId: 'here', ttlMinutes: 5 });
    expect(r.caFingerprint).toMatch(/^sha256:/);
    expect(r.mmiUrl).toMatch(/^https:\/\//);
  });

  it('refuses a site served by a remote LO (another CA) and creates no node', async () => {
    const c = t.core.client();
    const err = await c.identity
      .createEnrollToken({ node: 'n2', siteId: 'far', ttlMinutes: 5 })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OutpostError);
    expect((err as OutpostError).code).toBe('conflict');
    expect((err as OutpostError).message).toBe(
      `site "far" is served by a remote LO, which has its own CA: create the token there (edgectl co enroll-token create on the LO's host)`,
    );
    expect((await c.nodes.list({ siteId: 'far' })).nodes).toEqual([]);
  });
});
