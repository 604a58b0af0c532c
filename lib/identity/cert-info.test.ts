import { X509Certificate } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { certInfo, KEY_USAGE, OID } from './cert-info.js';
import { DerError, readTime, readTlv, TAG } from './der.js';
import { handCert, openssl, pemToDer, tempDir } from '../../core/ca/testing/certs.js';
import { loadX509 } from '../x509/index.js';

// Tests build certificates by hand: load the library once, up front.
const x509 = await loadX509();

// certInfo reads certificates with our own DER reader; @peculiar/x509 and the openssl CLI are the
// independent parsers it is checked against.

const now = Date.UTC(2026, 10, 27, 12, 0, 0);
const day = 86_400_000;

/** The same fields read by @peculiar/x509. */
function peculiar(der: Uint8Array) {
  const cert = new x509.X509Certificate(Buffer.from(der));
  const bc = cert.getExtension(x509.BasicConstraintsExtension);
  const ku = cert.getExtension(x509.KeyUsagesExtension);
  const eku = cert.getExtension(x509.ExtendedKeyUsageExtension);
  const uris: string[] = [];
  for (const san of cert.getExtensions(x509.SubjectAlternativeNameExtension)) {
    for (const n of san.names.items) if (n.type === 'url') uris.push(n.value);
  }
  return {
    serialHex: cert.serialNumber.toLowerCase().replace(/^0+/, '') || '0',
    notBefore: cert.notBefore.getTime(),
    notAfter: cert.notAfter.getTime(),
    uris,
    isCa: bc?.ca ?? false,
    pathLength: bc?.pathLength,
    keyUsage: ku?.usages,
    extKeyUsage: eku?.usages.map(String),
  };
}

