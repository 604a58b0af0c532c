import { X509Certificate } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { issueSvid, createSiteCa, type SiteCa } from '../../core/ca/index.js';
import { clientSpiffeId, wfmSpiffeId } from './spiffe-id.js';
import { handCert, newP256Key, openssl, pemToDer, tempDir } from '../../core/ca/testing/certs.js';
import { trustAnchors, verifyPeer, type VerifyPeerInput } from './verify-peer.js';
import { loadX509 } from '../x509/index.js';

// Tests build certificates by hand: load the library once, up front.
const x509 = await loadX509();

const NOW = Date.UTC(2026, 5, 1, 12);
const DAY = 86_400_000;
const TD = 'plant7.example';
const WFM = 'lo-1';
const KU = x509.KeyUsageFlags;

let ca: SiteCa;
let impostorCa: SiteCa; // same name and trust domain, different key
let otherTdCa: SiteCa;
const tmp = tempDir();

beforeAll(async () => {
  ca = await createSiteCa({ trustDomain: TD, name: 'Outpost site CA', now: NOW - DAY });
  impostorCa = await createSiteCa({ trustDomain: TD, name: 'Outpost site CA', now: NOW - DAY });
  otherTdCa = await createSiteCa({ trustDomain: 'other.example', name: 'Outpost site CA', now: NOW - DAY });
});
afterAll(() => tmp.cleanup());

async function svid(opts: { spiffeId?: string; signer?: SiteCa; now?: number; ttlSeconds?: number } = {}) {
  const key = await newP256Key();
  const issued = await issueSvid({
    ca: opts.signer ?? ca,
    publicKey: key.publicKeyPem,
    spiffeId: opts.spiffeId ?? clientSpiffeId(TD, WFM, 'node-7'),
    now: opts.now ?? NOW,
    ttlSeconds: opts.ttlSeconds ?? 3600,
  });
  return { ...issued, keyPem: key.keyPem, der: pemToDer(issued.certPem) };
}

function check(chain: Uint8Array[], overrides: Partial<VerifyPeerInput> = {}) {
  return verifyPeer({
    chainDer: chain,
    anchorsPem: [ca.certPem],
    now: NOW,
    expect: { trustDomain: TD, wfmId: WFM, role: 'client' },
    ...overrides,
  });
}

/** A leaf signed by the site CA with whatever the test needs. */
function leafWith(extra: Partial<Parameters<typeof handCert>[0]>) {
  return handCert({
    issuer: ca,
    uris: [clientSpiffeId(TD, WFM, 'node-7')],
    isCa: false,
    keyUsage: KU.digitalSignature,
    extKeyUsage: [x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth],
    notBefore: NOW - DAY,
    notAfter: NOW + DAY,
    ...extra,
  });
}

