/**
 * Agent enrollments are audited in the transaction that enrolls (issue 16, ADR 0232): the row says the
 * agent did it, names the node, and never exists without the enrollment (nor the enrollment without it).
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startTestCore } from '../../test/helpers/core.js';
import { enrollOverMmi } from '../../test/helpers/enroll.js';

type Core = Awaited<ReturnType<typeof startTestCore>>;

describe('enrollment audit (real LO over the MMI)', () => {
  let t: Core;
  beforeEach(async () => {
    t = await startTestCore({ overrides: { mmi: { enabled: true } } });
    await t.core.client().sites.add({ id: 'plant-1' });
  });
  afterEach(async () => t.stop());

  const token = (node: string) =>
    t.core.client().identity.createEnrollToken({ node, siteId: 'plant-1', ttlMinutes: 5 });

  it('an enrollment and a refused reuse of its token are audited as the agent, with the node', async () => {
    const tok = await token('n1');
    const node = await enrollOverMmi(t.core.lo.mmiUrl()!, tok, 'host-n1');
    const [ok] = (await t.core.client().system.audit({ action: 'identity.enroll' })).entries;
    expect(ok).toMatchObject({
      source: 'agent',
      transport: 'mmi',
      target: 'node/n1',
      result: 'ok',
      actor: expect.stringContaining(node.clientId),
      input: { siteId: 'plant-1', node: 'n1', hostname: 'host-n1' },
    });
    // The token's secret is in no audit row.
    const secret = tok.token;
    const everything = await t.core.client().system.audit({ limit: 1000 });
    expect(JSON.stringify(everything)).not.toContain(secret);

    await expect(enrollOverMmi(t.core.lo.mmiUrl()!, tok)).rejects.toThrow(/already used/);
    const refused = await t.core.client().system.audit({ action: 'identity.enroll', result: 'error' });
    expect(refused.entries).toHaveLength(1);
    expect(refused.entries[0]).toMatchObject({ source: 'agent', target: 'node/n1' });
    expect(refused.entries[0]!.errorMessage).toContain('already used');

    // Revocation is audited by its call (here in-process: source api).
    await t.core.client().identity.revokeNode({ name: 'n1' });
    const [rev] = (await t.core.client().system.audit({ action: 'identity.revokeNode' })).entries;
    expect(rev).toMatchObject({ target: 'node/n1', result: 'ok', source: 'api' });
  });

  it('an enrollment whose audit row cannot be written does not happen', async () => {
    const tok = await token('n2');
    const sqlite = t.core.store.sqlite;
    sqlite.exec(`CREATE TRIGGER refuse_enroll_audit BEFORE INSERT ON audit WHEN NEW.action = 'identity.enroll'
      BEGIN SELECT RAISE(ABORT, 'disk full (test)'); END`);
    await expect(enrollOverMmi(t.core.lo.mmiUrl()!, tok)).rejects.toThrow();
    const node = await t.core.client().nodes.get({ name: 'n2' });
    expect(node.state).toBe('registered');
    expect(
      (sqlite.prepare(`SELECT count(*) AS n FROM svids WHERE client_id LIKE '%n2'`).get() as { n: number }).n,
    ).toBe(0);
    // The token was not spent: once the audit works again, it enrolls.
    sqlite.exec('DROP TRIGGER refuse_enroll_audit');
    await enrollOverMmi(t.core.lo.mmiUrl()!, tok);
    expect((await t.core.client().nodes.get({ name: 'n2' })).state).toBe('enrolled');
  });
});
