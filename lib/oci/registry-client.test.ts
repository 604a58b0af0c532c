import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRegistry, type TestRegistry } from '../../test/helpers/registry.js';
import { isOutpostError, type OutpostError } from '../errors/index.js';
import { createBlobCache } from './blob-cache.js';
import { digestOf } from './digest.js';
import { EMPTY_CONFIG, MediaType } from './media-types.js';
import { pullBlobToCache } from './pull-to-cache.js';
import { createRegistryClient, type RegistryClient, type RegistryClientOptions } from './registry-client.js';
import { startProxy } from './testing/http-proxy.js';
import { TRANSPORTS } from './testing/transports.js';
import type { FetchLike } from './transport.js';

// A real registry (Debian docker-registry) on loopback; faults come from a small proxy in front of it.
// What depends on the HTTP stack runs over both of the client's transports (TRANSPORTS).

let reg: TestRegistry;
let client: RegistryClient;
let tmp: string;
const big = crypto.randomBytes(12 * 1024 * 1024 + 123);
const bigDigest = digestOf(big);
const small = Buffer.from('hello, edge\n');

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
  reg = await startRegistry();
  client = createRegistryClient({ plainHttp: true });
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'outpost-oci-client-'));
  fs.writeFileSync(path.join(tmp, 'big.bin'), big);
  await client.push({
    ref: `${reg.host}/demo/blobs:1.0.0`,
    files: [
      {
        path: path.join(tmp, 'big.bin'),
        mediaType: MediaType.octetStream,
        annotations: { [`org.opencontainers.image.title`]: 'big.bin' },
      },
      { bytes: small, mediaType: 'text/plain' },
    ],
    artifactType: 'application/vnd.outpost.test.v1',
    annotations: { 'org.opencontainers.image.version': '1.0.0' },
  });
});

