/**
 * The Margo Management Interface (rc.3) conformance suite for a WFM: real HTTPS with mutual TLS, client
 * SVIDs signed by the fixture's site CA, every endpoint with its success and error cases, the identity
 * checks, and the scope rule (a client never sees or changes another client's resources). Backend-agnostic:
 * `runMmiConformance('in-memory', makeFixture)` in core/mmi/server.test.ts, and the same call with the real
 * LO backend in its own test file. Imported by test files only (it calls vitest's describe/it).
 */
import { createHash, generateKeyPairSync, X509Certificate } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import { extract as tarExtract } from 'tar-stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import {
  clientSpiffeId,
  parseTrustBundle,
  parseWellKnownMargo,
  wfmSpiffeId,
} from '../../../lib/identity/index.js';
import { createKeyAndCsr, loadX509 } from '../../../lib/x509/index.js';
import { createSiteCa, issueSvid } from '../../ca/index.js';
import { handCert } from '../../ca/testing/certs.js';
import {
  BUNDLE_MEDIA_TYPE,
  canonicalJson,
  MANIFEST_MEDIA_TYPE,
  type StateManifest,
} from '../../../lib/model/index.js';
import { parseStateManifest, renderApplicationDeployment } from '../../../lib/margo/index.js';
import {
  createMmiClient,
  type MmiClientOptions,
  type MmiReply,
  type MmiTestClient,
} from '../../../test/helpers/mmi-client.js';
import { MARGO_PROBLEM_BASE } from '../../../lib/mmi/index.js';
import type { MakeMmiFixture, MmiConformanceFixture, MmiConformanceOptions } from './fixture.js';

export type { MakeMmiFixture, MmiConformanceFixture, MmiConformanceOptions } from './fixture.js';

const DAY = 86_400_000;
const MANIFEST_TYPE = MANIFEST_MEDIA_TYPE;
const BUNDLE_TYPE = BUNDLE_MEDIA_TYPE;
const ETAG = /^"sha256:[0-9a-f]{64}"$/;
const ZERO_DIGEST = `sha256:${'0'.repeat(64)}`;

interface Svid {
  certPem: string;
  keyPem: string;
  serialHex: string;
}

function sha256(bytes: Uint8Array): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

function newKey(): { keyPem: string; publicKeyPem: string } {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return {
    keyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
  };
}

