import { waitFor } from '../../test/helpers/wait.js';
/**
 * The MMI server over real HTTPS with mutual TLS: the conformance suite against the in-memory backend (the
 * variant behind a base path is in server-base-path.test.ts), then what is particular to the server: 5xx
 * mapping, enrollment rate limits, TLS reload, connection age, expiry on an open connection, logging,
 * digest checks, configuration checks.
 */
import { Writable } from 'node:stream';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { manualClock } from '../../lib/base/index.js';
import { silentLogger } from '../../lib/log/index.js';
import { OutpostError } from '../../lib/errors/index.js';
import { clientSpiffeId, wfmSpiffeId } from '../../lib/identity/index.js';
import { createKeyAndCsr } from '../../lib/x509/index.js';
import { createSiteCa } from '../ca/index.js';
import { parseStateManifest } from '../../lib/margo/index.js';
import { createMmiClient, type MmiTestClient } from '../../test/helpers/mmi-client.js';
import { runMmiConformance, sampleDeploymentYaml } from './conformance/suite.js';
import { createMmiServer } from './server.js';
import { issueTestSvid, startMemoryMmi, type MemoryMmi } from './testing/memory-fixture.js';

runMmiConformance('in-memory backend', () => startMemoryMmi());
const DEPLOYMENT = '4a1f2c3d-0000-4000-8000-000000000001';

