import { createPrivateKey, createPublicKey, X509Certificate } from 'node:crypto';
import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemClock, type Clock } from '../../lib/base/index.js';
import { createLogger } from '../../lib/log/index.js';
import type { Core } from '../../core/create-core.js';
import { createKeyAndCsr } from '../../lib/x509/index.js';
import { normaliseSerialHex } from '../../lib/identity/index.js';
import { csrRequesting } from '../../core/ca/testing/csr-requests.js';
import { startAgent, type RunningAgent } from '../../agents/node/agent.js';
import { enrollAgent } from '../../agents/node/enroll.js';
import { agentPaths } from '../../agents/node/home.js';
import { loadIdentity } from '../../agents/node/identity.js';
import { readStateFile } from '../../agents/node/state.js';
import { fastAgentConfig } from '../fixtures/agent/in-process.js';
import { type LogLine } from '../fixtures/agent/harness.js';
import { edgectl } from '../helpers/cli.js';
import { startTestCore } from '../helpers/core.js';
import { enrollOverMmi, type EnrolledNode } from '../helpers/enroll.js';
import { tempHome } from '../helpers/home.js';
import { createMmiClient, type MmiTestClient } from '../helpers/mmi-client.js';
import { waitFor } from '../helpers/wait.js';

/**
 * SVID renewal end to end (ADR 0380): the real LO (core, SQLite, the MMI over mutual TLS with the site CA)
 * and the real agent in this process. svidTtlHours is half an hour, so a node may renew once its newest
 * SVID is 180 s old (a tenth of the lifetime); the LO's clock runs 4 minutes ahead of real time to get
 * there without waiting (less than the 5 minutes every SVID is backdated, so OpenSSL, which uses real
 * time, still accepts what it issues). The agent's clock runs 21 minutes ahead: a third of the lifetime
 * is left, so it renews by itself.
 */

const RENEW = '/api/v1/outpost/renew';
const spki = (pem: string) =>
  (pem.includes('PRIVATE KEY') ? createPublicKey(pem) : new X509Certificate(pem).publicKey).export({
    type: 'spki',
    format: 'der',
  });
const uriOf = (certPem: string) => new X509Certificate(certPem).subjectAltName;
/** The same CSR with the last byte of its signature changed. */
const tamper = (csrPem: string) => {
  const der = Buffer.from(csrPem.replace(/-----[^-]+-----|\s/g, ''), 'base64');
  der[der.length - 1]! ^= 0x01;
  const b64 = der.toString('base64').replace(/.{64}/g, '$&\n');
  return `-----BEGIN CERTIFICATE REQUEST-----\n${b64}\n-----END CERTIFICATE REQUEST-----\n`;
};
const notAfterOf = (certPem: string) => Date.parse(new X509Certificate(certPem).validTo);