afterAll(async () => {
  await client?.close();
  await reg?.stop();
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

describe('push and pull against docker-registry', () => {
  it('stores an OCI 1.1 artifact manifest with the empty config and pulls the same bytes back', async () => {
    const r = await client.resolve(`oci://${reg.host}/demo/blobs:1.0.0`);
    expect(r.mediaType).toBe(MediaType.ociManifest);
    expect(r.manifest.artifactType).toBe('application/vnd.outpost.test.v1');
    expect(r.manifest.config).toEqual({
      mediaType: EMPTY_CONFIG.mediaType,
      digest: EMPTY_CONFIG.digest,
      size: 2,
    });
    expect(r.manifest.layers.map((l) => [l.digest, l.size])).toEqual([
      [bigDigest, big.length],
      [digestOf(small), small.length],
    ]);
    expect(r.digest).toBe(digestOf(r.bytes));

    const byDigest = await client.resolve(`${reg.host}/demo/blobs@${r.digest}`);
    expect(byDigest.bytes.equals(r.bytes)).toBe(true);

    const dest = path.join(tmp, 'pulled', 'big.bin');
    const got = await client.fetchBlob(`${reg.host}/demo/blobs`, r.manifest.layers[0]!, { dest });
    expect(got).toMatchObject({ path: dest, digest: bigDigest, size: big.length, resumedFrom: 0 });
    expect(fs.readFileSync(dest).equals(big)).toBe(true);
    expect(fs.existsSync(`${dest}.partial`)).toBe(false);
    const bytes = await client.fetchBlobBytes(`${reg.host}/demo/blobs`, r.manifest.layers[1]!);
    expect(bytes.equals(small)).toBe(true);
  });

  it('pushes again without uploading blobs the registry already has', async () => {
    const proxy = await startProxy({ target: reg.url });
    const c = createRegistryClient({ plainHttp: true });
    try {
      const states: string[] = [];
      await c.push({
        ref: `${proxy.host}/demo/blobs:again`,
        files: [{ path: path.join(tmp, 'big.bin'), mediaType: MediaType.octetStream }],
        artifactType: 'application/vnd.outpost.test.v1',
        onProgress: (p) => states.push(p.state),
      });
      expect(states).toContain('exists');
      expect(proxy.requests.filter((r) => r.method === 'PATCH' || r.method === 'POST')).toEqual([]);
    } finally {
      await c.close();
      await proxy.stop();
    }
  });

  it('lists tags (following pagination) and inspects without pulling layers', async () => {
    expect((await client.listTags(`${reg.host}/demo/blobs`)).sort()).toEqual(['1.0.0', 'again']);
    expect(await client.listTags(`${reg.host}/demo/blobs`, { pageSize: 1 })).toEqual(['1.0.0', 'again']);
    const info = await client.inspect(`${reg.host}/demo/blobs:1.0.0`);
    expect(info).toMatchObject({
      kind: 'artifact',
      artifactType: 'application/vnd.outpost.test.v1',
      annotations: { 'org.opencontainers.image.version': '1.0.0' },
      totalSize: 2 + big.length + small.length,
      layers: [{ digest: bigDigest, title: 'big.bin' }, { mediaType: 'text/plain' }],
    });
  });

  it('reports missing tags, repositories and blobs as oci/not-found in one line', async () => {
    const e1 = await caught(client.resolve(`${reg.host}/demo/blobs:nope`));
    expect(e1.code).toBe('oci/not-found');
    expect(e1.message).toMatch(new RegExp(`^${reg.host}/demo/blobs:nope: manifest not found`));
    expect(e1.message).not.toContain('\n');
    const e2 = await caught(client.listTags(`${reg.host}/no/such`));
    expect(e2.code).toBe('oci/not-found');
    const missing = { digest: digestOf('nothing'), size: 7 };
    const dest = path.join(tmp, 'missing.bin');
    const e3 = await caught(client.fetchBlob(`${reg.host}/demo/blobs`, missing, { dest }));
    expect(e3.code).toBe('oci/not-found');
    expect(fs.existsSync(dest)).toBe(false);
  });

  it('refuses to push without a tag or an artifactType for an empty config', async () => {
    const noTag = await caught(
      client.push({
        ref: `${reg.host}/demo/x`,
        files: [{ bytes: small, mediaType: 'text/plain' }],
        artifactType: 'a/b',
      }),
    );
    expect(noTag.code).toBe('oci/invalid-reference');
    const noType = await caught(
      client.push({ ref: `${reg.host}/demo/x:1`, files: [{ bytes: small, mediaType: 'text/plain' }] }),
    );
    expect(noType.code).toBe('oci/invalid-manifest');
    expect(await caught(client.listTags(`${reg.host}/demo/x`))).toMatchObject({ code: 'oci/not-found' });
  });
});

describe('resume and verification', () => {
  it('keeps the partial file when cancelled and resumes from it in a later call', async () => {
    const proxy = await startProxy({ target: reg.url });
    const c = createRegistryClient({ plainHttp: true });
    try {
      const dest = path.join(tmp, 'cancel', 'big.bin');
      const ac = new AbortController();
      const e = await caught(
        c.fetchBlob(
          `${proxy.host}/demo/blobs`,
          { digest: bigDigest, size: big.length },
          {
            dest,
            signal: ac.signal,
            onProgress: (p) => {
              if (p.received >= 1024 * 1024) ac.abort();
            },
          },
        ),
      );
      expect(e.code).toBe('cancelled');
      expect(fs.existsSync(dest)).toBe(false);
      const kept = fs.statSync(`${dest}.partial`).size;
      expect(kept).toBeGreaterThan(0);
      expect(kept).toBeLessThan(big.length);
      expect(fs.readFileSync(`${dest}.partial`).equals(big.subarray(0, kept))).toBe(true);

      const got = await c.fetchBlob(
        `${proxy.host}/demo/blobs`,
        { digest: bigDigest, size: big.length },
        { dest },
      );
      expect(got.resumedFrom).toBe(kept);
      expect(proxy.requests.at(-1)!.range).toBe(`bytes=${kept}-`);
      expect(fs.readFileSync(dest).equals(big)).toBe(true);
      expect(fs.existsSync(`${dest}.partial`)).toBe(false);
    } finally {
      await c.close();
      await proxy.stop();
    }
  });

  it('rejects a corrupted blob with oci/digest-mismatch and leaves nothing in the cache or at dest', async () => {
    const proxy = await startProxy({
      target: reg.url,
      fault: (req) => (req.url?.includes(`/blobs/${bigDigest}`) ? { flipByteAt: 5_000_000 } : undefined),
    });
    const c = createRegistryClient({ plainHttp: true });
    const cacheDir = path.join(tmp, 'cache-mismatch');
    const cache = createBlobCache({ dir: cacheDir, maxBytes: 100 * 1024 * 1024 });
    try {
      const e = await caught(
        pullBlobToCache(c, cache, `${proxy.host}/demo/blobs`, { digest: bigDigest, size: big.length }),
      );
      expect(e.code).toBe('oci/digest-mismatch');
      expect(e.message).toContain(bigDigest);
      expect(await cache.has(bigDigest)).toBe(false);
      expect(fs.readdirSync(path.join(cacheDir, 'staging'))).toEqual([]);

      const dest = path.join(tmp, 'mismatch', 'big.bin');
      const e2 = await caught(
        c.fetchBlob(`${proxy.host}/demo/blobs`, { digest: bigDigest, size: big.length }, { dest }),
      );
      expect(e2.code).toBe('oci/digest-mismatch');
      expect(fs.readdirSync(path.dirname(dest))).toEqual([]);
    } finally {
      await c.close();
      await proxy.stop();
    }
  });

  it('rejects a manifest whose bytes do not match the digest it was pulled by', async () => {
    const r = await client.resolve(`${reg.host}/demo/blobs:1.0.0`);
    const proxy = await startProxy({
      target: reg.url,
      fault: (req) => (req.url?.includes('/manifests/') ? { flipByteAt: 40 } : undefined),
    });
    const c = createRegistryClient({ plainHttp: true });
    try {
      const e = await caught(c.resolve(`${proxy.host}/demo/blobs@${r.digest}`));
      expect(e.code).toBe('oci/digest-mismatch');
    } finally {
      await c.close();
      await proxy.stop();
    }
  });

  it('pulls into the cache once and serves the next pull from it', async () => {
    const proxy = await startProxy({ target: reg.url });
    const c = createRegistryClient({ plainHttp: true });
    const cache = createBlobCache({ dir: path.join(tmp, 'cache-hit'), maxBytes: 100 * 1024 * 1024 });
    try {
      const d = { digest: bigDigest, size: big.length };
      const p1 = await pullBlobToCache(c, cache, `${proxy.host}/demo/blobs`, d);
      const p2 = await pullBlobToCache(c, cache, `${proxy.host}/demo/blobs`, d, { verifyHit: true });
      expect(p2).toBe(p1);
      expect(fs.readFileSync(p1).equals(big)).toBe(true);
      expect(proxy.requests.filter((r) => r.url.includes('/blobs/')).length).toBe(1);
    } finally {
      await c.close();
      await proxy.stop();
    }
  });
});

describe('plain HTTP policy', () => {
  const spy = () => {
    const urls: string[] = [];
    const fetch: FetchLike = (url) => {
      urls.push(url);
      return Promise.reject(new Error('stop here'));
    };
    return { urls, fetch };
  };

  it('refuses plain HTTP to a non-loopback host without sending anything', async () => {
    const s = spy();
    const c = createRegistryClient({ plainHttp: true, fetch: s.fetch });
    const e = await caught(c.resolve('10.20.30.40:5000/apps/x:1'));
    expect(e.code).toBe('oci/plain-http-refused');
    expect(e.message).toMatch(/refusing plain HTTP to 10\.20\.30\.40:5000: it is not a loopback address/);
    expect(s.urls).toEqual([]);
  });

  it('uses plain HTTP beyond loopback only when forced, and HTTPS otherwise', async () => {
    const forced = spy();
    await caught(
      createRegistryClient({ plainHttp: true, forcePlainHttp: true, fetch: forced.fetch }).resolve(
        '10.20.30.40:5000/a:1',
      ),
    );
    expect(forced.urls).toEqual(['http://10.20.30.40:5000/v2/a/manifests/1']);
    const tls = spy();
    const perHost = createRegistryClient({ plainHttp: (h) => h.startsWith('127.'), fetch: tls.fetch });
    await caught(perHost.resolve('registry.example.com/a:1'));
    await caught(perHost.resolve('127.0.0.1:5000/a:1'));
    expect(tls.urls).toEqual([
      'https://registry.example.com/v2/a/manifests/1',
      'http://127.0.0.1:5000/v2/a/manifests/1',
    ]);
  });
});

describe.each(TRANSPORTS)('over $transport', ({ key, http }) => {
  const client = (o: RegistryClientOptions) => createRegistryClient({ ...o, http });

  it('pushes a streamed file and pulls the same bytes back', async () => {
    const c = client({ plainHttp: true });
    try {
      const repo = `${reg.host}/${key}/blobs`;
      await c.push({
        ref: `${repo}:1`,
        files: [{ path: path.join(tmp, 'big.bin'), mediaType: MediaType.octetStream }],
        artifactType: 'application/vnd.outpost.test.v1',
      });
      const r = await c.resolve(`oci://${repo}:1`);
      expect(r.manifest.layers.map((l) => [l.digest, l.size])).toEqual([[bigDigest, big.length]]);
      const dest = path.join(tmp, `pulled-${key}`, 'big.bin');
      const got = await c.fetchBlob(repo, r.manifest.layers[0]!, { dest });
      expect(got).toMatchObject({ digest: bigDigest, size: big.length });
      expect(fs.readFileSync(dest).equals(big)).toBe(true);
      expect(await c.listTags(repo)).toEqual(['1']);
    } finally {
      await c.close();
    }
  });

  it('resumes a blob with a Range request after the connection is cut, and the digest verifies', async () => {
    let cut = false;
    const proxy = await startProxy({
      target: reg.url,
      fault: (req, status) => {
        if (!cut && req.method === 'GET' && req.url?.includes(`/blobs/${bigDigest}`) && status === 200) {
          cut = true;
          return { cutAfterBytes: 3 * 1024 * 1024 + 17 };
        }
        return undefined;
      },
    });
    const c = client({ plainHttp: true });
    try {
      const dest = path.join(tmp, `resume-${key}`, 'big.bin');
      const got = await c.fetchBlob(
        `${proxy.host}/demo/blobs`,
        { digest: bigDigest, size: big.length },
        { dest, retryDelayMs: 10 },
      );
      const blobGets = proxy.requests.filter((r) => r.url.includes(`/blobs/${bigDigest}`));
      expect(blobGets.length).toBe(2);
      expect(blobGets[0]!.range).toBeUndefined();
      const from = Number(/^bytes=(\d+)-$/.exec(blobGets[1]!.range ?? '')?.[1]);
      expect(from).toBeGreaterThan(0);
      expect(from).toBeLessThanOrEqual(3 * 1024 * 1024 + 17);
      expect(got.digest).toBe(bigDigest);
      expect(fs.readFileSync(dest).equals(big)).toBe(true);
    } finally {
      await c.close();
      await proxy.stop();
    }
  });

  it('gives up on a registry that accepts connections but never answers, with timeout', async () => {
    const sockets: net.Socket[] = [];
    const silent = net.createServer((s) => sockets.push(s));
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    const { port } = silent.address() as net.AddressInfo;
    const c = client({ plainHttp: true, timeoutMs: 300 });
    try {
      const e = await caught(c.resolve(`127.0.0.1:${port}/slow/app:1`));
      expect(e.code).toBe('timeout');
      expect(e.message).toMatch(/slow\/app:1: the registry did not answer in time/);
    } finally {
      await c.close();
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => silent.close(() => r()));
    }
  });

  it('reports a registry that is not there as network-error', async () => {
    const c = client({ plainHttp: true, timeoutMs: 2000 });
    const e = await caught(c.resolve(`127.0.0.1:1/none:1`)); // port 1: nothing listens
    await c.close();
    expect(e.code).toBe('network-error');
    expect(e.message).toMatch(/^127\.0\.0\.1:1\/none:1: .*ECONNREFUSED/);
  });
});