describe('MMI server specifics', () => {
  const mmis: MemoryMmi[] = [];
  const clients: MmiTestClient[] = [];

  afterEach(() => {
    for (const c of clients.splice(0)) c.close();
  });
  afterAll(async () => {
    await Promise.all(mmis.map((m) => m.close()));
  });

  async function start(options: Parameters<typeof startMemoryMmi>[0] = {}): Promise<MemoryMmi> {
    const m = await startMemoryMmi(options);
    mmis.push(m);
    return m;
  }

  async function client(m: MemoryMmi, clientId: string, keepAlive = false) {
    m.backend.accept(clientId);
    const s = await issueTestSvid(m.siteCa, clientSpiffeId(m.trustDomain, m.wfmId, clientId));
    const c = createMmiClient({
      baseUrl: m.baseUrl,
      certPem: s.certPem,
      keyPem: s.keyPem,
      anchorsPem: [m.siteCa.certPem],
      keepAlive,
    });
    clients.push(c);
    return { c, svid: s };
  }

  it('behind a base path, /api/v1 at the root is not an MMI route, the well-known document is at the root, and manifest URLs carry the prefix', async () => {
    const m = await start({ basePath: '/v1alpha2/margo' });
    expect(m.baseUrl).toBe(`${m.server.origin}/v1alpha2/margo`);
    const { c } = await client(m, 'n1');
    await m.backend.setDeployments('n1', [
      { deploymentId: DEPLOYMENT, yaml: sampleDeploymentYaml(DEPLOYMENT, 'dev-1') },
    ]);
    const manifest = parseStateManifest((await c.get('/api/v1/deployments')).body);
    expect(manifest.deployments[0]!.url).toMatch(/^\/v1alpha2\/margo\/api\/v1\/deployments\//);
    expect((await c.get(`${m.server.origin}/api/v1/deployments`)).status).toBe(404);
    expect((await c.get(`${m.server.origin}/.well-known/margo`)).status).toBe(200);
    expect((await c.get(`${m.baseUrl}/.well-known/margo`)).status).toBe(200);
  });

  it('503 and 429 from the backend carry Retry-After, retryable and exponential backoff; other failures are a 500 that reveals nothing', async () => {
    const m = await start();
    const { c } = await client(m, 'n1');
    m.backend.failWith(new OutpostError('unavailable', 'store is busy', { data: { retryAfterSeconds: 7 } }));
    let r = await c.get('/api/v1/deployments');
    expect(r.status).toBe(503);
    expect(r.headers['retry-after']).toBe('7');
    expect(r.json()).toMatchObject({
      type: 'about:blank',
      status: 503,
      retryable: true,
      backoffStrategy: 'exponential',
      retryAfterSeconds: 7,
    });
    m.backend.failWith(new OutpostError('rate-limited', 'slow down'));
    r = await c.get('/api/v1/deployments');
    expect(r.status).toBe(429);
    expect(r.headers['retry-after']).toMatch(/^\d+$/);
    m.backend.failWith(new Error('SQLITE_CORRUPT: secret table layout of client n2'));
    r = await c.get('/api/v1/deployments');
    expect(r.status).toBe(500);
    expect(r.text()).not.toContain('SQLITE');
    expect(r.text()).not.toContain('n2');
    expect(r.json()).toMatchObject({ type: 'about:blank', retryable: true });
    m.backend.failWith(undefined);
    expect((await c.get('/api/v1/deployments')).status).toBe(200);
  });

  it('serves 404 rather than bytes whose digest differs from the one asked for', async () => {
    const m = await start();
    const { c } = await client(m, 'n1');
    const stored = await m.backend.setDeployments('n1', [
      { deploymentId: DEPLOYMENT, yaml: sampleDeploymentYaml(DEPLOYMENT, 'dev-1') },
    ]);
    const manifest = parseStateManifest(stored.bytes);
    m.backend.corrupt('n1', manifest.deployments[0]!.digest);
    m.backend.corrupt('n1', manifest.bundle!.digest);
    expect((await c.get(manifest.deployments[0]!.url)).status).toBe(404);
    expect((await c.get(manifest.bundle!.url)).status).toBe(404);
  });

  it('limits refused enrollment attempts per token and address with 429 and Retry-After', async () => {
    const m = await start({ server: { enrollFailures: { max: 2, windowMs: 60_000, perAddress: 5 } } });
    const pinned = createMmiClient({
      baseUrl: m.baseUrl,
      serverCheck: { pinnedCaFingerprint: m.siteCa.fingerprint },
    });
    clients.push(pinned);
    const { csrPem } = await createKeyAndCsr();
    const statuses: number[] = [];
    for (let i = 0; i < 3; i++)
      statuses.push((await pinned.post('/api/v1/outpost/enroll', { token: 'opt1.x', csr: csrPem })).status);
    expect(statuses).toEqual([403, 403, 429]);
    const limited = await pinned.post('/api/v1/outpost/enroll', { token: 'opt1.x', csr: csrPem });
    expect(limited.json()).toMatchObject({ retryable: true, backoffStrategy: 'exponential' });
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
    // Another node behind the same address, with its own good token, still enrolls.
    const token = m.backend.createEnrollmentToken({ nodeName: 'late-node' });
    expect((await pinned.post('/api/v1/outpost/enroll', { token, csr: csrPem })).status).toBe(200);
    // Guessing with ever new tokens is still bounded per address.
    const guesses: number[] = [];
    for (let i = 0; i < 5; i++)
      guesses.push(
        (await pinned.post('/api/v1/outpost/enroll', { token: `opt1.g${i}`, csr: csrPem })).status,
      );
    expect(guesses).toEqual([403, 403, 403, 429, 429]);
    const other = m.backend.createEnrollmentToken({ nodeName: 'later-node' });
    expect((await pinned.post('/api/v1/outpost/enroll', { token: other, csr: csrPem })).status).toBe(429);
  });

  it('setTls swaps the client anchors without dropping the listener; an open connection of the old CA is refused on its next request', async () => {
    const m = await start();
    const { c: old } = await client(m, 'n1', true);
    expect((await old.get('/api/v1/deployments')).status).toBe(200);
    const newCa = await createSiteCa({
      trustDomain: m.trustDomain,
      name: 'Rotated CA',
      now: Date.now() - 86_400_000,
    });
    const wfm = await issueTestSvid(newCa, wfmSpiffeId(m.trustDomain, m.wfmId));
    m.server.setTls({
      certPem: wfm.certPem,
      keyPem: wfm.keyPem,
      chainPem: newCa.certPem,
      anchorsPem: [newCa.certPem],
    });
    const stale = await old.get('/api/v1/deployments');
    expect(stale.status).toBe(403);
    expect(stale.json<{ detail: string }>().detail).toContain('wrong-ca');
    const s = await issueTestSvid(newCa, clientSpiffeId(m.trustDomain, m.wfmId, 'n1'));
    const fresh = createMmiClient({
      baseUrl: m.baseUrl,
      certPem: s.certPem,
      keyPem: s.keyPem,
      anchorsPem: [newCa.certPem],
    });
    clients.push(fresh);
    expect((await fresh.get('/api/v1/deployments')).status).toBe(200);
    expect(() =>
      m.server.setTls({ certPem: s.certPem, keyPem: s.keyPem, anchorsPem: [newCa.certPem] }),
    ).toThrow(/URI SAN/);
  });

  it('closes a keep-alive connection once it is older than the cap, measured from the handshake', async () => {
    const clock = manualClock(Date.now());
    const m = await start({ clock, server: { maxConnectionAgeMs: 60_000 } });
    const { c } = await client(m, 'n1', true);
    const a = await c.get('/api/v1/deployments');
    const b = await c.get('/api/v1/deployments');
    expect(b.connection).toBe(a.connection);
    expect(b.headers.connection).not.toBe('close');
    clock.advance(61_000);
    const old = await c.get('/api/v1/deployments');
    expect(old.connection).toBe(a.connection);
    expect(old.headers.connection).toBe('close');
    const next = await c.get('/api/v1/deployments');
    expect(next.status).toBe(200);
    expect(next.connection).not.toBe(a.connection);
  });

  it('an SVID that expires during a kept-alive connection is refused on the next request', async () => {
    const clock = manualClock(Date.now());
    const m = await start({ clock, server: { maxConnectionAgeMs: 3_600_000 } });
    m.backend.accept('n1');
    const s = await issueTestSvid(m.siteCa, clientSpiffeId(m.trustDomain, m.wfmId, 'n1'), clock.now(), 600);
    const c = createMmiClient({
      baseUrl: m.baseUrl,
      certPem: s.certPem,
      keyPem: s.keyPem,
      anchorsPem: [m.siteCa.certPem],
      keepAlive: true,
    });
    clients.push(c);
    const a = await c.get('/api/v1/deployments');
    expect((await c.get('/api/v1/deployments')).status).toBe(200);
    clock.advance(11 * 60_000);
    const late = await c.get('/api/v1/deployments');
    expect(late.connection).toBe(a.connection);
    expect(late.status).toBe(403);
    expect(late.json<{ detail: string }>().detail).toContain('expired');
  });

  it('answers HEAD like GET without a body', async () => {
    const m = await start();
    const { c } = await client(m, 'n1');
    const get = await c.get('/api/v1/deployments');
    const head = await c.request('HEAD', '/api/v1/deployments');
    expect(head.status).toBe(200);
    expect(head.wire.length).toBe(0);
    expect(head.headers.etag).toBe(get.headers.etag);
    expect(head.headers['content-length']).toBe(String(get.body.length));
  });

  it('records last-seen for every authorised request', async () => {
    const clock = manualClock(Date.now());
    const m = await start({ clock });
    const { c } = await client(m, 'n1');
    await c.get('/api/v1/deployments');
    expect(m.backend.lastSeen('n1')).toBe(clock.now());
    clock.advance(5_000);
    await c.put('/api/v1/capabilities/dev-1', {
      properties: { id: 'dev-1', vendor: 'v', modelNumber: 'm', serialNumber: 's' },
    });
    expect(m.backend.lastSeen('n1')).toBe(clock.now());
  });

  describe('logging', () => {
    const lines: Record<string, unknown>[] = [];
    let m: MemoryMmi;

    beforeAll(async () => {
      const sink = new Writable({
        write(chunk: Buffer, _enc, done) {
          for (const l of chunk.toString().split('\n'))
            if (l.trim() !== '') lines.push(JSON.parse(l) as Record<string, unknown>);
          done();
        },
      });
      m = await start({ logger: pino({ level: 'debug' }, sink) });
    });

    it('one debug line per request with the SPIFFE ID; warnings for rejected and denied clients; never the token', async () => {
      const { c } = await client(m, 'n1');
      await c.get('/api/v1/deployments');
      const stranger = await issueTestSvid(m.siteCa, clientSpiffeId(m.trustDomain, m.wfmId, 'stranger'));
      const s = createMmiClient({
        baseUrl: m.baseUrl,
        certPem: stranger.certPem,
        keyPem: stranger.keyPem,
        anchorsPem: [m.siteCa.certPem],
      });
      clients.push(s);
      await s.get('/api/v1/deployments');
      const anon = createMmiClient({ baseUrl: m.baseUrl, anchorsPem: [m.siteCa.certPem] });
      clients.push(anon);
      await anon.get('/api/v1/deployments');
      const token = m.backend.createEnrollmentToken({ nodeName: 'n9' });
      const { csrPem } = await createKeyAndCsr();
      const pinned = createMmiClient({
        baseUrl: m.baseUrl,
        serverCheck: { pinnedCaFingerprint: m.siteCa.fingerprint },
      });
      clients.push(pinned);
      expect((await pinned.post('/api/v1/outpost/enroll', { token, csr: csrPem })).status).toBe(200);
      expect((await pinned.post('/api/v1/outpost/enroll', { token, csr: csrPem })).status).toBe(403);
      // The log is written after each answer: wait for the lines, not for a while.
      const logged = () =>
        lines.filter((l) => l.msg === 'MMI request').length >= 5 &&
        ['client-denied', 'peer-rejected', 'enroll-refused'].every((e) => lines.some((l) => l.event === e));
      await waitFor(logged, 'the request log lines');

      const requests = lines.filter((l) => l.msg === 'MMI request');
      expect(requests.length).toBeGreaterThanOrEqual(5);
      expect(requests[0]).toMatchObject({
        level: 20,
        method: 'GET',
        path: '/api/v1/deployments',
        status: 200,
        spiffeId: clientSpiffeId(m.trustDomain, m.wfmId, 'n1'),
      });
      const warns = lines.filter((l) => l.level === 40);
      expect(warns.map((w) => w.event)).toEqual(
        expect.arrayContaining(['client-denied', 'peer-rejected', 'enroll-refused']),
      );
      expect(warns.find((w) => w.event === 'client-denied')).toMatchObject({
        spiffeId: clientSpiffeId(m.trustDomain, m.wfmId, 'stranger'),
      });
      expect(warns.find((w) => w.event === 'peer-rejected')).toMatchObject({ code: 'no-certificate' });
      const secret = token.split('.')[2]!;
      expect(JSON.stringify(lines)).not.toContain(secret);
    });
  });

  it('refuses a configuration whose server SVID is not this WFM’s, or a bad base path', async () => {
    const ca = await createSiteCa({
      trustDomain: 'plant7.example',
      name: 'CA',
      now: Date.now() - 86_400_000,
    });
    const other = await issueTestSvid(ca, wfmSpiffeId('plant7.example', 'lo-2'));
    const base = {
      backend: (await start()).backend,
      tls: { certPem: other.certPem, keyPem: other.keyPem, anchorsPem: [ca.certPem] },
      trustDomain: 'plant7.example',
      wfmId: 'lo-1',
      logger: silentLogger(),
      clock: manualClock(),
    };
    await expect(createMmiServer(base)).rejects.toThrow(/spiffe:\/\/plant7\.example\/margo\/wfm\/lo-1/);
    await expect(createMmiServer({ ...base, wfmId: 'lo-2', basePath: '/trailing/' })).rejects.toThrow(
      /basePath/,
    );
  });
});
