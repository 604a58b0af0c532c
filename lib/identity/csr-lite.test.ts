import { describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { createPrivateKey, createPublicKey } from 'node:crypto';
import { createKeyAndCsrLite } from './csr-lite.js';
import { parseCsr } from '../x509/index.js';

const openssl = (args: string[], input: string) =>
  execFileSync('openssl', args, { input, encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'] });

describe("createKeyAndCsrLite (the agent's CSR without @peculiar/x509)", () => {
  it('makes a P-256 key and a CSR that the site parses and OpenSSL verifies, with the common name', async () => {
    const { keyPem, csrPem } = createKeyAndCsrLite({ commonName: 'press-01' });
    const parsed = await parseCsr(csrPem);
    expect(parsed.subject).toBe('CN=press-01');
    const fromKey = createPublicKey(createPrivateKey(keyPem)).export({ type: 'spki', format: 'der' });
    expect(parsed.publicKey.export({ type: 'spki', format: 'der' }).equals(fromKey)).toBe(true);
    expect(keyPem).toMatch(/^-----BEGIN PRIVATE KEY-----\n/);
    const text = openssl(['req', '-noout', '-verify', '-text'], csrPem);
    expect(text).toMatch(/Subject: CN ?= ?press-01/);
    expect(text).toMatch(/ASN1 OID: prime256v1/);
    expect(text).toMatch(/Signature Algorithm: ecdsa-with-SHA256/);
  });

  it('makes a CSR with an empty subject, and a new key every time', async () => {
    const a = createKeyAndCsrLite();
    const b = createKeyAndCsrLite();
    expect((await parseCsr(a.csrPem)).subject).toBe('');
    openssl(['req', '-noout', '-verify'], a.csrPem);
    expect(a.keyPem).not.toBe(b.keyPem);
  });

  it('refuses a common name it would have to escape', () => {
    expect(() => createKeyAndCsrLite({ commonName: 'a,O=evil' })).toThrow(
      /common name "a,O=evil" must match/,
    );
  });
});
