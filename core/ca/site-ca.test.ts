import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  CA_CERT_FILE,
  CA_KEY_FILE,
  loadSiteCa,
  saveSiteCa,
  writeClientSvidFiles,
  anchorsToPem,
} from './files.js';
import { caFingerprint, caTrustDomain } from '../../lib/identity/index.js';
import { createSiteCa, siteCaFromPem } from './site-ca.js';
import { openssl, tempDir } from './testing/certs.js';

const NOW = Date.UTC(2026, 5, 1);
const cleanups: (() => void)[] = [];
afterEach(() => {
  while (cleanups.length) cleanups.pop()!();
});
function dir(): string {
  const t = tempDir();
  cleanups.push(t.cleanup);
  return t.dir;
}

describe('site CA', () => {
  it('is an ECDSA P-256 self-signed root that openssl accepts as a CA', async () => {
    const ca = await createSiteCa({
      trustDomain: 'plant7.example',
      name: 'Outpost site CA plant-7',
      now: NOW,
      validityDays: 30,
    });
    const d = dir();
    fs.writeFileSync(path.join(d, 'ca.pem'), ca.certPem);
    const text = await openssl(['x509', '-in', 'ca.pem', '-noout', '-text'], d);
    expect(text.code).toBe(0);
    expect(text.out).toMatch(/Basic Constraints: critical\s+CA:TRUE/);
    expect(text.out).toMatch(/Key Usage: critical\s+Certificate Sign, CRL Sign/);
    expect(text.out).toContain('Subject Key Identifier');
    expect(text.out).toContain('URI:spiffe://plant7.example');
    expect(text.out).toContain('NIST CURVE: P-256');
    expect(text.out).toContain('ecdsa-with-SHA256');
    // Self-signed root verifies against itself.
    const verified = await openssl(
      ['verify', '-attime', String(NOW / 1000 + 60), '-CAfile', 'ca.pem', 'ca.pem'],
      d,
    );
    expect(verified.out).toContain('ca.pem: OK');
    expect(ca.notAfter).toBe(NOW + 30 * 86_400_000);
    expect(ca.trustDomain).toBe('plant7.example');
    expect(caTrustDomain(ca.certPem)).toBe('plant7.example');
  });

  it('fingerprint is sha256 of the DER SubjectPublicKeyInfo, as openssl computes it', async () => {
    const ca = await createSiteCa({ trustDomain: 'td', name: 'CA', now: NOW });
    const d = dir();
    fs.writeFileSync(path.join(d, 'ca.pem'), ca.certPem);
    const pub = await openssl(['x509', '-in', 'ca.pem', '-pubkey', '-noout', '-out', 'pub.pem'], d);
    expect(pub.code).toBe(0);
    const der = await openssl(['pkey', '-pubin', '-in', 'pub.pem', '-outform', 'der', '-out', 'pub.der'], d);
    expect(der.code).toBe(0);
    const hash = await openssl(['dgst', '-sha256', '-r', 'pub.der'], d);
    expect(ca.fingerprint).toBe(`sha256:${hash.out.split(' ')[0]}`);
    expect(caFingerprint(ca.certPem)).toBe(ca.fingerprint);
  });

  it('two CAs have different keys and fingerprints', async () => {
    const a = await createSiteCa({ trustDomain: 'td', name: 'A', now: NOW });
    const b = await createSiteCa({ trustDomain: 'td', name: 'A', now: NOW });
    expect(a.fingerprint).not.toBe(b.fingerprint);
  });

  it('rejects bad input with clear errors', async () => {
    await expect(createSiteCa({ trustDomain: 'Bad TD', name: 'x', now: NOW })).rejects.toMatchObject({
      code: 'identity/invalid-spiffe-id',
    });
    await expect(createSiteCa({ trustDomain: 'td', name: '', now: NOW })).rejects.toThrow(/name/);
    await expect(createSiteCa({ trustDomain: 'td', name: 'x', now: NOW, validityDays: 0 })).rejects.toThrow(
      /validityDays/,
    );
  });

  it('is saved with a 0600 key, loaded back, and never silently replaced', async () => {
    const ca = await createSiteCa({ trustDomain: 'td', name: 'CA', now: NOW });
    const d = path.join(dir(), 'pki', 'site');
    const files = saveSiteCa(d, ca);
    expect(fs.statSync(files.keyFile).mode & 0o777).toBe(0o600);
    expect(fs.statSync(files.certFile).mode & 0o777).toBe(0o644);
    expect(fs.statSync(d).mode & 0o777).toBe(0o700);
    const loaded = loadSiteCa(d);
    expect(loaded).toMatchObject({ certPem: ca.certPem, fingerprint: ca.fingerprint, trustDomain: 'td' });

    const other = await createSiteCa({ trustDomain: 'td', name: 'CA2', now: NOW });
    expect(() => saveSiteCa(d, other)).toThrow(expect.objectContaining({ code: 'identity/ca-exists' }));
    expect(loadSiteCa(d).fingerprint).toBe(ca.fingerprint); // unchanged
    saveSiteCa(d, other, { force: true });
    expect(loadSiteCa(d).fingerprint).toBe(other.fingerprint);
    expect(fs.readdirSync(d).sort()).toEqual([CA_KEY_FILE, CA_CERT_FILE].sort()); // no temp files left
  });

  it('reports a missing or incomplete CA, and a key that does not match', async () => {
    const d = dir();
    expect(() => loadSiteCa(d)).toThrow(expect.objectContaining({ code: 'identity/ca-not-found' }));
    const ca = await createSiteCa({ trustDomain: 'td', name: 'CA', now: NOW });
    fs.writeFileSync(path.join(d, CA_CERT_FILE), ca.certPem);
    expect(() => loadSiteCa(d)).toThrow(/ca-key.pem is missing/);
    const other = await createSiteCa({ trustDomain: 'td', name: 'CA', now: NOW });
    fs.writeFileSync(path.join(d, CA_KEY_FILE), other.keyPem);
    expect(() => loadSiteCa(d)).toThrow(expect.objectContaining({ code: 'identity/invalid-key' }));
    expect(() => saveSiteCa(dir(), { ...ca, keyPem: other.keyPem })).toThrow(/does not belong/);
    expect(() => siteCaFromPem('junk', ca.keyPem)).toThrow(
      expect.objectContaining({ code: 'identity/invalid-certificate' }),
    );
  });

  it('writes client SVID files under the names the Margo CTT expects', async () => {
    const ca = await createSiteCa({ trustDomain: 'td', name: 'CA', now: NOW });
    const d = dir();
    const out = writeClientSvidFiles(d, { certPem: ca.certPem, keyPem: ca.keyPem, anchorsPem: [ca.certPem] });
    expect(path.basename(out.certFile)).toBe('client-svid-cert.pem');
    expect(path.basename(out.keyFile)).toBe('client-svid-key.pem');
    expect(path.basename(out.anchorsFile)).toBe('trust-bundle-ca.pem');
    expect(fs.statSync(out.keyFile).mode & 0o777).toBe(0o600);
    expect(() =>
      writeClientSvidFiles(d, { certPem: ca.certPem, keyPem: ca.keyPem, anchorsPem: [ca.certPem] }),
    ).toThrow(expect.objectContaining({ code: 'identity/files-exist' }));
    expect(() => anchorsToPem(['not a pem'])).toThrow(/no trust anchors/);
  });
});
