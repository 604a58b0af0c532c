import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestCore } from '../../test/helpers/core.js';
import { enrollOverMmi } from '../../test/helpers/enroll.js';
import { OutpostError } from '../../lib/errors/index.js';
import type { Principal } from '../../lib/contract/index.js';

/**
 * Leaks 3 and 4 of issue 17: `identity.clients` listed every tenant's enrolled nodes and the whole
 * accepted-client policy to any token, and `identity.issueClient` minted a certificate for another
 * tenant's enrolled node id, which then fetched that node's desired state.
 */
describe('site identity across tenants', () => {
  let t: Awaited<ReturnType<typeof startTestCore>>;
  const viewerOf = (tenantId: string): Principal => ({
    id: `token:${tenantId}`,
    name: tenantId,
    tenantId,
    roles: ['viewer'],
  });

  beforeAll(async () => {
    t = await startTestCore({ overrides: { role: 'all', mmi: { enabled: true } } });
    const admin = t.core.client();
    for (const tenant of ['acme', 'globex']) {
      await admin.tenants.add({ id: tenant });
      await admin.sites.add({ id: 'plant' }, { tenant });
      const tok = await admin.identity.createEnrollToken({ node: 'press-01', siteId: 'plant' }, { tenant });
      await enrollOverMmi(t.core.lo.mmiUrl()!, tok);
    }
    const wfm = (await admin.identity.ca({})).wfmSpiffeId;
    for (const pattern of [`${wfm}/client/acme.press-01`, `${wfm}/client/globex.press-01`, `${wfm}/client/*`])
      await admin.identity.allow({ pattern });
  }, 60_000);
  afterAll(async () => t.stop());

  it("shows a tenant only its own nodes' certificates and policy entries", async () => {
    const acme = await t.core.client(viewerOf('acme')).identity.clients({});
    expect(acme.svids.map((s) => s.clientId)).toEqual(['acme.press-01']);
    expect(JSON.stringify(acme)).not.toContain('globex');
    expect(acme.policy.map((p) => p.pattern.replace(/^.*\/client\//, ''))).toEqual(['acme.press-01']);
    const all = await t.core.client().identity.clients({});
    expect(all.svids.map((s) => s.clientId).sort()).toEqual(['acme.press-01', 'globex.press-01']);
  });

  it("refuses to mint a certificate for an enrolled node's id, or any id in a tenant's node namespace", async () => {
    const admin = t.core.client();
    const before = (await admin.identity.clients({})).svids.length;
    for (const clientId of ['globex.press-01', 'acme.press-01', 'globex.press-02']) {
      const err = await admin.identity.issueClient({ clientId }).catch((e: unknown) => e as OutpostError);
      expect(err).toBeInstanceOf(OutpostError);
      expect((err as OutpostError).code).toBe('conflict');
      expect((err as OutpostError).message).toMatch(/node/);
    }
    expect((await admin.identity.clients({})).svids.length).toBe(before);
    // A client outside every tenant's node namespace (a conformance tester) still gets one.
    const ok = await admin.identity.issueClient({ clientId: 'conformance-1', allow: false });
    expect(ok.spiffeId).toMatch(/\/client\/conformance-1$/);
  });
});