describe('certInfo', () => {
  it('reads what @peculiar/x509 reads, for CAs, leaves, odd usages and several SANs', async () => {
    const ca = await handCert({
      subjectName: 'CN=Root',
      isCa: true,
      pathLength: 2,
      keyUsage: KEY_USAGE.keyCertSign | KEY_USAGE.cRLSign,
      notBefore: now - day,
      notAfter: now + 3650 * day,
    });
    const cases = [
      ca,
      await handCert({
        issuer: ca,
        uris: ['spiffe://site.example/wfm/client/a', 'https://example.com/x'],
        keyUsage: KEY_USAGE.digitalSignature | KEY_USAGE.keyAgreement | KEY_USAGE.decipherOnly,
        extKeyUsage: [OID.clientAuth, OID.serverAuth],
        notBefore: now - day,
        notAfter: now + day,
      }),
      // Validity outside UTCTime's range is GeneralizedTime (RFC 5280 4.1.2.5).
      await handCert({ issuer: ca, isCa: false, notBefore: now, notAfter: Date.UTC(2051, 0, 1) }),
      // No extensions besides the key identifiers.
      await handCert({ notBefore: Date.UTC(1999, 11, 31, 23, 59, 59), notAfter: now }),
    ];
    for (const c of cases) {
      const der = pemToDer(c.certPem);
      const { malformed, ...ours } = certInfo(der);
      expect(malformed).toBeUndefined();
      expect(ours).toEqual(peculiar(der));
      // node:crypto agrees on the serial and the CA flag.
      const node = new X509Certificate(der);
      expect(ours.serialHex).toBe(node.serialNumber.toLowerCase().replace(/^0+/, '') || '0');
      expect(ours.isCa).toBe(node.ca);
    }
    expect(certInfo(pemToDer(cases[0]!.certPem))).toMatchObject({ isCa: true, pathLength: 2, keyUsage: 96 });
    expect(certInfo(pemToDer(cases[1]!.certPem)).keyUsage).toBe(1 + 16 + 256);
    expect(certInfo(pemToDer(cases[2]!.certPem)).notAfter).toBe(Date.UTC(2051, 0, 1));
  });

  it('reads a certificate made by the openssl CLI the way openssl prints it', async () => {
    const { dir, cleanup } = tempDir();
    try {
      const cnf = path.join(dir, 'ext.cnf');
      fs.writeFileSync(
        cnf,
        [
          '[req]',
          'distinguished_name = dn',
          '[dn]',
          '[v3]',
          'basicConstraints = critical, CA:TRUE, pathlen:0',
          'keyUsage = critical, keyCertSign, cRLSign, digitalSignature',
          'subjectAltName = URI:spiffe://openssl.test/ca, DNS:ca.example, URI:urn:x:y',
          '',
        ].join('\n'),
      );
      const r = await openssl(
        ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'].concat(
          ['-keyout', 'k.pem', '-out', 'c.pem', '-subj', '/CN=openssl', '-days', '30'],
          ['-set_serial', '0x00ABCDEF01', '-config', cnf, '-extensions', 'v3'],
        ),
        dir,
      );
      expect(r.code, r.out).toBe(0);
      const der = pemToDer(fs.readFileSync(path.join(dir, 'c.pem'), 'utf8'));
      const info = certInfo(der);
      expect(info).toMatchObject({
        serialHex: 'abcdef01',
        isCa: true,
        pathLength: 0,
        keyUsage: KEY_USAGE.keyCertSign | KEY_USAGE.cRLSign | KEY_USAGE.digitalSignature,
        extKeyUsage: undefined,
        uris: ['spiffe://openssl.test/ca', 'urn:x:y'],
        malformed: undefined,
      });
      const node = new X509Certificate(der);
      expect(info.notAfter).toBe(Date.parse(node.validTo));
      expect(info.notAfter - info.notBefore).toBe(30 * day);
    } finally {
      cleanup();
    }
  });

  it('flags duplicate and unknown critical extensions without refusing to parse', async () => {
    const dup = await handCert({
      notBefore: now,
      notAfter: now + day,
      keyUsage: KEY_USAGE.digitalSignature,
      extraExtensions: [new x509.KeyUsagesExtension(KEY_USAGE.digitalSignature, true)],
    });
    expect(certInfo(pemToDer(dup.certPem)).malformed).toBe(
      `extension ${OID.keyUsage} appears more than once`,
    );
    const unknown = await handCert({
      notBefore: now,
      notAfter: now + day,
      extraExtensions: [new x509.Extension('1.2.3.4.5', true, new Uint8Array([0x05, 0x00]))],
    });
    expect(certInfo(pemToDer(unknown.certPem)).malformed).toBe('unsupported critical extension 1.2.3.4.5');
    const benign = await handCert({
      notBefore: now,
      notAfter: now + day,
      extraExtensions: [new x509.Extension('1.2.3.4.5', false, new Uint8Array([0x05, 0x00]))],
    });
    expect(certInfo(pemToDer(benign.certPem)).malformed).toBeUndefined();
  });

  it('refuses malformed DER with identity/invalid-certificate, whatever is wrong', async () => {
    const good = pemToDer(
      (await handCert({ notBefore: now, notAfter: now + day, uris: ['spiffe://a/b'] })).certPem,
    );
    const bad: Array<[string, Uint8Array]> = [
      ['empty', new Uint8Array()],
      ['truncated', good.subarray(0, good.length - 10)],
      ['trailing bytes', Buffer.concat([good, Buffer.from([0])])],
      ['not a sequence', Buffer.from([0x04, 0x01, 0x00])],
      ['indefinite length', Buffer.from([0x30, 0x80, 0x00, 0x00])],
      ['non-minimal length', Buffer.from([0x30, 0x81, 0x03, 0x02, 0x01, 0x01])],
      ['PEM text instead of DER', Buffer.from('-----BEGIN CERTIFICATE-----')],
    ];
    // Every single-byte corruption of the header region either parses to something or fails with the code.
    for (let i = 0; i < 40; i++) {
      const copy = Buffer.from(good);
      copy[i] = copy[i]! ^ 0xff;
      bad.push([`byte ${i} flipped`, copy]);
    }
    let refused = 0;
    for (const [what, der] of bad) {
      try {
        certInfo(der);
      } catch (err) {
        expect((err as { code?: string }).code, what).toBe('identity/invalid-certificate');
        refused++;
        continue;
      }
      expect(what, 'only byte flips may still parse').toMatch(/flipped/);
    }
    expect(refused).toBeGreaterThan(7);
  });
});

describe('der', () => {
  it('reads times strictly', () => {
    const t = (tag: number, s: string) => {
      const b = Buffer.concat([Buffer.from([tag, s.length]), Buffer.from(s, 'latin1')]);
      return readTime(b, readTlv(b, 0));
    };
    expect(t(TAG.utcTime, '491231235959Z')).toBe(Date.UTC(2049, 11, 31, 23, 59, 59));
    expect(t(TAG.utcTime, '500101000000Z')).toBe(Date.UTC(1950, 0, 1));
    expect(t(TAG.generalizedTime, '20510101000000Z')).toBe(Date.UTC(2051, 0, 1));
    for (const [tag, s] of [
      [TAG.utcTime, '260230000000Z'],
      [TAG.utcTime, '2611271200Z'],
      [TAG.utcTime, '261127120000+0100'],
      [TAG.generalizedTime, '20261127250000Z'],
      [TAG.octetString, '261127120000Z'],
    ] as const) {
      expect(() => t(tag, s), s).toThrow(DerError);
    }
  });
});
