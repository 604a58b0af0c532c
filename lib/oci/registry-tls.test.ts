import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRegistry, type TestRegistry } from '../../test/helpers/registry.js';
import { isOutpostError } from '../errors/index.js';
import { createRegistryClient } from './registry-client.js';
import { loopbackServerPki } from './testing/openssl.js';
import { TRANSPORTS } from './testing/transports.js';

// docker-registry serving HTTPS with a certificate for 127.0.0.1 from a private CA made with openssl, over
// both of the client's transports (TRANSPORTS).

let tmp: string;
let reg: TestRegistry;
let caPem: string;

beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'outpost-oci-tls-'));
  const pki = loopbackServerPki(tmp);
  caPem = fs.readFileSync(pki.caCert, 'utf8');
  reg = await startRegistry({ tls: { certificate: pki.cert, key: pki.key } });
});

afterAll(async () => {
  await reg?.stop();
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

describe.each(TRANSPORTS)('HTTPS with a private CA over $transport', ({ key, http }) => {
  it('pushes and pulls when the CA is given', async () => {
    expect(reg.url.startsWith('https://')).toBe(true);
    const c = createRegistryClient({ ca: caPem, http });
    try {
      const pushed = await c.push({
        ref: `${reg.host}/${key}/app:1`,
        files: [{ bytes: Buffer.from('over tls'), mediaType: 'text/plain' }],
        artifactType: 'application/vnd.outpost.test.v1',
      });
      const r = await c.resolve(`oci://${reg.host}/${key}/app:1`);
      expect(r.digest).toBe(pushed.digest);
      expect((await c.fetchBlobBytes(`${reg.host}/${key}/app`, r.manifest.layers[0]!)).toString()).toBe(
        'over tls',
      );
    } finally {
      await c.close();
    }
  });

  it('refuses the registry without the CA, with oci/tls-error naming the reference', async () => {
    const c = createRegistryClient({ http });
    let err: unknown;
    try {
      await c.resolve(`${reg.host}/${key}/app:1`);
    } catch (e) {
      err = e;
    }
    await c.close();
    expect(isOutpostError(err, 'oci/tls-error')).toBe(true);
    expect((err as Error).message).toMatch(
      new RegExp(`^${reg.host}/${key}/app:1: the registry's TLS certificate is not trusted`),
    );
  });
});

describe('HTTPS meeting plain HTTP', () => {
  it('hints at plain HTTP when HTTPS meets a plain-HTTP registry', async () => {
    const plain = await startRegistry();
    const c = createRegistryClient();
    let err: unknown;
    try {
      await c.resolve(`${plain.host}/x:1`);
    } catch (e) {
      err = e;
    }
    await c.close();
    await plain.stop();
    expect(isOutpostError(err, 'network-error')).toBe(true);
    expect((err as Error).message).toContain('(the registry may speak plain HTTP)');
  });
});
