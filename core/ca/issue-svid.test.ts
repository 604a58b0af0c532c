import fs from 'node:fs';
import path from 'node:path';
import { X509Certificate } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKeyAndCsr } from '../../lib/x509/index.js';
import { issueSvid } from './issue-svid.js';
import { createSiteCa, type SiteCa } from './site-ca.js';
import { clientSpiffeId, wfmSpiffeId } from '../../lib/identity/index.js';
import { newP256Key, openssl, tempDir } from './testing/certs.js';

const NOW = Date.UTC(2026, 5, 1, 12);
const ATTIME = String(Math.floor(NOW / 1000) + 60);
const t = tempDir();
let ca: SiteCa;
let otherCa: SiteCa;

beforeAll(async () => {
  ca = await createSiteCa({
    trustDomain: 'plant7.example',
    name: 'Outpost site CA plant-7',
    now: NOW - 86_400_000,
  });
  otherCa = await createSiteCa({
    trustDomain: 'plant7.example',
    name: 'Outpost site CA plant-7',
    now: NOW - 86_400_000,
  });
  fs.writeFileSync(path.join(t.dir, 'ca.pem'), ca.certPem);
  fs.writeFileSync(path.join(t.dir, 'other-ca.pem'), otherCa.certPem);
});
afterAll(() => t.cleanup());

function write(name: string, pem: string): string {
  fs.writeFileSync(path.join(t.dir, name), pem);
  return name;
}