function uuid(n: number, salt: string): string {
  const h = createHash('sha256').update(`${salt}:${n}`).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-8${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/** An rc.3 ApplicationDeployment for `deviceId`, rendered by lib/margo (deterministic bytes). */
export function sampleDeploymentYaml(deploymentId: string, deviceId: string, revision = '1.0.0'): string {
  return renderApplicationDeployment({
    deploymentId,
    name: `hello-${deploymentId.slice(0, 8)}`,
    namespace: 'default',
    deviceId,
    applicationId: 'hello-world',
    profile: {
      type: 'compose',
      id: 'compose-1',
      components: [
        { name: 'hello', properties: { repository: 'oci://registry.local/apps/hello', revision } },
      ],
    },
    parameters: {},
  }).yaml;
}

/** A full rc.3 capabilities body for a device that hosts workloads. */
export function sampleCapabilities(id: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    properties: {
      id,
      vendor: 'Acme Corp',
      modelNumber: 'ACM-XYZ',
      serialNumber: 'SN-12345',
      cpus: [{ cores: 4, architecture: 'arm64' }],
      memory: '16Gi',
      storage: '256Gi',
      peripherals: [],
      interfaces: [{ type: 'ethernet' }],
      otelCollector: true,
      supportedRuntimes: ['oci'],
      supportedDeploymentTypes: ['compose'],
    },
    ...extra,
  };
}

/** A see-thru gateway that hosts nothing: identity fields only. */
function gatewayCapabilities(id: string): Record<string, unknown> {
  return { properties: { id, vendor: 'Acme Corp', modelNumber: 'GW-1', serialNumber: 'GW-SN-1' } };
}

async function untar(gz: Buffer): Promise<{ name: string; type: string; bytes: Buffer }[]> {
  const tar = gunzipSync(gz);
  const ex = tarExtract();
  const out: { name: string; type: string; bytes: Buffer }[] = [];
  const done = new Promise<void>((resolve, reject) => {
    ex.on('entry', (header, stream, next) => {
      const chunks: Buffer[] = [];
      stream.on('data', (c: unknown) => {
        chunks.push(c as Buffer);
      });
      stream.on('end', () => {
        out.push({ name: header.name, type: header.type ?? 'file', bytes: Buffer.concat(chunks) });
        next();
      });
      stream.resume();
    });
    ex.on('finish', resolve);
    ex.on('error', reject);
  });
  ex.end(tar);
  await done;
  return out;
}

function derOf(pem: string): string {
  return new X509Certificate(pem).raw.toString('base64');
}

export function runMmiConformance(
  name: string,
  makeFixture: MakeMmiFixture,
  options: MmiConformanceOptions = {},
): void {
  const refuseUntrusted = (options.untrustedCertificate ?? 'refuse-handshake') === 'refuse-handshake';

  describe(`Margo MMI rc.3 conformance (${name})`, () => {
    let fx: MmiConformanceFixture;
    let otherCa: { certPem: string; keyPem: string };
    const open: MmiTestClient[] = [];
    let seq = 0;

    beforeAll(async () => {
      fx = await makeFixture();
      otherCa = await createSiteCa({
        trustDomain: fx.trustDomain,
        name: 'Impostor CA',
        now: Date.now() - DAY,
      });
    });

    afterAll(async () => {
      for (const c of open) c.close();
      await fx?.close();
    });

    const unique = (prefix: string) => `${prefix}-${++seq}-${Math.random().toString(36).slice(2, 8)}`;
    const prefix = () => new URL(fx.baseUrl).pathname.replace(/\/+$/, '');
    const origin = () => new URL(fx.baseUrl).origin;

    function connect(o: Partial<MmiClientOptions>): MmiTestClient {
      const c = createMmiClient({ baseUrl: fx.baseUrl, anchorsPem: [fx.ca.certPem], ...o });
      open.push(c);
      return c;
    }

    async function svid(
      spiffeId: string,
      o: { signer?: { certPem: string; keyPem: string }; at?: number; ttlSeconds?: number } = {},
    ): Promise<Svid> {
      const key = newKey();
      const issued = await issueSvid({
        ca: o.signer ?? fx.ca,
        publicKey: key.publicKeyPem,
        spiffeId,
        now: o.at ?? Date.now(),
        ttlSeconds: o.ttlSeconds ?? 3600,
      });
      return { certPem: issued.certPem, keyPem: key.keyPem, serialHex: issued.serialHex };
    }

    /** An accepted client with its own SVID and a connection to the MMI. */
    async function newClient(
      label = 'node',
      o: { keepAlive?: boolean } = {},
    ): Promise<{ clientId: string; svid: Svid; http: MmiTestClient }> {
      const clientId = await fx.acceptClient(unique(label));
      const s = await svid(clientSpiffeId(fx.trustDomain, fx.wfmId, clientId));
      const http = connect({ certPem: s.certPem, keyPem: s.keyPem, keepAlive: o.keepAlive ?? false });
      return { clientId, svid: s, http };
    }

    function expectProblem(r: MmiReply, status: number, type: string, path?: string) {
      expect(r.status, r.text()).toBe(status);
      expect(r.headers['content-type']).toMatch(/^application\/problem\+json/);
      const p = r.json<Record<string, unknown>>();
      expect(p.type).toBe(type === 'about:blank' ? 'about:blank' : MARGO_PROBLEM_BASE + type);
      expect(p.status).toBe(status);
      expect(typeof p.title === 'string' && p.title.length > 0).toBe(true);
      expect(typeof p.detail === 'string' && p.detail.length > 0).toBe(true);
      if (path !== undefined) expect(p.instance).toBe(prefix() + path);
      if (status === 429 || status === 503) {
        expect(r.headers['retry-after']).toMatch(/^\d+$/);
        expect(p).toMatchObject({ retryable: true, backoffStrategy: 'exponential' });
      } else if (status !== 500) {
        expect(p).toMatchObject({ retryable: false, backoffStrategy: 'none' });
      }
      if (status === 422) {
        expect(Array.isArray(p.errors) && (p.errors as unknown[]).length > 0).toBe(true);
      }
      return p;
    }

    async function manifestOf(http: MmiTestClient): Promise<{ reply: MmiReply; manifest: StateManifest }> {
      const reply = await http.get('/api/v1/deployments');
      expect(reply.status, reply.text()).toBe(200);
      return { reply, manifest: parseStateManifest(reply.body) };
    }

    /** A client with two deployments on its device `dev-1`. */
    async function clientWithDeployments(label = 'dep') {
      const c = await newClient(label);
      const ids = [uuid(++seq, c.clientId), uuid(++seq, c.clientId)];
      const yamls = new Map(ids.map((id) => [id, sampleDeploymentYaml(id, 'dev-1')]));
      await fx.setDeployments(
        c.clientId,
        ids.map((id) => ({ deploymentId: id, yaml: yamls.get(id)! })),
      );
      const { manifest, reply } = await manifestOf(c.http);
      return { ...c, ids, yamls, manifest, reply };
    }

    // ------------------------------------------------------------------------------------------------
    describe('discovery and trust bundle (no client certificate)', () => {
      it('serves /.well-known/margo with the trust domain and an https trust bundle URI on this server', async () => {
        const anon = connect({});
        const r = await anon.get(`${origin()}/.well-known/margo`);
        expect(r.status).toBe(200);
        expect(r.headers['content-type']).toMatch(/^application\/json/);
        const doc = parseWellKnownMargo(r.body, { expectTrustDomain: fx.trustDomain });
        expect(doc.trustDomain).toBe(fx.trustDomain);
        expect(new URL(doc.trustBundleUri).protocol).toBe('https:');
        expect(new URL(doc.trustBundleUri).origin).toBe(origin());
        expect(r.headers.etag).toMatch(ETAG);
        const again = await anon.get(`${origin()}/.well-known/margo`, { 'if-none-match': r.headers.etag! });
        expect(again.status).toBe(304);
      });

      it('serves the SPIFFE trust bundle holding the site CA, with ETag and 304', async () => {
        const anon = connect({});
        const doc = parseWellKnownMargo((await anon.get(`${origin()}/.well-known/margo`)).body);
        const r = await anon.get(doc.trustBundleUri);
        expect(r.status).toBe(200);
        const bundle = parseTrustBundle(r.body);
        expect(bundle.anchorsPem.map(derOf)).toContain(derOf(fx.ca.certPem));
        expect(r.headers.etag).toBeDefined();
        expect((await anon.get(doc.trustBundleUri, { 'if-none-match': r.headers.etag! })).status).toBe(304);
      });

      it('is reachable by a node that only knows the CA fingerprint (the server sends its CA)', async () => {
        const pinned = connect({ serverCheck: { pinnedCaFingerprint: fx.ca.fingerprint } });
        const r = await pinned.get(`${origin()}/.well-known/margo`);
        expect(r.status).toBe(200);
      });
    });

    // ------------------------------------------------------------------------------------------------
    describe('identity: mutual TLS and the accepted-client policy', () => {
      const protectedRoutes: [string, string, unknown?][] = [
        ['GET', '/api/v1/deployments'],
        ['GET', `/api/v1/deployments/${uuid(1, 'x')}/${ZERO_DIGEST}`],
        ['GET', `/api/v1/bundles/${ZERO_DIGEST}`],
        ['PUT', '/api/v1/capabilities/dev-1', sampleCapabilities('dev-1')],
        ['DELETE', '/api/v1/capabilities/dev-1'],
        ['POST', `/api/v1/deployments/${uuid(1, 'x')}/status`, { deploymentId: uuid(1, 'x') }],
        ['GET', '/api/v1/no-such-route'],
      ];

      it.each(protectedRoutes)(
        '%s %s without a client certificate → 403 not-authorized',
        async (method, path, json) => {
          const anon = connect({});
          const r = await anon.request(method, path, json === undefined ? {} : { json });
          expectProblem(r, 403, 'not-authorized', path);
        },
      );

      it('an accepted client is served over TLS 1.3, and the server proves it is this WFM', async () => {
        const c = await newClient();
        const r = await c.http.get('/api/v1/deployments');
        expect(r.status).toBe(200);
        expect(r.tlsProtocol).toBe('TLSv1.3');
      });

      it('TLS 1.2 is a working fallback; anything older is refused', async () => {
        const c = await newClient();
        const v12 = connect({
          certPem: c.svid.certPem,
          keyPem: c.svid.keyPem,
          tls: { maxVersion: 'TLSv1.2' },
        });
        const r = await v12.get('/api/v1/deployments');
        expect(r.status).toBe(200);
        expect(r.tlsProtocol).toBe('TLSv1.2');
        const v11 = connect({
          certPem: c.svid.certPem,
          keyPem: c.svid.keyPem,
          tls: { maxVersion: 'TLSv1.1', minVersion: 'TLSv1' },
        });
        await expect(v11.get('/api/v1/deployments')).rejects.toThrow();
      });

      it('a valid SVID of a client outside the accepted-client policy → 403', async () => {
        const s = await svid(clientSpiffeId(fx.trustDomain, fx.wfmId, unique('stranger')));
        const r = await connect({ certPem: s.certPem, keyPem: s.keyPem }).get('/api/v1/deployments');
        expectProblem(r, 403, 'not-authorized', '/api/v1/deployments');
      });

      it.each([
        ['another CA (same trust domain and name)', 'wrong-ca'],
        ['an expired certificate', 'expired'],
      ])(
        `a client certificate from ${'%s'} is ${refuseUntrusted ? 'refused at the handshake' : 'answered 403'}`,
        async (_what, kind) => {
          const clientId = await fx.acceptClient(unique('bad'));
          const id = clientSpiffeId(fx.trustDomain, fx.wfmId, clientId);
          const s =
            kind === 'wrong-ca'
              ? await svid(id, { signer: otherCa })
              : await svid(id, { at: Date.now() - 10 * DAY, ttlSeconds: 86_400 });
          const c = connect({ certPem: s.certPem, keyPem: s.keyPem });
          if (refuseUntrusted) {
            await expect(c.get('/api/v1/deployments')).rejects.toThrow();
          } else {
            const r = await c.get('/api/v1/deployments');
            const p = expectProblem(r, 403, 'not-authorized');
            expect(p.detail).toContain(kind);
          }
        },
      );

      it.each([
        [
          'another trust domain',
          'wrong-trust-domain',
          (td: string, wfm: string) => [clientSpiffeId('other.example', wfm, 'n1')],
        ],
        ['the WFM’s own ID', 'wrong-form', (td: string, wfm: string) => [wfmSpiffeId(td, wfm)]],
        ['a client of another WFM', 'wrong-form', (td: string) => [clientSpiffeId(td, 'other', 'x')]],
        [
          'a longer client path',
          'wrong-form',
          (td: string, wfm: string) => [`${clientSpiffeId(td, wfm, 'x')}/extra`],
        ],
        ['a non-Margo path', 'wrong-form', (td: string) => [`spiffe://${td}/workload/x`]],
        [
          'two URI SANs',
          'multiple-uri-sans',
          (td: string, wfm: string) => [clientSpiffeId(td, wfm, 'a'), clientSpiffeId(td, wfm, 'b')],
        ],
        ['no URI SAN', 'no-uri-san', () => []],
      ])('a site-CA-signed certificate with %s → 403 not-authorized (%s)', async (_what, code, uris) => {
        const now = Date.now();
        const cert = await handCert({
          issuer: fx.ca,
          uris: uris(fx.trustDomain, fx.wfmId),
          isCa: false,
          keyUsage: (await loadX509()).KeyUsageFlags.digitalSignature,
          notBefore: now - DAY,
          notAfter: now + DAY,
        });
        const c = connect({ certPem: cert.certPem, keyPem: cert.keyPem, serverCheck: 'chain' });
        const p = expectProblem(
          await c.get('/api/v1/deployments'),
          403,
          'not-authorized',
          '/api/v1/deployments',
        );
        expect(p.detail).toContain(code);
      });

      it('a site-CA-signed CA certificate used as a client leaf → 403 not-authorized (ca-leaf)', async () => {
        const now = Date.now();
        const cert = await handCert({
          issuer: fx.ca,
          uris: [clientSpiffeId(fx.trustDomain, fx.wfmId, await fx.acceptClient(unique('ca-leaf')))],
          isCa: true,
          keyUsage: await loadX509().then(
            (x) => x.KeyUsageFlags.digitalSignature | x.KeyUsageFlags.keyCertSign,
          ),
          notBefore: now - DAY,
          notAfter: now + DAY,
        });
        const c = connect({ certPem: cert.certPem, keyPem: cert.keyPem, serverCheck: 'chain' });
        const p = expectProblem(
          await c.get('/api/v1/deployments'),
          403,
          'not-authorized',
          '/api/v1/deployments',
        );
        expect(p.detail).toContain('ca-leaf');
      });

      it('a revoked node gets 403 on its next request, on the same keep-alive connection', async () => {
        const c = await newClient('revoked', { keepAlive: true });
        const first = await c.http.get('/api/v1/deployments');
        expect(first.status).toBe(200);
        await fx.revokeClient(c.clientId);
        const second = await c.http.get('/api/v1/deployments');
        expectProblem(second, 403, 'not-authorized', '/api/v1/deployments');
        expect(second.connection).toBe(first.connection);
        expect(second.headers.connection).toBe('close'); // and the connection is not kept
        const third = await c.http.get('/api/v1/deployments');
        expectProblem(third, 403, 'not-authorized');
        expect(third.connection).not.toBe(first.connection);
      });
    });

    // ------------------------------------------------------------------------------------------------
    describe('GET /api/v1/deployments (state manifest)', () => {
      it('a new client gets manifestVersion 1, no deployments and `bundle: null` (present)', async () => {
        const c = await newClient();
        const { reply, manifest } = await manifestOf(c.http);
        expect(manifest).toEqual({ manifestVersion: 1, bundle: null, deployments: [] });
        expect(reply.json()).toHaveProperty('bundle', null);
        expect(reply.text()).toContain('"bundle":null');
      });

      it('headers: media type, strong ETag = sha256 of the exact body, Cache-Control private and never immutable', async () => {
        const { reply } = await clientWithDeployments();
        expect(reply.headers['content-type']).toBe(MANIFEST_TYPE);
        expect(reply.headers.etag).toMatch(ETAG);
        expect(reply.headers.etag).toBe(`"${sha256(reply.body)}"`);
        expect(reply.headers['content-encoding']).toBeUndefined();
        expect(reply.headers['cache-control']).toMatch(/\bprivate\b/);
        expect(reply.headers['cache-control']).not.toMatch(/immutable/);
        expect(reply.headers['cache-control']).not.toMatch(/max-age=[1-9]/);
      });

      it('is deterministic canonical JSON (RFC 8785) and identical between polls without changes', async () => {
        const { http, reply } = await clientWithDeployments();
        expect(reply.text()).toBe(canonicalJson(reply.json()));
        const again = await http.get('/api/v1/deployments');
        expect(again.body.equals(reply.body)).toBe(true);
        expect(again.headers.etag).toBe(reply.headers.etag);
      });

      it('lists every deployment with content-addressed URLs and a bundle reference', async () => {
        const { manifest, ids, yamls } = await clientWithDeployments();
        expect(manifest.deployments.map((d) => d.deploymentId).sort()).toEqual([...ids].sort());
        for (const d of manifest.deployments) {
          expect(d.digest).toBe(sha256(Buffer.from(yamls.get(d.deploymentId)!, 'utf8')));
          expect(d.url).toBe(`${prefix()}/api/v1/deployments/${d.deploymentId}/${d.digest}`);
        }
        expect(manifest.bundle).not.toBeNull();
        expect(manifest.bundle!.mediaType).toBe(BUNDLE_TYPE);
        expect(manifest.bundle!.url).toBe(`${prefix()}/api/v1/bundles/${manifest.bundle!.digest}`);
      });

      it('manifestVersion strictly increases with every change, and the bundle is null again when empty', async () => {
        const c = await newClient();
        const versions: number[] = [(await manifestOf(c.http)).manifest.manifestVersion];
        const a = uuid(++seq, c.clientId);
        const b = uuid(++seq, c.clientId);
        const steps = [
          [{ deploymentId: a, yaml: sampleDeploymentYaml(a, 'dev-1') }],
          [
            { deploymentId: a, yaml: sampleDeploymentYaml(a, 'dev-1') },
            { deploymentId: b, yaml: sampleDeploymentYaml(b, 'dev-1') },
          ],
          [{ deploymentId: b, yaml: sampleDeploymentYaml(b, 'dev-1', '1.1.0') }],
          [],
        ];
        let last: StateManifest | undefined;
        for (const step of steps) {
          await fx.setDeployments(c.clientId, step);
          last = (await manifestOf(c.http)).manifest;
          expect(last.deployments).toHaveLength(step.length);
          versions.push(last.manifestVersion);
        }
        for (let i = 1; i < versions.length; i++) expect(versions[i]).toBeGreaterThan(versions[i - 1]!);
        expect(last!.bundle).toBeNull();
      });

      it('304 when If-None-Match matches (exact, weak, in a list, or *), 200 otherwise', async () => {
        const { http, reply } = await clientWithDeployments();
        const etag = reply.headers.etag!;
        for (const inm of [etag, `W/${etag}`, `"${ZERO_DIGEST}", ${etag}`, '*']) {
          const r = await http.get('/api/v1/deployments', { 'if-none-match': inm });
          expect(r.status, inm).toBe(304);
          expect(r.wire.length).toBe(0);
          expect(r.headers.etag).toBe(etag);
          expect(r.headers['cache-control']).not.toMatch(/immutable/);
        }
        const miss = await http.get('/api/v1/deployments', { 'if-none-match': `"${ZERO_DIGEST}"` });
        expect(miss.status).toBe(200);
      });

      it.each(['text/plain', 'application/xml, text/html', `${MANIFEST_TYPE};q=0`])(
        '406 server-cannot-generate-response for Accept: %s',
        async (accept) => {
          const c = await newClient();
          expectProblem(
            await c.http.get('/api/v1/deployments', { accept }),
            406,
            'server-cannot-generate-response',
            '/api/v1/deployments',
          );
        },
      );

      it.each([
        undefined,
        '*/*',
        'application/*',
        MANIFEST_TYPE,
        `${MANIFEST_TYPE}; charset=utf-8`,
        `text/plain, ${MANIFEST_TYPE};q=0.5`,
      ])('the default format for Accept: %s', async (accept) => {
        const c = await newClient();
        const r = await c.http.get('/api/v1/deployments', accept === undefined ? {} : { accept });
        expect(r.status).toBe(200);
        expect(r.headers['content-type']).toBe(MANIFEST_TYPE);
      });

      it('manifestVersion, ETag and bundle survive a restart; the next change goes on counting', async (ctx) => {
        if (fx.restart === undefined) return ctx.skip();
        const { clientId, svid: s, reply, manifest, ids } = await clientWithDeployments('persist');
        await fx.restart();
        const http = connect({ certPem: s.certPem, keyPem: s.keyPem });
        const after = await http.get('/api/v1/deployments');
        expect(after.status).toBe(200);
        expect(after.headers.etag).toBe(reply.headers.etag);
        expect(after.body.equals(reply.body)).toBe(true);
        const bundle = await http.get(manifest.bundle!.url.slice(prefix().length));
        expect(sha256(bundle.body)).toBe(manifest.bundle!.digest);
        await fx.setDeployments(clientId, [
          { deploymentId: ids[0]!, yaml: sampleDeploymentYaml(ids[0]!, 'dev-1', '2.0.0') },
        ]);
        const next = parseStateManifest((await http.get('/api/v1/deployments')).body);
        expect(next.manifestVersion).toBeGreaterThan(manifest.manifestVersion);
      });
    });

    // ------------------------------------------------------------------------------------------------
    describe('GET /api/v1/deployments/{deploymentId}/{digest} (deployment YAML)', () => {
      it('serves the exact YAML bytes with digest ETag, immutable private caching and Vary: Accept-Encoding', async () => {
        const { http, manifest, yamls } = await clientWithDeployments();
        for (const d of manifest.deployments) {
          const r = await http.get(d.url.slice(prefix().length));
          expect(r.status).toBe(200);
          expect(r.headers['content-type']).toMatch(/^application\/yaml/);
          expect(r.headers['content-encoding']).toBeUndefined();
          expect(r.wire.equals(r.body)).toBe(true);
          expect(sha256(r.body)).toBe(d.digest);
          expect(r.text()).toBe(yamls.get(d.deploymentId));
          expect((parseYaml(r.text()) as { id: string }).id).toBe(d.deploymentId);
          expect(r.headers.etag).toBe(`"${d.digest}"`);
          expect(r.headers['cache-control']?.split(/\s*,\s*/).sort()).toEqual([
            'immutable',
            'max-age=31536000',
            'private',
          ]);
          expect(r.headers.vary).toMatch(/accept-encoding/i);
        }
      });

      it('gzip on the wire when accepted: the digest holds for the decoded bytes', async () => {
        const { http, manifest } = await clientWithDeployments();
        const d = manifest.deployments[0]!;
        const r = await http.get(d.url.slice(prefix().length), { 'accept-encoding': 'gzip' });
        expect(r.status).toBe(200);
        expect(r.headers['content-encoding']).toBe('gzip');
        expect(r.wire.equals(r.body)).toBe(false);
        expect(gunzipSync(r.wire).equals(r.body)).toBe(true);
        expect(sha256(r.body)).toBe(d.digest);
        expect(r.headers.etag).toBe(`"${d.digest}"`);
        const plain = await http.get(d.url.slice(prefix().length), { 'accept-encoding': 'identity' });
        expect(plain.headers['content-encoding']).toBeUndefined();
        expect(sha256(plain.wire)).toBe(d.digest);
      });

      it('304 when If-None-Match carries the digest', async () => {
        const { http, manifest } = await clientWithDeployments();
        const d = manifest.deployments[0]!;
        const r = await http.get(d.url.slice(prefix().length), { 'if-none-match': `"${d.digest}"` });
        expect(r.status).toBe(304);
        expect(r.wire.length).toBe(0);
        expect(r.headers.etag).toBe(`"${d.digest}"`);
      });

      it('keeps serving a previous digest right after an update (no 404 race for a polling client)', async () => {
        const { clientId, http, manifest, ids } = await clientWithDeployments();
        const old = manifest.deployments.find((d) => d.deploymentId === ids[0])!;
        await fx.setDeployments(clientId, [
          { deploymentId: ids[0]!, yaml: sampleDeploymentYaml(ids[0]!, 'dev-1', '3.0.0') },
        ]);
        const r = await http.get(old.url.slice(prefix().length));
        expect(r.status).toBe(200);
        expect(sha256(r.body)).toBe(old.digest);
      });

      it('404 deployment-not-found for an unknown id, a digest of another deployment, and malformed digests', async () => {
        const { http, manifest } = await clientWithDeployments();
        const [d0, d1] = manifest.deployments;
        const cases = [
          `/api/v1/deployments/${uuid(++seq, 'nobody')}/${d0!.digest}`,
          `/api/v1/deployments/${d0!.deploymentId}/${d1!.digest}`,
          `/api/v1/deployments/${d0!.deploymentId}/${ZERO_DIGEST}`,
          `/api/v1/deployments/${d0!.deploymentId}/${d0!.digest.toUpperCase().replace('SHA256', 'sha256')}`,
          `/api/v1/deployments/${d0!.deploymentId}/md5:0123456789abcdef0123456789abcdef`,
          `/api/v1/deployments/${d0!.deploymentId}/sha256:xyz`,
          `/api/v1/deployments/${d0!.deploymentId}/${d0!.digest.slice(7)}`,
        ];
        for (const path of cases) expectProblem(await http.get(path), 404, 'deployment-not-found', path);
      });
    });

    // ------------------------------------------------------------------------------------------------
    describe('GET /api/v1/bundles/{digest}', () => {
      it('serves the stored tar.gz: media type, digest ETag, immutable caching; digest over the decoded bytes with or without gzip asked for', async () => {
        const { http, manifest } = await clientWithDeployments();
        const path = manifest.bundle!.url.slice(prefix().length);
        for (const headers of [{}, { 'accept-encoding': 'gzip' }] as Record<string, string>[]) {
          const r = await http.get(path, headers);
          expect(r.status).toBe(200);
          expect(r.headers['content-type']).toBe(BUNDLE_TYPE);
          expect(sha256(r.body)).toBe(manifest.bundle!.digest);
          expect(r.headers.etag).toBe(`"${manifest.bundle!.digest}"`);
          expect(r.headers['cache-control']?.split(/\s*,\s*/).sort()).toEqual([
            'immutable',
            'max-age=31536000',
            'private',
          ]);
        }
      });

      it('holds exactly the deployments of the manifest at its root, byte for byte as served one by one', async () => {
        const { http, manifest } = await clientWithDeployments();
        const r = await http.get(manifest.bundle!.url.slice(prefix().length));
        const entries = (await untar(r.body)).filter((e) => e.type === 'file');
        expect(entries).toHaveLength(manifest.deployments.length);
        const byId = new Map<string, Buffer>();
        for (const e of entries) {
          expect(e.name.replace(/^\.\//, '')).not.toContain('/');
          byId.set((parseYaml(e.bytes.toString('utf8')) as { id: string }).id, e.bytes);
        }
        for (const d of manifest.deployments) {
          const one = await http.get(d.url.slice(prefix().length));
          expect(byId.get(d.deploymentId)?.equals(one.body)).toBe(true);
          expect(sha256(byId.get(d.deploymentId)!)).toBe(d.digest);
        }
      });

      it('is built once and stored: the same digest and bytes on every poll and fetch', async () => {
        const { http, manifest } = await clientWithDeployments();
        const path = manifest.bundle!.url.slice(prefix().length);
        const [a, b] = [await http.get(path), await http.get(path)];
        expect(a.body.equals(b.body)).toBe(true);
        const again = (await manifestOf(http)).manifest;
        expect(again.bundle!.digest).toBe(manifest.bundle!.digest);
      });

      it('304 when If-None-Match carries the digest', async () => {
        const { http, manifest } = await clientWithDeployments();
        const r = await http.get(manifest.bundle!.url.slice(prefix().length), {
          'if-none-match': `"${manifest.bundle!.digest}"`,
        });
        expect(r.status).toBe(304);
        expect(r.wire.length).toBe(0);
      });

      it('404 invalid-bundle for an unknown digest, a deployment digest and malformed digests', async () => {
        const { http, manifest } = await clientWithDeployments();
        for (const digest of [ZERO_DIGEST, manifest.deployments[0]!.digest, 'sha256:abc', 'latest']) {
          const path = `/api/v1/bundles/${digest}`;
          expectProblem(await http.get(path), 404, 'invalid-bundle', path);
        }
      });
    });

    // ------------------------------------------------------------------------------------------------
    describe('PUT and DELETE /api/v1/capabilities/{deviceId}', () => {
      it('201 when created, 200 when updated; the rc.2 envelope (apiVersion/kind) is refused with 400', async () => {
        const c = await newClient();
        const path = '/api/v1/capabilities/dev-1';
        expect((await c.http.put(path, sampleCapabilities('dev-1'))).status).toBe(201);
        expect((await c.http.put(path, sampleCapabilities('dev-1'))).status).toBe(200);
        // rc.3 closes the object (additionalProperties: false): the rc.2 envelope is a malformed body.
        const legacy = {
          apiVersion: 'device.margo.org/v1alpha1',
          kind: 'DeviceCapabilitiesManifest',
          ...sampleCapabilities('dev-1'),
        };
        expectProblem(await c.http.put(path, legacy), 400, 'invalid-request', path);
      });

      it('a child device before its gateway → 404 gateway-not-found; after the gateway → 201', async () => {
        const c = await newClient();
        const child = '/api/v1/capabilities/gw-1/cam-1';
        expectProblem(
          await c.http.put(child, sampleCapabilities('gw-1/cam-1')),
          404,
          'gateway-not-found',
          child,
        );
        expect((await c.http.put('/api/v1/capabilities/gw-1', gatewayCapabilities('gw-1'))).status).toBe(201);
        expect((await c.http.put(child, sampleCapabilities('gw-1/cam-1'))).status).toBe(201);
        expect(
          (
            await c.http.put(
              '/api/v1/capabilities/gw-1/cam-1/lens-1',
              sampleCapabilities('gw-1/cam-1/lens-1'),
            )
          ).status,
        ).toBe(201);
        expect((await c.http.delete(child)).status).toBe(204);
      });

      it('DELETE of a gateway takes its child devices with it, and only its own (ids compare exactly)', async () => {
        const c = await newClient();
        // `_` and case are where a pattern match (SQL LIKE) would reach other gateways' children.
        for (const gw of ['gw_1', 'gwa1', 'GW_1']) {
          expect((await c.http.put(`/api/v1/capabilities/${gw}`, gatewayCapabilities(gw))).status).toBe(201);
          expect(
            (await c.http.put(`/api/v1/capabilities/${gw}/cam`, sampleCapabilities(`${gw}/cam`))).status,
          ).toBe(201);
        }
        expect((await c.http.delete('/api/v1/capabilities/gw_1')).status).toBe(204);
        expectProblem(
          await c.http.delete('/api/v1/capabilities/gw_1/cam'),
          404,
          'device-not-found',
          '/api/v1/capabilities/gw_1/cam',
        );
        expectProblem(
          await c.http.put('/api/v1/capabilities/gw_1/cam', sampleCapabilities('gw_1/cam')),
          404,
          'gateway-not-found',
          '/api/v1/capabilities/gw_1/cam',
        );
        for (const gw of ['gwa1', 'GW_1']) {
          const path = `/api/v1/capabilities/${gw}/cam`;
          expect((await c.http.put(path, sampleCapabilities(`${gw}/cam`))).status, path).toBe(200);
        }
      });

      it('422 semantic-error with errors[] for a body id that differs from the path and for bad enum values', async () => {
        const c = await newClient();
        const path = '/api/v1/capabilities/dev-1';
        const mismatch = expectProblem(
          await c.http.put(path, sampleCapabilities('dev-2')),
          422,
          'semantic-error',
          path,
        );
        expect(mismatch.errors).toEqual(
          expect.arrayContaining([expect.objectContaining({ field: expect.any(String) })]),
        );
        const bad = sampleCapabilities('dev-1');
        (bad.properties as Record<string, unknown>).supportedDeploymentTypes = [
          '__invalid_deployment_type__',
        ];
        const p = expectProblem(await c.http.put(path, bad), 422, 'semantic-error', path);
        expect(
          (p.errors as { field: string }[]).some((e) =>
            e.field.startsWith('properties.supportedDeploymentTypes'),
          ),
        ).toBe(true);
      });

      it('400 invalid-request for malformed bodies: not JSON, empty, wrong type, unknown member, not JSON content', async () => {
        const c = await newClient();
        const path = '/api/v1/capabilities/dev-1';
        const cases: [string, { body?: string; json?: unknown; headers?: Record<string, string> }][] = [
          ['not JSON', { body: '{"properties":', headers: { 'content-type': 'application/json' } }],
          ['empty', { body: '', headers: { 'content-type': 'application/json' } }],
          ['an array', { json: [sampleCapabilities('dev-1')] }],
          ['an unknown member', { json: { ...sampleCapabilities('dev-1'), roles: ['Standalone Device'] } }],
          [
            'a number where a list belongs',
            { json: { properties: { ...(sampleCapabilities('dev-1').properties as object), cpus: 4 } } },
          ],
          [
            'text/plain',
            { body: JSON.stringify(sampleCapabilities('dev-1')), headers: { 'content-type': 'text/plain' } },
          ],
        ];
        for (const [what, req] of cases) {
          const r = await c.http.request('PUT', path, req);
          expect(r.status, what).toBe(400);
          expectProblem(r, 400, 'invalid-request', path);
        }
        expect((await c.http.put(path, sampleCapabilities('dev-1'))).status).toBe(201); // nothing was stored before
      });

      it('413 for an oversized body', async () => {
        const c = await newClient();
        const big = sampleCapabilities('dev-1', {
          labels: { 'example.com/blob': 'x'.repeat(2 * 1024 * 1024) },
        });
        expectProblem(await c.http.put('/api/v1/capabilities/dev-1', big), 413, 'about:blank');
      });

      it('DELETE: 204, then 404 device-not-found; unknown and malformed ids → 404', async () => {
        const c = await newClient();
        await c.http.put('/api/v1/capabilities/dev-1', sampleCapabilities('dev-1'));
        expect((await c.http.delete('/api/v1/capabilities/dev-1')).status).toBe(204);
        for (const path of [
          '/api/v1/capabilities/dev-1',
          '/api/v1/capabilities/never-seen',
          '/api/v1/capabilities/bad%20id',
        ]) {
          expectProblem(await c.http.delete(path), 404, 'device-not-found', path);
        }
      });
    });

    // ------------------------------------------------------------------------------------------------
    describe('POST /api/v1/deployments/{deploymentId}/status', () => {
      function report(deploymentId: string, adopted: number, state = 'installed') {
        return {
          deploymentId,
          adoptedManifestVersion: adopted,
          status: { state },
          components: [{ name: 'hello', state }],
        };
      }

      it('201 for the first report of a deployment, 200 afterwards', async () => {
        const { http, manifest } = await clientWithDeployments();
        const id = manifest.deployments[0]!.deploymentId;
        const path = `/api/v1/deployments/${id}/status`;
        expect((await http.post(path, report(id, manifest.manifestVersion, 'installing'))).status).toBe(201);
        expect((await http.post(path, report(id, manifest.manifestVersion))).status).toBe(200);
      });

      it('a deployment removed from the manifest can still report (removing → removed)', async () => {
        const { clientId, http, manifest, ids } = await clientWithDeployments();
        await fx.setDeployments(clientId, [
          { deploymentId: ids[1]!, yaml: sampleDeploymentYaml(ids[1]!, 'dev-1') },
        ]);
        const now = (await manifestOf(http)).manifest.manifestVersion;
        expect(now).toBeGreaterThan(manifest.manifestVersion);
        const r = await http.post(`/api/v1/deployments/${ids[0]}/status`, report(ids[0]!, now, 'removed'));
        expect([200, 201]).toContain(r.status);
      });

      it('422 semantic-error with errors[]: body id ≠ path, missing adoptedManifestVersion, bad state, a version never issued', async () => {
        const { http, manifest } = await clientWithDeployments();
        const id = manifest.deployments[0]!.deploymentId;
        const other = manifest.deployments[1]!.deploymentId;
        const path = `/api/v1/deployments/${id}/status`;
        const { adoptedManifestVersion: _, ...noVersion } = report(id, 1);
        const cases: [string, unknown][] = [
          ['body id differs from the path', report(other, manifest.manifestVersion)],
          ['no adoptedManifestVersion', noVersion],
          ['unknown state', report(id, manifest.manifestVersion, '__invalid_state__')],
          ['a manifest version never issued', report(id, manifest.manifestVersion + 1000)],
        ];
        for (const [what, body] of cases) {
          const r = await http.post(path, body);
          expect(r.status, what).toBe(422);
          expectProblem(r, 422, 'semantic-error', path);
        }
        expect((await http.post(path, report(id, manifest.manifestVersion))).status).toBe(201); // none was stored
      });

      it('400 invalid-request for malformed bodies', async () => {
        const { http, manifest } = await clientWithDeployments();
        const id = manifest.deployments[0]!.deploymentId;
        const path = `/api/v1/deployments/${id}/status`;
        for (const req of [
          { body: 'not json', headers: { 'content-type': 'application/json' } },
          { json: 'installed' },
          { json: { ...report(id, 1), status: 'installed' } },
          { json: { ...report(id, 1), adoptedManifestVersion: '1' } },
        ]) {
          expectProblem(await http.request('POST', path, req), 400, 'invalid-request', path);
        }
      });

      it('404 deployment-not-found for a deployment never assigned to this client', async () => {
        const c = await newClient();
        await manifestOf(c.http);
        const id = uuid(++seq, 'unassigned');
        const path = `/api/v1/deployments/${id}/status`;
        expectProblem(await c.http.post(path, report(id, 1)), 404, 'deployment-not-found', path);
      });
    });

    // ------------------------------------------------------------------------------------------------
    describe('scope: a client never sees or changes another client’s resources', () => {
      it('A cannot read B’s deployments, YAML or bundle, post B’s status or delete B’s device', async () => {
        const b = await clientWithDeployments('b');
        const a = await clientWithDeployments('a');
        expect(b.ids.every((id) => !a.manifest.deployments.some((d) => d.deploymentId === id))).toBe(true);
        expect((await b.http.put('/api/v1/capabilities/dev-1', sampleCapabilities('dev-1'))).status).toBe(
          201,
        );

        const bDep = b.manifest.deployments[0]!;
        const replies = [
          expectProblem(await a.http.get(bDep.url.slice(prefix().length)), 404, 'deployment-not-found'),
          expectProblem(
            await a.http.get(b.manifest.bundle!.url.slice(prefix().length)),
            404,
            'invalid-bundle',
          ),
          expectProblem(
            await a.http.post(`/api/v1/deployments/${bDep.deploymentId}/status`, {
              deploymentId: bDep.deploymentId,
              adoptedManifestVersion: 1,
              status: { state: 'failed' },
              components: [{ name: 'hello', state: 'failed' }],
            }),
            404,
            'deployment-not-found',
          ),
          expectProblem(await a.http.delete('/api/v1/capabilities/dev-1'), 404, 'device-not-found'),
        ];
        // The answers may echo what A sent, but nothing else of B's: not its identity, not its other deployment.
        const bOther = b.manifest.deployments[1]!;
        for (const p of replies) {
          const text = JSON.stringify(p);
          for (const secret of [b.clientId, bOther.deploymentId, bOther.digest])
            expect(text).not.toContain(secret);
        }
        // Nothing of B's changed: its device is still there, its first status report is still the first.
        expect((await b.http.put('/api/v1/capabilities/dev-1', sampleCapabilities('dev-1'))).status).toBe(
          200,
        );
        const status = await b.http.post(`/api/v1/deployments/${bDep.deploymentId}/status`, {
          deploymentId: bDep.deploymentId,
          adoptedManifestVersion: b.manifest.manifestVersion,
          status: { state: 'installed' },
          components: [{ name: 'hello', state: 'installed' }],
        });
        expect(status.status).toBe(201);
        const bAgain = await b.http.get('/api/v1/deployments');
        expect(bAgain.headers.etag).toBe(b.reply.headers.etag);
      });

      it('the same device id under two clients names two unrelated devices', async () => {
        const a = await newClient('a');
        const b = await newClient('b');
        expect((await a.http.put('/api/v1/capabilities/shared', sampleCapabilities('shared'))).status).toBe(
          201,
        );
        expect((await b.http.put('/api/v1/capabilities/shared', sampleCapabilities('shared'))).status).toBe(
          201,
        );
        expect((await a.http.delete('/api/v1/capabilities/shared')).status).toBe(204);
        expect((await b.http.put('/api/v1/capabilities/shared', sampleCapabilities('shared'))).status).toBe(
          200,
        );
      });
    });

    // ------------------------------------------------------------------------------------------------
    describe('POST /api/v1/outpost/enroll (the one call without a client certificate)', () => {
      async function enroll(body: unknown) {
        const pinned = connect({ serverCheck: { pinnedCaFingerprint: fx.ca.fingerprint } });
        return pinned.post('/api/v1/outpost/enroll', body);
      }

      it('a token and a CSR give an SVID that works at once; the token works only once', async () => {
        const token = await fx.createEnrollmentToken({ nodeName: unique('enroll') });
        const { keyPem, csrPem } = await createKeyAndCsr();
        const r = await enroll({ token, csr: csrPem, hostname: 'node-7.plant7.example' });
        expect(r.status, r.text()).toBe(200);
        expect(r.headers['cache-control']).toMatch(/no-store/);
        const res = r.json<{
          clientId: string;
          spiffeId: string;
          certPem: string;
          anchorsPem: string[];
          wfmSpiffeId: string;
        }>();
        expect(res.spiffeId).toBe(clientSpiffeId(fx.trustDomain, fx.wfmId, res.clientId));
        expect(res.wfmSpiffeId).toBe(wfmSpiffeId(fx.trustDomain, fx.wfmId));
        expect(new X509Certificate(res.certPem).subjectAltName).toBe(`URI:${res.spiffeId}`);
        expect(res.anchorsPem.map(derOf)).toContain(derOf(fx.ca.certPem));
        const node = connect({ certPem: res.certPem, keyPem, anchorsPem: res.anchorsPem });
        expect((await node.get('/api/v1/deployments')).status).toBe(200);

        const { csrPem: csr2 } = await createKeyAndCsr();
        const replay = expectProblem(
          await enroll({ token, csr: csr2 }),
          403,
          'not-authorized',
          '/api/v1/outpost/enroll',
        );
        expect(JSON.stringify(replay)).not.toContain(token);
      });

      it('an unknown, garbled or expired token → 403 not-authorized', async () => {
        const { csrPem } = await createKeyAndCsr();
        const expired = await fx.createEnrollmentToken({ nodeName: unique('late'), expired: true });
        const real = await fx.createEnrollmentToken({ nodeName: unique('garble') });
        for (const token of ['opt1.nonsense', `${real.slice(0, -6)}AAAAAA`, expired]) {
          const r = await enroll({ token, csr: csrPem });
          const p = expectProblem(r, 403, 'not-authorized', '/api/v1/outpost/enroll');
          expect(JSON.stringify(p)).not.toContain(token);
        }
      });

      it('a bad CSR is refused with 400 and does not use up the token', async () => {
        const token = await fx.createEnrollmentToken({ nodeName: unique('csr') });
        const junk = '-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n';
        expectProblem(await enroll({ token, csr: junk }), 400, 'invalid-request', '/api/v1/outpost/enroll');
        const { csrPem } = await createKeyAndCsr();
        expect((await enroll({ token, csr: csrPem })).status).toBe(200);
      });

      it('400 for malformed requests, 413 for oversized ones', async () => {
        for (const body of [{}, { token: 'x' }, { csr: 'y' }, ['x'], { token: 5, csr: 'z' }]) {
          expectProblem(await enroll(body), 400, 'invalid-request', '/api/v1/outpost/enroll');
        }
        expectProblem(await enroll({ token: 'x'.repeat(1024 * 1024), csr: 'y' }), 413, 'about:blank');
      });
    });

    // ------------------------------------------------------------------------------------------------
    describe('other errors', () => {
      it('404 about:blank for an unknown route of an authenticated client', async () => {
        const c = await newClient();
        for (const path of ['/api/v1/nothing', '/api/v2/deployments', '/api/v1/deployments/a/b/c']) {
          expectProblem(await c.http.get(path), 404, 'about:blank', path);
        }
      });

      it('405 about:blank with Allow for a method a route does not have', async () => {
        const c = await newClient();
        const cases: [string, string, string][] = [
          ['POST', '/api/v1/deployments', 'GET'],
          ['GET', `/api/v1/deployments/${uuid(1, 'x')}/status`, 'POST'],
          ['GET', '/api/v1/capabilities/dev-1', 'PUT'],
          ['DELETE', `/api/v1/bundles/${ZERO_DIGEST}`, 'GET'],
        ];
        for (const [method, path, allowed] of cases) {
          const r = await c.http.request(method, path);
          expectProblem(r, 405, 'about:blank', path);
          expect(r.headers.allow).toContain(allowed);
        }
      });
    });
  });
}
