/**
 * The poll answered from memory (ADR 0540) against the real LO (SQLite, manifest store, enrollment): what is
 * cached (the chain verdict per certificate, the accepted-client decision, the manifest's ETag) never
 * outlives the write that changes it, on kept connections and on resumed TLS sessions alike.
 */
import https from 'node:https';
import type { TLSSocket } from 'node:tls';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mtlsClientOptions } from '../../lib/identity/index.js';
import { MANIFEST_MEDIA_TYPE } from '../../lib/model/index.js';
import { createKeyAndCsr } from '../../lib/x509/index.js';
import { startTestCore } from '../../test/helpers/core.js';
import { enrollOverMmi, type EnrolledNode } from '../../test/helpers/enroll.js';
import { createMmiClient, type MmiTestClient } from '../../test/helpers/mmi-client.js';

type Core = Awaited<ReturnType<typeof startTestCore>>;

const YAML = (n: number) =>
  `apiVersion: application.margo.org/v1alpha1\nkind: ApplicationDeployment\nmetadata:\n  name: d${n}\n`;

describe('the MMI poll from memory (real LO)', () => {
  let t: Core;
  let node: EnrolledNode;
  const clients: MmiTestClient[] = [];
  const agents: https.Agent[] = [];

  beforeEach(async () => {
    t = await startTestCore({ overrides: { mmi: { enabled: true } } });
    await t.core.client().sites.add({ id: 'plant-1' });
    const token = await t.core
      .client()
      .identity.createEnrollToken({ node: 'n1', siteId: 'plant-1', ttlMinutes: 5 });
    node = await enrollOverMmi(t.core.lo.mmiUrl()!, token);
  });
  afterEach(async () => {
    for (const c of clients.splice(0)) c.close();
    for (const a of agents.splice(0)) a.destroy();
    await t.stop();
  });

  const kept = (n: { certPem: string; keyPem: string; anchorsPem: string[] }) => {
    const c = createMmiClient({ baseUrl: t.core.lo.mmiUrl()!, ...n, keepAlive: true });
    clients.push(c);
    return c;
  };
  const manifest = (c: MmiTestClient, etag?: string) =>
    c.get('/api/v1/deployments', { accept: MANIFEST_MEDIA_TYPE, ...(etag ? { 'if-none-match': etag } : {}) });

  it('a revoked node is refused on its next poll over the connection it keeps', async () => {
    const c = kept(node);
    const first = await manifest(c);
    expect(first.status).toBe(200);
    const again = await manifest(c, first.headers.etag as string);
    expect(again.status).toBe(304);
    expect(again.connection).toBe(first.connection);

    await t.core.client().identity.revokeNode({ name: 'n1' });
    const refused = await manifest(c, first.headers.etag as string);
    expect(refused.status).toBe(403);
    expect(refused.json()).toMatchObject({ type: expect.stringMatching(/not-authorized$/) });
    expect(refused.connection).toBe(first.connection);
  });

  it('a changed manifest is served on the next poll, then 304 for its new ETag', async () => {
    await t.core.lo.manifests.apply(
      node.clientId,
      [{ deploymentId: 'd0', yaml: Buffer.from(YAML(0)) }],
      null,
    );
    const c = kept(node);
    const first = await manifest(c);
    const etag1 = first.headers.etag as string;
    expect((await manifest(c, etag1)).status).toBe(304);

    await t.core.lo.manifests.apply(
      node.clientId,
      [{ deploymentId: 'd1', yaml: Buffer.from(YAML(1)) }],
      null,
    );
    const changed = await manifest(c, etag1);
    expect(changed.status).toBe(200);
    expect(changed.connection).toBe(first.connection);
    const etag2 = changed.headers.etag as string;
    expect(etag2).not.toBe(etag1);
    expect(
      changed.json<{ manifestVersion: number; deployments: { deploymentId: string }[] }>(),
    ).toMatchObject({
      manifestVersion: first.json<{ manifestVersion: number }>().manifestVersion + 1,
      deployments: [{ deploymentId: 'd1' }],
    });
    expect((await manifest(c, etag2)).status).toBe(304);
    expect((await manifest(c, etag1)).status).toBe(200);
  });

  it('a renewed SVID is accepted, and the one it replaced is refused once revoked', async () => {
    const c = kept(node);
    const etag = (await manifest(c)).headers.etag as string;
    // Renewal is refused while the newest SVID is younger than the minimum age: make it old.
    t.core.store.sqlite
      .prepare('UPDATE svids SET issued_at = issued_at - 7200000 WHERE client_id = ?')
      .run(node.clientId);
    const kc = await createKeyAndCsr({});
    const renewed = await c.post('/api/v1/outpost/renew', { csr: kc.csrPem });
    expect(renewed.status).toBe(200);
    const body = renewed.json<{ certPem: string; serialHex: string }>();

    const fresh = kept({ certPem: body.certPem, keyPem: kc.keyPem, anchorsPem: node.anchorsPem });
    expect((await manifest(fresh, etag)).status).toBe(304);

    // The old certificate is still a valid SVID of this node until it is revoked by its serial.
    const old = kept(node);
    expect((await manifest(old, etag)).status).toBe(304);
    t.core.store.sqlite
      .prepare('UPDATE svids SET revoked_at = ? WHERE client_id = ? AND serial_hex != ?')
      .run(Date.now(), node.clientId, body.serialHex);
    expect((await manifest(old, etag)).status).toBe(403);
    expect((await manifest(fresh, etag)).status).toBe(304);
  });

  it('a reconnecting node resumes its TLS session, and every request is still checked', async () => {
    const tls = mtlsClientOptions({
      certPem: node.certPem,
      keyPem: node.keyPem,
      anchorsPem: node.anchorsPem,
    });
    const agent = new https.Agent({ ...tls, keepAlive: false, maxCachedSessions: 4 });
    agents.push(agent);
    const url = new URL(t.core.lo.mmiUrl()!);
    const get = (etag?: string) =>
      new Promise<{ status: number; etag: string; resumed: boolean }>((resolve, reject) => {
        const req = https.request(
          {
            host: url.hostname,
            port: url.port,
            path: '/api/v1/deployments',
            agent,
            headers: { accept: MANIFEST_MEDIA_TYPE, ...(etag ? { 'if-none-match': etag } : {}) },
          },
          (res) => {
            const resumed = (res.socket as TLSSocket).isSessionReused();
            res.resume();
            res.on('end', () =>
              resolve({ status: res.statusCode!, etag: String(res.headers.etag), resumed }),
            );
          },
        );
        req.on('error', reject);
        req.end();
      });
    const first = await get();
    expect(first).toMatchObject({ status: 200, resumed: false });
    const second = await get(first.etag);
    expect(second).toMatchObject({ status: 304, resumed: true });

    await t.core.client().identity.deny({
      pattern: `spiffe://${t.core.lo.identity.trustDomain}/margo/wfm/${t.core.lo.identity.wfmId}/client/${node.clientId}`,
    });
    const refused = await get(first.etag);
    expect(refused).toMatchObject({ status: 403, resumed: true });
  });
});
