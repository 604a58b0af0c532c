import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKeyAndCsr } from '../../lib/x509/index.js';
import { startTestCore } from '../../test/helpers/core.js';
import { createMmiClient, type MmiTestClient } from '../../test/helpers/mmi-client.js';
import type { AnyEvent } from '../events.js';

/** The enrollment-request endpoints of the MMI against the real LO (ADR 0462). */
describe('enrollment requests over the MMI', () => {
  let t: Awaited<ReturnType<typeof startTestCore>>;
  let mmi: MmiTestClient;
  const events: AnyEvent[] = [];
  const PATH = '/api/v1/outpost/enroll-requests';

  beforeAll(async () => {
    t = await startTestCore({ overrides: { mmi: { enabled: true } } });
    await t.core.client().sites.add({ id: 'plant-1' });
    t.core.events.subscribe((e) => events.push(e));
    mmi = createMmiClient({ baseUrl: t.core.lo.mmiUrl()!, serverCheck: 'none' });
  });
  afterAll(async () => {
    mmi?.close();
    await t?.stop();
  });

  const file = async (extra: Record<string, unknown> = {}) => {
    const { csrPem } = await createKeyAndCsr({});
    const r = await mmi.post(PATH, {
      csr: csrPem,
      hostname: 'box.example',
      hardware: { cores: 4 },
      ...extra,
    });
    expect(r.status, r.text()).toBe(202);
    return r.json<{
      id: string;
      pollSecret: string;
      code: string;
      keyFingerprint: string;
      expiresAt: number;
    }>();
  };

  it('refuses a request without a valid CSR and stores nothing', async () => {
    const r = await mmi.post(PATH, { csr: 'nope', hostname: 'x' });
    expect(r.status).toBe(400);
    expect(r.json<{ type: string }>().type).toBe(
      'https://docs.margo.org/specification/problem-types#invalid-request',
    );
    const bad = await mmi.post(PATH, {
      csr: '-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n',
    });
    expect(bad.status).toBe(400);
    expect((await t.core.client().enrollRequests.list({ all: true })).requests).toEqual([]);
  });

  it('files, answers pending to its holder only, delivers the SVID once approved', async () => {
    const f = await file({ name: 'box-1' });
    expect(f.id).toMatch(/^req-[0-9a-f]{10}$/);
    expect(f.code).toMatch(/^\d{3} \d{3}$/);
    const listed = (await t.core.client().enrollRequests.list({})).requests;
    expect(listed).toMatchObject([
      {
        id: f.id,
        state: 'pending',
        hostname: 'box.example',
        requestedName: 'box-1',
        code: f.code,
        address: '127.0.0.1',
      },
    ]);
    expect(events.some((e) => e.type === 'enrollRequest' && (e.data as { id: string }).id === f.id)).toBe(
      true,
    );

    const none = await mmi.get(`${PATH}/${f.id}`);
    expect(none.status).toBe(403);
    const wrong = await mmi.get(`${PATH}/${f.id}`, { authorization: `Bearer ${'x'.repeat(43)}` });
    const unknown = await mmi.get(`${PATH}/req-0000000000`, { authorization: `Bearer ${f.pollSecret}` });
    expect([wrong.status, unknown.status]).toEqual([403, 403]);
    expect(wrong.json<{ detail: string }>().detail).toBe(
      unknown.json<{ detail: string }>().detail.replace('req-0000000000', f.id),
    );

    const pending = await mmi.get(`${PATH}/${f.id}`, { authorization: `Bearer ${f.pollSecret}` });
    expect(pending.status).toBe(202);
    expect(pending.headers['retry-after']).toBe('2');

    const approved = await t.core
      .client()
      .enrollRequests.approve({ id: f.id, node: 'box-1', siteId: 'plant-1' });
    expect(approved).toMatchObject({ state: 'approved', nodeName: 'box-1', siteId: 'plant-1' });
    const got = await mmi.get(`${PATH}/${f.id}`, { authorization: `Bearer ${f.pollSecret}` });
    expect(got.status).toBe(200);
    expect(got.headers['cache-control']).toBe('no-store');
    expect(got.json()).toMatchObject({
      clientId: 'default.box-1',
      spiffeId: 'spiffe://outpost.local/margo/wfm/outpost/client/default.box-1',
      siteId: 'plant-1',
      nodeName: 'box-1',
      tenantId: 'default',
    });
    expect((await t.core.client().nodes.get({ name: 'box-1' })).state).toBe('enrolled');
    expect((await t.core.client().enrollRequests.get({ id: f.id })).deliveredAt).not.toBeNull();
    // Approving twice is a conflict.
    await expect(
      t.core.client().enrollRequests.approve({ id: f.id, node: 'box-1', siteId: 'plant-1' }),
    ).rejects.toMatchObject({ code: 'conflict' });
  });

  it('a rejected request answers its holder with the rejection', async () => {
    const f = await file();
    await t.core.client().enrollRequests.reject({ id: f.id, reason: 'unknown box' });
    const r = await mmi.get(`${PATH}/${f.id}`, { authorization: `Bearer ${f.pollSecret}` });
    expect(r.status).toBe(403);
    expect(r.json<{ type: string; detail: string }>()).toMatchObject({
      type: 'urn:outpost:problem:enroll-request-rejected',
      detail: `the operator rejected enrollment request ${f.id}: unknown box`,
    });
  });

  it('approval refuses a revoked node and leaves the request pending', async () => {
    const c = t.core.client();
    await c.nodes.add({ name: 'gone', siteId: 'plant-1' });
    await c.identity.revokeNode({ name: 'gone' });
    const f = await file();
    await expect(
      c.enrollRequests.approve({ id: f.id, node: 'gone', siteId: 'plant-1' }),
    ).rejects.toMatchObject({
      code: 'conflict',
    });
    expect((await c.enrollRequests.get({ id: f.id })).state).toBe('pending');
  });
});