describe('SVID renewal over mutual TLS', () => {
  const home = tempHome('outpost-renew-');
  let loOffset = 0;
  const loClock: Clock = { now: () => Date.now() + loOffset, monotonic: () => systemClock.monotonic() };
  let t: Awaited<ReturnType<typeof startTestCore>>;
  let core: Core;
  const nodes: Record<string, EnrolledNode> = {};
  const clients: MmiTestClient[] = [];
  const as = (n: { certPem: string; keyPem: string; anchorsPem: string[] }) => {
    const c = createMmiClient({ baseUrl: core.lo.mmiUrl()!, ...n });
    clients.push(c);
    return c;
  };
  const svidsOf = async (clientId: string) =>
    (await core.client().identity.clients()).svids.filter((s) => s.clientId === clientId);
  const renewAudit = () => core.audit.list('default', { limit: 100, action: 'identity.renewSvid' });

  beforeAll(async () => {
    t = await startTestCore({
      home: home.home,
      clock: loClock,
      overrides: { mmi: { enabled: true, svidTtlHours: 0.5 } },
    });
    core = t.core;
    await core.client().sites.add({ id: 'plant-r' });
    for (const name of ['edge-1', 'edge-2', 'edge-3']) {
      const token = await core
        .client()
        .identity.createEnrollToken({ node: name, siteId: 'plant-r', ttlMinutes: 10 });
      nodes[name] = await enrollOverMmi(core.lo.mmiUrl()!, token, name);
    }
  });
  afterAll(async () => {
    for (const c of clients) c.close();
    await t?.stop();
    home.cleanup();
  });

  it('refuses a renewal while the newest SVID is too young (429, Retry-After) and issues nothing', async () => {
    const n = nodes['edge-1']!;
    const r = await as(n).post(RENEW, { csr: (await createKeyAndCsr()).csrPem });
    expect(r.status).toBe(429);
    const p = r.json<{ code: string; detail: string; retryAfterSeconds: number }>();
    expect(p.code).toBe('rate-limited');
    expect(p.detail).toMatch(/renewal is allowed once the newest SVID is 180 s old/);
    expect(Number(r.headers['retry-after'])).toBeGreaterThan(170);
    expect(await svidsOf(n.clientId)).toHaveLength(1);
    loOffset = 4 * 60_000; // from here on, the enrollment SVIDs are old enough
  });

  it('refuses a CSR that asks for another SPIFFE ID, reuses the key, or is not a CSR; nothing is issued', async () => {
    const n = nodes['edge-1']!;
    const other = uriOf(nodes['edge-2']!.certPem)!.replace(/^URI:/, '');
    const c = as(n);
    const attempts = [
      { csr: (await csrRequesting({ uris: [other] })).csrPem, why: /asks for the names url:spiffe:/ },
      { csr: (await csrRequesting({ ca: true })).csrPem, why: /asks for the extension 2\.5\.29\.19/ },
      {
        csr: tamper((await createKeyAndCsr()).csrPem),
        why: /CSR (signature does not match|could not be (parsed|checked))/,
      },
      { csr: 'nothing', why: /certificate signing request/ },
    ];
    for (const a of attempts) {
      const r = await c.post(RENEW, { csr: a.csr });
      expect(r.status, r.text()).toBe(400);
      expect(r.json<{ type: string; detail: string }>().type).toMatch(/#invalid-request$/);
      expect(r.json<{ detail: string }>().detail).toMatch(a.why);
    }
    // The presented key again: a renewal needs a new key pair (a CSR from the node's own key).
    const x509 = await (await import('../../lib/x509/index.js')).loadX509();
    const { webCrypto, ECDSA_SHA256 } = await import('../../lib/identity/index.js');
    const ec = { name: 'ECDSA', namedCurve: 'P-256' };
    const pkcs8 = createPrivateKey(n.keyPem).export({ type: 'pkcs8', format: 'der' });
    const sameKey = await x509.Pkcs10CertificateRequestGenerator.create(
      {
        keys: {
          privateKey: await webCrypto.subtle.importKey('pkcs8', pkcs8, ec, true, ['sign']),
          publicKey: await webCrypto.subtle.importKey('spki', spki(n.certPem), ec, true, ['verify']),
        },
        signingAlgorithm: ECDSA_SHA256,
      },
      webCrypto,
    );
    const r = await c.post(RENEW, { csr: sameKey.toString('pem') });
    expect(r.status).toBe(400);
    expect(r.json<{ detail: string }>().detail).toMatch(/make a new key pair/);
    expect(await svidsOf(n.clientId)).toHaveLength(1);
    const refused = (await renewAudit()).filter((e) => e.target === n.clientId && e.result === 'error');
    expect(refused.map((e) => e.errorCode)).toContain('margo/invalid-request');
    expect(refused.map((e) => e.errorCode)).toContain('rate-limited');
  });

  it('renews: the same SPIFFE ID, the new key, a later expiry, recorded and audited; the old SVID keeps working', async () => {
    const n = nodes['edge-1']!;
    const kc = await createKeyAndCsr({ subject: 'CN=edge-1' });
    const r = await as(n).post(RENEW, { csr: kc.csrPem });
    expect(r.status, r.text()).toBe(200);
    expect(r.headers.connection).toBe('close');
    expect(r.headers['cache-control']).toBe('no-store');
    const body = r.json<{
      spiffeId: string;
      certPem: string;
      serialHex: string;
      notAfter: number;
      anchorsPem: string[];
    }>();
    expect(uriOf(body.certPem)).toBe(uriOf(n.certPem));
    expect(body.spiffeId).toBe(uriOf(n.certPem)!.replace(/^URI:/, ''));
    expect(spki(body.certPem)).toEqual(spki(kc.keyPem));
    expect(spki(body.certPem)).not.toEqual(spki(n.certPem));
    expect(notAfterOf(body.certPem)).toBeGreaterThan(notAfterOf(n.certPem));
    expect(body.notAfter).toBe(notAfterOf(body.certPem));
    const rows = await svidsOf(n.clientId);
    expect(rows.map((s) => s.serialHex)).toContain(body.serialHex);
    expect(rows.every((s) => s.revokedAt === null)).toBe(true);
    const ok = (await renewAudit()).find((e) => e.result === 'ok' && e.target === n.clientId);
    expect(ok).toMatchObject({ actor: body.spiffeId, transport: 'mmi' });
    expect(ok?.input).toMatchObject({ serialHex: body.serialHex });

    const renewed = { certPem: body.certPem, keyPem: kc.keyPem, anchorsPem: body.anchorsPem };
    expect((await as(renewed).get('/api/v1/deployments')).status).toBe(200);
    expect((await as(n).get('/api/v1/deployments')).status).toBe(200); // the old one, until it expires

    // At once again (with either certificate): the newest SVID is brand new.
    const again = await as(renewed).post(RENEW, { csr: (await createKeyAndCsr()).csrPem });
    expect(again.status).toBe(429);
    expect((await as(n).post(RENEW, { csr: (await createKeyAndCsr()).csrPem })).status).toBe(429);
    expect(await svidsOf(n.clientId)).toHaveLength(2);
  });

  it('refuses a revoked node and a node the accepted-client policy denies (403), issuing nothing', async () => {
    const revoked = nodes['edge-2']!;
    await core.client().identity.revokeNode({ name: 'edge-2' });
    const r1 = await as(revoked).post(RENEW, { csr: (await createKeyAndCsr()).csrPem });
    expect(r1.status).toBe(403);
    expect(r1.json<{ type: string; detail: string }>()).toMatchObject({
      type: expect.stringMatching(/#not-authorized$/),
      detail: expect.stringMatching(/revoked/),
    });
    expect(await svidsOf(revoked.clientId)).toHaveLength(1);

    const denied = nodes['edge-3']!;
    await core.client().identity.deny({ pattern: uriOf(denied.certPem)!.replace(/^URI:/, '') });
    const r2 = await as(denied).post(RENEW, { csr: (await createKeyAndCsr()).csrPem });
    expect(r2.status).toBe(403);
    expect(r2.json<{ detail: string }>().detail).toMatch(/denied by the accepted-client policy/);
    expect(await svidsOf(denied.clientId)).toHaveLength(1);
  });

  describe('the agent', () => {
    const agentHome = tempHome('outpost-renew-agent-');
    const paths = agentPaths(agentHome.home);
    const logs: LogLine[] = [];
    let agent: RunningAgent | undefined;
    afterAll(async () => {
      await agent?.stop();
      agentHome.cleanup();
    });

    it('keeps its identity and retries with backoff when renewal fails', async () => {
      const failHome = tempHome('outpost-renew-fail-');
      const failPaths = agentPaths(failHome.home);
      const failLogs: LogLine[] = [];
      const logger = createLogger({
        level: 'debug',
        destination: { write: (s: string) => void failLogs.push(JSON.parse(s) as LogLine) },
      });
      const token = await core
        .client()
        .identity.createEnrollToken({ node: 'edge-5', siteId: 'plant-r', ttlMinutes: 10 });
      await enrollAgent({ paths: failPaths, token: token.token, clock: systemClock, logger });
      const before = loadIdentity(failPaths);
      const config = fastAgentConfig();
      config.identity = { ...config.identity, retrySeconds: 0.1, maxRetrySeconds: 0.4 };
      const failing = await startAgent({
        home: failHome.home,
        lo: 'https://127.0.0.1:1', // nothing listens: every request fails
        logger,
        // Its SVID (issued with the LO 4 minutes ahead) is due for renewal 22.3 minutes from now.
        clock: { now: () => Date.now() + 26 * 60_000, monotonic: () => systemClock.monotonic() },
        version: 'test',
        config,
      });
      try {
        const failures = await waitFor(
          () => {
            const f = failLogs.filter((l) => l.msg.startsWith('SVID renewal failed'));
            return f.length >= 3 ? f : undefined;
          },
          { what: 'three failed renewals', timeoutMs: 15_000, intervalMs: 100 },
        );
        expect(failures.map((l) => l.failures)).toEqual([1, 2, 3]);
        expect(failures[0]!.msg).toMatch(/the current SVID stays in use/);
        expect(String(failures[0]!.err)).toMatch(/cannot reach the LO/);
        const after = loadIdentity(failPaths);
        expect(after.keyPem).toBe(before.keyPem);
        expect(after.certPem).toBe(before.certPem);
      } finally {
        await failing.stop();
        failHome.cleanup();
      }
    });

    it('renews its SVID by itself near expiry, keeps syncing with the new identity, and status shows it', async () => {
      loOffset = 0;
      const token = await core
        .client()
        .identity.createEnrollToken({ node: 'edge-4', siteId: 'plant-r', ttlMinutes: 10 });
      const logger = createLogger({
        level: 'debug',
        destination: { write: (s: string) => void logs.push(JSON.parse(s) as LogLine) },
      });
      await enrollAgent({ paths, token: token.token, clock: systemClock, logger, hostname: 'edge-4' });
      const before = loadIdentity(paths);
      loOffset = 4 * 60_000;
      const agentClock: Clock = {
        now: () => Date.now() + 21 * 60_000,
        monotonic: () => systemClock.monotonic(),
      };
      const config = fastAgentConfig();
      config.identity = { ...config.identity, retrySeconds: 0.2, maxRetrySeconds: 1 };
      agent = await startAgent({ home: agentHome.home, logger, clock: agentClock, version: 'test', config });

      await waitFor(() => logs.find((l) => l.msg.startsWith('node SVID renewed')), {
        what: 'the agent renews',
        timeoutMs: 20_000,
        intervalMs: 100,
      });
      const after = loadIdentity(paths);
      expect(after.keyPem).not.toBe(before.keyPem);
      expect(uriOf(after.certPem)).toBe(uriOf(before.certPem));
      expect(spki(after.certPem)).toEqual(spki(after.keyPem));
      expect(notAfterOf(after.certPem)).toBeGreaterThan(notAfterOf(before.certPem));
      expect(after.enrollment.notAfter).toBe(notAfterOf(after.certPem));
      expect(fs.statSync(paths.keyFile).mode & 0o777).toBe(0o600);
      expect(logs.filter((l) => l.msg.startsWith('SVID renewal failed'))).toEqual([]);

      // Only the new SVID works from now on: the agent must present it to keep syncing.
      const serialOf = (pem: string) => normaliseSerialHex(new X509Certificate(pem).serialNumber);
      core.store.sqlite
        .prepare('UPDATE svids SET revoked_at = ? WHERE serial_hex = ?')
        .run(Date.now(), serialOf(before.certPem));
      const mark = Date.now() + 21 * 60_000;
      await waitFor(
        () => {
          const s = readStateFile(paths.stateFile);
          return s !== undefined && (s.lastSync ?? 0) > mark + 500 && s.lastError === undefined;
        },
        { what: 'a sync with the new SVID', timeoutMs: 15_000, intervalMs: 100 },
      );
      expect(logs.filter((l) => /does not authorise this node/.test(l.msg))).toEqual([]);
      expect(logs.filter((l) => l.msg.startsWith('node SVID renewed'))).toHaveLength(1);

      const r = await edgectl(['agent', 'status', '--home', agentHome.home, '-o', 'json']);
      expect(r.code, r.stderr).toBe(0);
      const status = JSON.parse(r.stdout) as { svidNotAfter: number; svidRenewedAt: number };
      expect(status.svidNotAfter).toBe(notAfterOf(after.certPem));
      expect(status.svidRenewedAt).toBe(after.enrollment.renewedAt);
    });
  });
});