describe('verifyPeer', () => {
  it('accepts a client SVID and recovers its SPIFFE ID, client id, serial and expiry', async () => {
    const s = await svid();
    const leaf = new X509Certificate(s.certPem);
    const root = new X509Certificate(ca.certPem);
    expect(check([s.der])).toEqual({
      ok: true,
      role: 'client',
      spiffeId: clientSpiffeId(TD, WFM, 'node-7'),
      clientId: 'node-7',
      serialHex: s.serialHex,
      notAfter: s.notAfter,
      // The window in which the whole path (anchor included) is valid: the latest start, the earliest end.
      pathValidity: {
        notBefore: Math.max(Date.parse(leaf.validFrom), Date.parse(root.validFrom)),
        notAfter: Math.min(Date.parse(leaf.validTo), Date.parse(root.validTo)),
      },
    });
    // The root appended after the leaf (as Node's getPeerCertificate(true) often reports it) changes nothing.
    expect(check([s.der, pemToDer(ca.certPem)]).ok).toBe(true);
    // Prepared anchors give the same answer.
    expect(check([s.der], { anchorsPem: undefined, anchors: trustAnchors([ca.certPem]) }).ok).toBe(true);
  });

  it('accepts the WFM SVID when the role is wfm, and refuses one as the other', async () => {
    const wfm = await svid({ spiffeId: wfmSpiffeId(TD, WFM) });
    const client = await svid();
    const asWfm = { expect: { trustDomain: TD, wfmId: WFM, role: 'wfm' as const } };
    expect(check([wfm.der], asWfm)).toMatchObject({ ok: true, role: 'wfm', spiffeId: wfmSpiffeId(TD, WFM) });
    expect(check([wfm.der], asWfm)).not.toHaveProperty('clientId');
    expect(check([client.der], asWfm)).toMatchObject({ ok: false, code: 'wrong-form' });
    expect(check([wfm.der])).toMatchObject({ ok: false, code: 'wrong-form', spiffeId: wfmSpiffeId(TD, WFM) });
  });

  it('wrong-ca: a certificate from another CA with the same name is refused (signatures are checked)', async () => {
    const s = await svid({ signer: impostorCa });
    const r = check([s.der]);
    expect(r).toMatchObject({ ok: false, code: 'wrong-ca', serialHex: s.serialHex });
    // Sending the impostor root along does not help.
    expect(check([s.der, pemToDer(impostorCa.certPem)])).toMatchObject({ ok: false, code: 'wrong-ca' });
  });

  it('wrong-trust-domain: a trusted CA of another trust domain', async () => {
    const s = await svid({ signer: otherTdCa, spiffeId: clientSpiffeId('other.example', WFM, 'node-7') });
    const r = check([s.der], { anchorsPem: [ca.certPem, otherTdCa.certPem] });
    expect(r).toMatchObject({
      ok: false,
      code: 'wrong-trust-domain',
      spiffeId: clientSpiffeId('other.example', WFM, 'node-7'),
    });
  });

  it.each([
    [`spiffe://${TD}/margo/wfm/${WFM}/other/y`],
    [`spiffe://${TD}/margo/wfm/lo-2/client/node-7`],
    [`spiffe://${TD}/margo/wfm/${WFM}/client/node-7/extra`],
    [`spiffe://${TD}/workload/node-7`],
  ])('wrong-form: %s', async (id) => {
    const s = await svid({ spiffeId: id });
    expect(check([s.der])).toMatchObject({ ok: false, code: 'wrong-form', spiffeId: id });
  });

  it('expired and not-yet-valid, with a bounded clock skew', async () => {
    const expired = await svid({ now: NOW - 10 * DAY, ttlSeconds: 86_400 });
    expect(check([expired.der])).toMatchObject({ ok: false, code: 'expired', serialHex: expired.serialHex });
    const justExpired = await svid({ now: NOW - 3600_000 - 30_000, ttlSeconds: 3600 });
    expect(check([justExpired.der]).ok).toBe(true); // 30 s past notAfter, within the default 60 s
    expect(check([justExpired.der], { clockSkewSeconds: 10 })).toMatchObject({ ok: false, code: 'expired' });
    const future = await svid({ now: NOW + DAY });
    expect(check([future.der])).toMatchObject({ ok: false, code: 'not-yet-valid' });
  });

  it('multiple-uri-sans and no-uri-san', async () => {
    const two = await leafWith({ uris: [clientSpiffeId(TD, WFM, 'a'), clientSpiffeId(TD, WFM, 'b')] });
    expect(check([pemToDer(two.certPem)])).toMatchObject({ ok: false, code: 'multiple-uri-sans' });
    const none = await leafWith({ uris: [] });
    expect(check([pemToDer(none.certPem)])).toMatchObject({ ok: false, code: 'no-uri-san' });
    const notSpiffe = await leafWith({ uris: ['https://plant7.example/node-7'] });
    expect(check([pemToDer(notSpiffe.certPem)])).toMatchObject({ ok: false, code: 'wrong-form' });
  });

  it('ca-leaf and bad-key-usage', async () => {
    const caLeaf = await leafWith({ isCa: true, keyUsage: KU.digitalSignature | KU.keyCertSign });
    expect(check([pemToDer(caLeaf.certPem)])).toMatchObject({ ok: false, code: 'ca-leaf' });
    // The site CA itself presented as a client certificate.
    expect(check([pemToDer(ca.certPem)])).toMatchObject({ ok: false, code: 'ca-leaf' });
    const certSign = await leafWith({ keyUsage: KU.digitalSignature | KU.keyCertSign });
    expect(check([pemToDer(certSign.certPem)])).toMatchObject({ ok: false, code: 'bad-key-usage' });
    const crlSign = await leafWith({ keyUsage: KU.digitalSignature | KU.cRLSign });
    expect(check([pemToDer(crlSign.certPem)])).toMatchObject({ ok: false, code: 'bad-key-usage' });
    const noDigSig = await leafWith({ keyUsage: KU.keyAgreement });
    expect(check([pemToDer(noDigSig.certPem)])).toMatchObject({ ok: false, code: 'bad-key-usage' });
    const serverOnly = await leafWith({ extKeyUsage: [x509.ExtendedKeyUsage.serverAuth] });
    expect(check([pemToDer(serverOnly.certPem)])).toMatchObject({ ok: false, code: 'bad-key-usage' });
    // No keyUsage / EKU extensions at all: allowed for validators (SPIFFE X509-SVID 5.2).
    const bare = await leafWith({ keyUsage: undefined, extKeyUsage: undefined, isCa: undefined });
    expect(check([pemToDer(bare.certPem)]).ok).toBe(true);
  });

  it('no-certificate and malformed', async () => {
    expect(check([])).toMatchObject({ ok: false, code: 'no-certificate' });
    expect(check([Buffer.from('junk')])).toMatchObject({ ok: false, code: 'malformed' });
    const critical = await leafWith({
      extraExtensions: [new x509.Extension('1.2.3.4.5', true, new Uint8Array([5, 0]))],
    });
    expect(check([pemToDer(critical.certPem)])).toMatchObject({ ok: false, code: 'malformed' });
    const nonCritical = await leafWith({
      extraExtensions: [new x509.Extension('1.2.3.4.5', false, new Uint8Array([5, 0]))],
    });
    expect(check([pemToDer(nonCritical.certPem)]).ok).toBe(true);
  });

  describe('intermediates', () => {
    async function intermediate(opts: { isCa?: boolean; pathLength?: number; notAfter?: number } = {}) {
      return handCert({
        issuer: ca,
        subjectName: 'CN=Outpost intermediate',
        isCa: opts.isCa ?? true,
        pathLength: opts.pathLength,
        keyUsage: KU.keyCertSign | KU.cRLSign,
        notBefore: NOW - DAY,
        notAfter: opts.notAfter ?? NOW + DAY,
      });
    }
    async function leafUnder(issuer: { certPem: string; keyPem: string }) {
      return handCert({
        issuer,
        uris: [clientSpiffeId(TD, WFM, 'deep')],
        isCa: false,
        keyUsage: KU.digitalSignature,
        notBefore: NOW - DAY,
        notAfter: NOW + DAY,
      });
    }

    it('validates leaf -> intermediate -> anchor, and needs the intermediate to be presented', async () => {
      const mid = await intermediate();
      const leaf = await leafUnder(mid);
      expect(check([pemToDer(leaf.certPem), pemToDer(mid.certPem)])).toMatchObject({
        ok: true,
        clientId: 'deep',
      });
      expect(check([pemToDer(leaf.certPem)])).toMatchObject({ ok: false, code: 'wrong-ca' });
    });

    it('refuses a non-CA issuer, an expired intermediate and a path-length violation', async () => {
      const notCa = await intermediate({ isCa: false });
      const leaf1 = await leafUnder(notCa);
      expect(check([pemToDer(leaf1.certPem), pemToDer(notCa.certPem)])).toMatchObject({
        ok: false,
        code: 'wrong-ca',
      });

      const expiredMid = await intermediate({ notAfter: NOW - 3600_000 });
      const leaf2 = await leafUnder(expiredMid);
      expect(check([pemToDer(leaf2.certPem), pemToDer(expiredMid.certPem)])).toMatchObject({
        ok: false,
        code: 'expired',
      });

      const mid = await intermediate({ pathLength: 0 });
      const sub = await handCert({
        issuer: mid,
        subjectName: 'CN=sub',
        isCa: true,
        keyUsage: KU.keyCertSign,
        notBefore: NOW - DAY,
        notAfter: NOW + DAY,
      });
      const leaf3 = await leafUnder(sub);
      expect(check([pemToDer(leaf3.certPem), pemToDer(sub.certPem), pemToDer(mid.certPem)])).toMatchObject({
        ok: false,
        code: 'wrong-ca',
        reason: expect.stringContaining('path length'),
      });
    });
  });

  it('accepts an SVID minted by openssl, as an external tester would', async () => {
    const d = tmp.dir;
    fs.writeFileSync(path.join(d, 'ca.pem'), ca.certPem);
    fs.writeFileSync(path.join(d, 'ca.key'), ca.keyPem);
    fs.writeFileSync(
      path.join(d, 'ext.cnf'),
      `subjectAltName=URI:${clientSpiffeId(TD, WFM, 'ctt')}\nbasicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth\n`,
    );
    const steps = [
      [
        'req',
        '-new',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:P-256',
        '-nodes',
        '-keyout',
        'ctt.key',
        '-out',
        'ctt.csr',
        '-subj',
        '/CN=ctt',
      ],
      [
        'x509',
        '-req',
        '-in',
        'ctt.csr',
        '-CA',
        'ca.pem',
        '-CAkey',
        'ca.key',
        '-CAcreateserial',
        '-days',
        '3650',
        '-extfile',
        'ext.cnf',
        '-out',
        'ctt.pem',
      ],
    ];
    for (const s of steps) expect((await openssl(s, d)).code).toBe(0);
    const der = pemToDer(fs.readFileSync(path.join(d, 'ctt.pem'), 'utf8'));
    expect(
      verifyPeer({
        chainDer: [der],
        anchorsPem: [ca.certPem],
        now: Date.now(),
        expect: { trustDomain: TD, wfmId: WFM, role: 'client' },
      }),
    ).toMatchObject({
      ok: true,
      clientId: 'ctt',
    });
  });

  it('refuses anchors that are not CA certificates', async () => {
    const s = await svid();
    expect(() => trustAnchors([s.certPem])).toThrow(/is not a CA/);
    expect(() => trustAnchors(['nothing here'])).toThrow(/holds no certificate/);
  });
});
