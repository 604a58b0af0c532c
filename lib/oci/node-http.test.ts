import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRegistry, type TestRegistry } from '../../test/helpers/registry.js';
import { isOutpostError, type OutpostError } from '../errors/index.js';
import { digestOf } from './digest.js';
import { MediaType } from './media-types.js';
import { createRegistryClient, type RegistryClientOptions } from './registry-client.js';
import { startProxy } from './testing/http-proxy.js';
import { loopbackServerPki } from './testing/openssl.js';

// The node:http/https stack of the transport (`http: 'node'`, the edge agent's, ADR 0543) against real
// docker-registries on loopback, plain and HTTPS with a private CA; faults from the proxy in front.

let tmp: string;
let plain: TestRegistry;
let secure: TestRegistry;
let caPem: string;
const big = crypto.randomBytes(6 * 1024 * 1024 + 321);
const bigDigest = digestOf(big);

const client = (o: RegistryClientOptions = {}) => createRegistryClient({ ...o, http: 'node' });

async function caught(p: Promise<unknown>): Promise<OutpostError> {
  try {
    await p;
  } catch (err) {
    if (isOutpostError(err)) return err;
    throw err;
  }
  throw new Error('expected an error');
}

beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'outpost-oci-node-http-'));
  const pki = loopbackServerPki(tmp);
  caPem = fs.readFileSync(pki.caCert, 'utf8');
  [plain, secure] = await Promise.all([
    startRegistry(),
    startRegistry({ tls: { certificate: pki.cert, key: pki.key } }),
  ]);
  fs.writeFileSync(path.join(tmp, 'big.bin'), big);
  const c = client({ plainHttp: true });
  await c.push({
    ref: `${plain.host}/demo/blobs:1`,
    files: [{ path: path.join(tmp, 'big.bin'), mediaType: MediaType.octetStream }],
    artifactType: 'application/vnd.outpost.test.v1',
  });
  await c.close();
});

afterAll(async () => {
  await plain?.stop();
  await secure?.stop();
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

describe("the transport on node:http and node:https (http: 'node')", () => {
  it('pushes (a streamed file) and pulls the same bytes back', async () => {
    const c = client({ plainHttp: true });
    try {
      const r = await c.resolve(`oci://${plain.host}/demo/blobs:1`);
      expect(r.manifest.layers.map((l) => [l.digest, l.size])).toEqual([[bigDigest, big.length]]);
      const dest = path.join(tmp, 'pulled', 'big.bin');
      const got = await c.fetchBlob(`${plain.host}/demo/blobs`, r.manifest.layers[0]!, { dest });
      expect(got).toMatchObject({ digest: bigDigest, size: big.length });
      expect(fs.readFileSync(dest).equals(big)).toBe(true);
      expect(await c.listTags(`${plain.host}/demo/blobs`)).toEqual(['1']);
    } finally {
      await c.close();
    }
  });

  it('resumes a blob after the connection is cut, and the digest verifies', async () => {
    let cut = false;
    const proxy = await startProxy({
      target: plain.url,
      fault: (req, status) => {
        if (!cut && req.method === 'GET' && req.url?.includes(`/blobs/${bigDigest}`) && status === 200) {
          cut = true;
          return { cutAfterBytes: 2 * 1024 * 1024 + 17 };
        }
        return undefined;
      },
    });
    const c = client({ plainHttp: true });
    try {
      const dest = path.join(tmp, 'resume', 'big.bin');
      const got = await c.fetchBlob(
        `${proxy.host}/demo/blobs`,
        { digest: bigDigest, size: big.length },
        { dest, retryDelayMs: 10 },
      );
      const gets = proxy.requests.filter((r) => r.url.includes(`/blobs/${bigDigest}`));
      expect(gets.length).toBe(2);
      expect(gets[1]!.range).toMatch(/^bytes=\d+-$/);
      expect(got.digest).toBe(bigDigest);
      expect(fs.readFileSync(dest).equals(big)).toBe(true);
    } finally {
      await c.close();
      await proxy.stop();
    }
  });

  it('pushes and pulls over HTTPS with a private CA, and refuses the registry without it', async () => {
    const c = client({ ca: caPem });
    try {
      const pushed = await c.push({
        ref: `${secure.host}/secure/app:1`,
        files: [{ bytes: Buffer.from('over tls'), mediaType: 'text/plain' }],
        artifactType: 'application/vnd.outpost.test.v1',
      });
      const r = await c.resolve(`oci://${secure.host}/secure/app:1`);
      expect(r.digest).toBe(pushed.digest);
      expect((await c.fetchBlobBytes(`${secure.host}/secure/app`, r.manifest.layers[0]!)).toString()).toBe(
        'over tls',
      );
    } finally {
      await c.close();
    }
    const untrusted = client();
    const e = await caught(untrusted.resolve(`${secure.host}/secure/app:1`));
    await untrusted.close();
    expect(e.code).toBe('oci/tls-error');
    expect(e.message).toMatch(
      /^127\.0\.0\.1:\d+\/secure\/app:1: the registry's TLS certificate is not trusted/,
    );
  });

  it('gives up on a registry that never answers (timeout) and names one that is not there (network-error)', async () => {
    const sockets: net.Socket[] = [];
    const silent = net.createServer((s) => sockets.push(s));
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    const { port } = silent.address() as net.AddressInfo;
    const c = client({ plainHttp: true, timeoutMs: 300 });
    try {
      const e = await caught(c.resolve(`127.0.0.1:${port}/slow/app:1`));
      expect(e.code).toBe('timeout');
      expect(e.message).toMatch(/slow\/app:1: the registry did not answer in time/);
      const gone = await caught(c.resolve(`127.0.0.1:1/none:1`));
      expect(gone.code).toBe('network-error');
      expect(gone.message).toMatch(/^127\.0\.0\.1:1\/none:1: .*ECONNREFUSED/);
    } finally {
      await c.close();
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => silent.close(() => r()));
    }
  });
});
