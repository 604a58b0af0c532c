import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestCore } from '../../test/helpers/core.js';
import type { Core } from '../create-core.js';
import { createRegistryClient } from '../../lib/oci/index.js';

/**
 * The Distribution API of the site registry in a real core (loopback listener): what clients rely on
 * beyond the happy path (errors in the registry's JSON format, upload protocol details, the quota, who
 * may push), and that our own OCI client pushes chunked uploads to it.
 */
const TOKEN = 'opt_registry-http-test-admin-token';
const sha = (b: Uint8Array | string) => `sha256:${crypto.createHash('sha256').update(b).digest('hex')}`;

describe('site registry HTTP API', () => {
  let t: Awaited<ReturnType<typeof startTestCore>>;
  let core: Core;
  let base = '';
  const auth = (token = TOKEN) => ({
    authorization: `Basic ${Buffer.from(`x:${token}`).toString('base64')}`,
  });
  const call = async (p: string, init: RequestInit & { headers?: Record<string, string> } = {}) => {
    const res = await fetch(`${base}${p}`, { ...init, headers: { ...auth(), ...init.headers } });
    const text = await res.text();
    return { status: res.status, headers: res.headers, text, json: () => JSON.parse(text) as unknown };
  };

  beforeAll(async () => {
    t = await startTestCore({
      bootstrapToken: TOKEN,
      overrides: { registry: { enabled: true, quotaBytes: 64 * 1024, maxManifestBytes: 4096 } },
    });
    core = t.core;
    base = core.registry.loopbackUrl()!;
  });
  afterAll(async () => t?.stop());

  it('answers unknown things with the Distribution error codes', async () => {
    expect((await call('/v2/no/such/manifests/1.0')).json()).toMatchObject({
      errors: [{ code: 'NAME_UNKNOWN' }],
    });
    const bad = await call('/v2/Bad_Name/tags/list');
    expect(bad.status).toBe(400);
    expect(bad.json()).toMatchObject({ errors: [{ code: 'NAME_INVALID' }] });
    const blob = await call(`/v2/x/y/blobs/${sha('nothing')}`);
    expect(blob.status).toBe(404);
    expect(blob.json()).toMatchObject({ errors: [{ code: 'BLOB_UNKNOWN' }] });
    const del = await call(`/v2/x/y/blobs/${sha('nothing')}`, { method: 'DELETE' });
    expect(del.status).toBe(405);
    expect(del.json()).toMatchObject({ errors: [{ code: 'UNSUPPORTED' }] });
    const escape = await call('/v2/x/y/manifests/%E0%A4%A');
    expect(escape.status).toBe(400);
    expect(escape.json()).toMatchObject({ errors: [{ code: 'NAME_INVALID' }] });
    const digest = await call('/v2/x/y/blobs/sha256:abc');
    expect(digest.json()).toMatchObject({ errors: [{ code: 'DIGEST_INVALID' }] });
  });

  it('takes chunked uploads with Content-Range, refuses an out-of-order chunk with 416', async () => {
    const start = await call('/v2/chunks/test/blobs/uploads/', { method: 'POST' });
    expect(start.status).toBe(202);
    const loc = start.headers.get('location')!;
    expect(start.headers.get('range')).toBe('0-0');
    const first = await call(loc, {
      method: 'PATCH',
      body: 'hello ',
      headers: { 'content-range': '0-5', 'content-type': 'application/octet-stream' },
    });
    expect(first.status).toBe(202);
    expect(first.headers.get('range')).toBe('0-5');
    const gap = await call(loc, { method: 'PATCH', body: 'xx', headers: { 'content-range': '9-10' } });
    expect(gap.status).toBe(416);
    const done = await call(`${loc}?digest=${sha('hello world')}`, {
      method: 'PUT',
      body: 'world',
      headers: { 'content-range': '6-10' },
    });
    expect(done.status).toBe(201);
    expect(done.headers.get('docker-content-digest')).toBe(sha('hello world'));
    expect((await call(`/v2/chunks/test/blobs/${sha('hello world')}`)).text).toBe('hello world');
    // A cross-repository mount of a blob the store has is immediate.
    const mount = await call(`/v2/other/repo/blobs/uploads/?mount=${sha('hello world')}&from=chunks/test`, {
      method: 'POST',
    });
    expect(mount.status).toBe(201);
    expect(mount.headers.get('location')).toBe(`/v2/other/repo/blobs/${sha('hello world')}`);
  });

  it('refuses a manifest naming a blob it does not have, or larger than allowed', async () => {
    const m = JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.empty.v1+json', digest: sha('{}'), size: 2 },
      layers: [],
    });
    const r = await call('/v2/m/test/manifests/1', {
      method: 'PUT',
      body: m,
      headers: { 'content-type': 'application/vnd.oci.image.manifest.v1+json' },
    });
    expect(r.status).toBe(400);
    expect(r.json()).toMatchObject({ errors: [{ code: 'MANIFEST_BLOB_UNKNOWN' }] });
    const big = await call('/v2/m/test/manifests/1', {
      method: 'PUT',
      body: ' '.repeat(5000),
      headers: { 'content-type': 'application/vnd.oci.image.manifest.v1+json' },
    });
    expect(big.status).toBe(413);
  });

  it('answers 507 registry/quota-exceeded when the quota would be exceeded, and stores nothing of it', async () => {
    const data = crypto.randomBytes(100 * 1024);
    const before = core.registry.requireStore().usage().usedBytes;
    const r = await call(`/v2/big/one/blobs/uploads/?digest=${sha(data)}`, {
      method: 'POST',
      body: data,
      headers: { 'content-type': 'application/octet-stream' },
    });
    expect(r.status).toBe(507);
    expect(r.json()).toMatchObject({
      errors: [{ code: 'DENIED', detail: { code: 'registry/quota-exceeded', quotaBytes: 64 * 1024 } }],
    });
    expect(core.registry.requireStore().usage().usedBytes).toBe(before);
    const tmp = path.join(t.home, 'registry', 'tmp');
    expect(fs.readdirSync(tmp)).toEqual([]);
    // Our client says what happened in one line.
    const client = createRegistryClient({
      plainHttp: true,
      credentials: () => ({ username: 'x', password: TOKEN }),
    });
    const host = new URL(base).host;
    const err = await client
      .push({
        ref: `${host}/big/two:1`,
        files: [{ bytes: data, mediaType: 'application/octet-stream' }],
        artifactType: 'application/x-test',
      })
      .catch((e: unknown) => e as Error);
    await client.close();
    expect((err as Error).message).toMatch(/HTTP 507: .*quota of 64\.0 KiB is used up/);
  });

  it('lets any valid token pull, only an administrator push; our client pushes chunked uploads', async () => {
    const { token: reader } = await core.client().tenants.createToken({ name: 'reader', admin: false });
    const host = new URL(base).host;
    const data = crypto.randomBytes(40 * 1024);
    const admin = createRegistryClient({
      plainHttp: true,
      credentials: () => ({ username: 'x', password: TOKEN }),
    });
    const pushed = await admin.push({
      ref: `${host}/perm/test:1`,
      files: [{ bytes: data, mediaType: 'application/octet-stream' }],
      artifactType: 'application/x-test',
      monolithicMaxBytes: 1024,
      chunkBytes: 8 * 1024,
    });
    await admin.close();
    const readerClient = createRegistryClient({
      plainHttp: true,
      credentials: () => ({ username: 'r', password: reader }),
    });
    expect((await readerClient.resolve(`${host}/perm/test:1`)).digest).toBe(pushed.digest);
    const denied = await readerClient
      .push({
        ref: `${host}/perm/test:2`,
        files: [{ bytes: Buffer.from('x'), mediaType: 'application/octet-stream' }],
        artifactType: 'application/x-test',
      })
      .catch((e: unknown) => e as Error);
    await readerClient.close();
    expect((denied as unknown as { code: string }).code).toBe('oci/forbidden');
    expect((denied as Error).message).toMatch(/administrator API token/);
  });
});
