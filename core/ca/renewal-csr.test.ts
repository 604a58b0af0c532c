import { createPublicKey, generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createKeyAndCsr } from '../../lib/x509/index.js';
import { parseRenewalCsr } from './renewal-csr.js';
import { csrRequesting } from './testing/csr-requests.js';

const ID = 'spiffe://plant7.example/margo/wfm/lo-1/client/default.edge-1';
const spki = (keyPem: string) => createPublicKey(keyPem).export({ type: 'spki', format: 'der' });
const oldKey = spki(
  generateKeyPairSync('ec', { namedCurve: 'P-256' })
    .privateKey.export({ type: 'pkcs8', format: 'pem' })
    .toString(),
);

describe('renewal CSRs (ADR 0380)', () => {
  it('accepts a plain CSR for a new key, and one that names exactly the presented SPIFFE ID', async () => {
    const plain = await createKeyAndCsr({ subject: 'CN=edge-1' });
    const p = await parseRenewalCsr(plain.csrPem, { spiffeId: ID, currentKeySpki: oldKey });
    expect(p.publicKey.export({ type: 'spki', format: 'der' })).toEqual(spki(plain.keyPem));
    const same = await csrRequesting({ uris: [ID] });
    await expect(
      parseRenewalCsr(same.csrPem, { spiffeId: ID, currentKeySpki: oldKey }),
    ).resolves.toBeDefined();
  });

  it('refuses a CSR that asks for another SPIFFE ID, more names, a CA flag or other attributes', async () => {
    const cases = [
      { uris: [ID.replace('edge-1', 'edge-2')] },
      { uris: [ID, ID.replace('edge-1', 'edge-2')] },
      { dnsNames: ['lo.plant7.example'] },
      { ca: true },
      { challengePassword: 'secret' },
    ];
    for (const want of cases) {
      const c = await csrRequesting(want);
      await expect(
        parseRenewalCsr(c.csrPem, { spiffeId: ID, currentKeySpki: oldKey }),
        JSON.stringify(want),
      ).rejects.toMatchObject({ code: 'identity/invalid-csr', message: expect.stringContaining('renewal') });
    }
  });

  it('refuses the key of the presented certificate, and what parseCsr refuses', async () => {
    const c = await createKeyAndCsr();
    await expect(parseRenewalCsr(c.csrPem, { spiffeId: ID, currentKeySpki: spki(c.keyPem) })).rejects.toThrow(
      /new key pair/,
    );
    await expect(
      parseRenewalCsr('not a csr', { spiffeId: ID, currentKeySpki: oldKey }),
    ).rejects.toMatchObject({
      code: 'identity/invalid-csr',
    });
  });
});