describe('issueSvid', () => {
  it('issues a client SVID from a CSR that openssl verifies, with exactly one URI SAN', async () => {
    const { csrPem } = await createKeyAndCsr({ subject: 'CN=whatever-the-node-asked' });
    const id = clientSpiffeId('plant7.example', 'lo-1', 'node-7');
    const svid = await issueSvid({ ca, csrPem, spiffeId: id, now: NOW, ttlSeconds: 86_400 });
    const file = write('client.pem', svid.certPem);

    const verified = await openssl(
      ['verify', '-attime', ATTIME, '-CAfile', 'ca.pem', '-purpose', 'sslclient', file],
      t.dir,
    );
    expect(verified.out).toContain('client.pem: OK');
    const wrongCa = await openssl(['verify', '-attime', ATTIME, '-CAfile', 'other-ca.pem', file], t.dir);
    expect(wrongCa.code).not.toBe(0);

    const text = (await openssl(['x509', '-in', file, '-noout', '-text'], t.dir)).out;
    expect(text.match(/URI:/g)).toHaveLength(1);
    expect(text).toContain(`URI:${id}`);
    expect(text).not.toMatch(/DNS:/);
    expect(text).toMatch(/Basic Constraints: critical\s+CA:FALSE/);
    expect(text).toMatch(/Key Usage: critical\s+Digital Signature\n/);
    expect(text).not.toMatch(/Certificate Sign|CRL Sign/);
    expect(text).toMatch(
      /Extended Key Usage:\s*\n\s+TLS Web Server Authentication, TLS Web Client Authentication/,
    );
    expect(text).toContain('Authority Key Identifier');
    expect(text).toContain('NIST CURVE: P-256');
    expect(text).not.toContain('whatever-the-node-asked'); // nothing but the key is taken from the CSR

    const x = new X509Certificate(svid.certPem);
    expect(x.serialNumber.toLowerCase().replace(/^0+/, '')).toBe(svid.serialHex);
    expect(svid.serialHex.length).toBeGreaterThanOrEqual(31); // 16 random bytes
    expect(svid.notBefore).toBe(NOW - 300_000);
    expect(svid.notAfter).toBe(NOW + 86_400_000);
    expect(svid.spiffeId).toBe(id);
  });

  it('issues the WFM server SVID from a public key; openssl accepts it for TLS server use', async () => {
    const key = await newP256Key();
    const svid = await issueSvid({
      ca,
      publicKey: key.publicKeyPem,
      spiffeId: wfmSpiffeId('plant7.example', 'lo-1'),
      now: NOW,
      ttlSeconds: 3600,
    });
    const file = write('server.pem', svid.certPem);
    const verified = await openssl(
      ['verify', '-attime', ATTIME, '-CAfile', 'ca.pem', '-purpose', 'sslserver', file],
      t.dir,
    );
    expect(verified.out).toContain('server.pem: OK');
    expect(
      new X509Certificate(svid.certPem).checkPrivateKey(
        (await import('node:crypto')).createPrivateKey(key.keyPem),
      ),
    ).toBe(true);
  });

  it('gives every SVID a fresh random serial, or the one asked for', async () => {
    const key = await newP256Key();
    const base = {
      ca,
      publicKey: key.publicKeyPem,
      spiffeId: wfmSpiffeId('plant7.example', 'w'),
      now: NOW,
      ttlSeconds: 600,
    };
    const a = await issueSvid(base);
    const b = await issueSvid(base);
    expect(a.serialHex).not.toBe(b.serialHex);
    const c = await issueSvid({ ...base, serialHex: '00ABC' });
    expect(c.serialHex).toBe('abc');
    expect(new X509Certificate(c.certPem).serialNumber.toLowerCase()).toMatch(/^0*abc$/);
  });

  it('never outlives the CA', async () => {
    const shortCa = await createSiteCa({ trustDomain: 'td', name: 'short', now: NOW, validityDays: 1 });
    const key = await newP256Key();
    const svid = await issueSvid({
      ca: shortCa,
      publicKey: key.publicKeyPem,
      spiffeId: wfmSpiffeId('td', 'w'),
      now: NOW,
      ttlSeconds: 30 * 86_400,
    });
    expect(svid.notAfter).toBe(shortCa.notAfter);
    await expect(
      issueSvid({
        ca: shortCa,
        publicKey: key.publicKeyPem,
        spiffeId: wfmSpiffeId('td', 'w'),
        now: NOW + 2 * 86_400_000,
        ttlSeconds: 600,
      }),
    ).rejects.toThrow(/CA expired/);
  });

  it('refuses what must not be issued', async () => {
    const key = await newP256Key();
    const ok = { ca, publicKey: key.publicKeyPem, now: NOW, ttlSeconds: 600 };
    await expect(issueSvid({ ...ok, spiffeId: 'spiffe://other.example/margo/wfm/w' })).rejects.toMatchObject({
      code: 'identity/invalid-spiffe-id',
      message: expect.stringContaining('not in the CA\'s trust domain "plant7.example"'),
    });
    await expect(issueSvid({ ...ok, spiffeId: 'spiffe://plant7.example' })).rejects.toThrow(/no path/);
    await expect(issueSvid({ ...ok, spiffeId: 'spiffe://plant7.example/a/../b' })).rejects.toMatchObject({
      code: 'identity/invalid-spiffe-id',
    });
    await expect(
      issueSvid({ ...ok, spiffeId: wfmSpiffeId('plant7.example', 'w'), ttlSeconds: 0 }),
    ).rejects.toThrow(/ttlSeconds/);
    await expect(
      issueSvid({ ca, now: NOW, ttlSeconds: 600, spiffeId: wfmSpiffeId('plant7.example', 'w') }),
    ).rejects.toThrow(/exactly one of publicKey or csrPem/);
    await expect(
      issueSvid({
        ...ok,
        ca: { certPem: ca.certPem, keyPem: otherCa.keyPem },
        spiffeId: wfmSpiffeId('plant7.example', 'w'),
      }),
    ).rejects.toThrow(/does not belong/);
    const r = await openssl(['genpkey', '-algorithm', 'ed25519', '-out', 'ed.key'], t.dir);
    expect(r.code).toBe(0);
    await openssl(['pkey', '-in', 'ed.key', '-pubout', '-out', 'ed.pub'], t.dir);
    await expect(
      issueSvid({
        ...ok,
        publicKey: fs.readFileSync(path.join(t.dir, 'ed.pub'), 'utf8'),
        spiffeId: wfmSpiffeId('plant7.example', 'w'),
      }),
    ).rejects.toMatchObject({ code: 'identity/unsupported-key' });
  });
});
