import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createKeyAndCsr, parseCsr } from './csr.js';
import { openssl, tempDir } from '../../core/ca/testing/certs.js';

const t = tempDir();
afterAll(() => t.cleanup());

describe('node keys and CSRs', () => {
  it('makes a P-256 key and a CSR that openssl verifies', async () => {
    const { keyPem, csrPem } = await createKeyAndCsr({ subject: 'CN=node-1, O=Plant 7' });
    expect(keyPem).toContain('-----BEGIN PRIVATE KEY-----');
    fs.writeFileSync(path.join(t.dir, 'a.csr'), csrPem);
    const v = await openssl(['req', '-in', 'a.csr', '-verify', '-noout', '-text'], t.dir);
    expect(v.code).toBe(0);
    expect(v.out).toMatch(/verify OK/i);
    expect(v.out).toContain('NIST CURVE: P-256');
    expect(v.out).toContain('CN = node-1');

    const parsed = await parseCsr(csrPem);
    expect(parsed.subject).toBe('CN=node-1, O=Plant 7');
    expect(parsed.publicKey.asymmetricKeyDetails?.namedCurve).toBe('prime256v1');
    expect(parsed.publicKeyPem).toContain('BEGIN PUBLIC KEY');
  });

  it('works without a subject', async () => {
    const { csrPem } = await createKeyAndCsr();
    expect((await parseCsr(csrPem)).subject).toBe('');
  });

  it('accepts a CSR made by openssl', async () => {
    const r = await openssl(
      [
        'req',
        '-new',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:P-256',
        '-nodes',
        '-keyout',
        'o.key',
        '-out',
        'o.csr',
        '-subj',
        '/CN=from-openssl',
      ],
      t.dir,
    );
    expect(r.code).toBe(0);
    const parsed = await parseCsr(fs.readFileSync(path.join(t.dir, 'o.csr'), 'utf8'));
    expect(parsed.subject).toBe('CN=from-openssl');
  });

  it.each([
    ['P-384', ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-384'], /P-256.*EC secp384r1/],
    ['RSA', ['-newkey', 'rsa:2048'], /P-256.*rsa/],
    ['Ed25519', ['-newkey', 'ed25519'], /P-256.*ed25519/],
  ])('rejects a %s key with a clear error', async (name, keyArgs, message) => {
    const file = `${name}.csr`;
    const r = await openssl(
      ['req', '-new', ...keyArgs, '-nodes', '-keyout', `${name}.key`, '-out', file, '-subj', '/CN=x'],
      t.dir,
    );
    expect(r.code).toBe(0);
    await expect(parseCsr(fs.readFileSync(path.join(t.dir, file), 'utf8'))).rejects.toMatchObject({
      code: 'identity/unsupported-key',
      message: expect.stringMatching(message),
    });
  });

  it('rejects a CSR whose signature does not match (tampered subject)', async () => {
    const { csrPem } = await createKeyAndCsr({ subject: 'CN=aaaa' });
    const der = Buffer.from(csrPem.replace(/-----[A-Z ]+-----/g, '').replace(/\s+/g, ''), 'base64');
    const i = der.indexOf(Buffer.from('aaaa'));
    expect(i).toBeGreaterThan(0);
    der.write('bbbb', i);
    const tampered = `-----BEGIN CERTIFICATE REQUEST-----\n${der.toString('base64')}\n-----END CERTIFICATE REQUEST-----\n`;
    await expect(parseCsr(tampered)).rejects.toMatchObject({
      code: 'identity/invalid-csr',
      message: 'CSR signature does not match its public key',
    });
  });

  it('rejects junk', async () => {
    await expect(parseCsr('hello')).rejects.toMatchObject({ code: 'identity/invalid-csr' });
    await expect(
      parseCsr('-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n'),
    ).rejects.toMatchObject({ code: 'identity/invalid-csr', message: 'CSR could not be parsed' });
    await expect(parseCsr('x'.repeat(20_000))).rejects.toThrow(/at most/);
    await expect(createKeyAndCsr({ subject: 'not a DN' })).rejects.toMatchObject({
      code: 'identity/invalid-csr',
    });
  });
});
