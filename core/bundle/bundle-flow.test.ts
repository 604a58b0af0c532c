import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestCore } from '../../test/helpers/core.js';
import { enrollOverMmi } from '../../test/helpers/enroll.js';
import { createMmiClient, type MmiTestClient } from '../../test/helpers/mmi-client.js';
import { capabilitiesFor } from '../../test/fixtures/margo.js';
import crypto from 'node:crypto';
import { keySigner, readSecretKeyFile, writeBundle } from '../../lib/bundle/index.js';
import { waitJob } from './testing/pair.js';
import { startRegistry, type TestRegistry } from '../../test/helpers/registry.js';
import { edgectl } from '../../test/helpers/cli.js';
import { compileHello, wasmApp } from '../../test/fixtures/agent/harness.js';
import type { Principal } from '../../lib/contract/index.js';

/**
 * HQ (role co) and an air-gapped site (role lo) as two control planes on two homes, with nothing but
 * files between them: trust exchanged once, the site's node reaches HQ in a status bundle, a deployment
 * made at HQ reaches the node's state manifest and the site registry in an HQ bundle (the WASM module
 * fetched by HQ from its registry, a real docker-registry), and the node's status comes back.
 */
describe('bundles between HQ and an air-gapped site', () => {
  const carry = fs.mkdtempSync(path.join(os.tmpdir(), 'outpost-drive-'));
  let hq: Awaited<ReturnType<typeof startTestCore>>;
  let site: Awaited<ReturnType<typeof startTestCore>>;
  let mmi: MmiTestClient;
  let origin: TestRegistry;

  beforeAll(async () => {
    origin = await startRegistry();
    const wasm = await compileHello('hello from the bundle', carry, 'hello');
    const pushed = await edgectl(['oci', 'push', wasm, `${origin.host}/samples/hello:1.0.0`, '--plain-http']);
    expect(pushed.code, pushed.stderr).toBe(0);
    fs.rmSync(wasm);
    hq = await startTestCore({ overrides: { role: 'co', airgap: { drives: { enabled: false } } } });
    site = await startTestCore({
      overrides: {
        role: 'lo',
        site: { id: 'plant-1', name: 'Plant 1' },
        mmi: { enabled: true },
        registry: { enabled: true },
        airgap: { drives: { enabled: false } },
      },
    });
  }, 60_000);

  afterAll(async () => {
    mmi?.close();
    await site?.stop();
    await hq?.stop();
    await origin?.stop();
    fs.rmSync(carry, { recursive: true, force: true });
  });

  it('exchanges keys out of band', async () => {
    const h = hq.core.client();
    const s = site.core.client();
    const hqKey = await h.bundle.exportKey({});
    expect(hqKey.publicKey).toMatch(/^untrusted comment: minisign public key/);
    expect((await h.bundle.exportKey({})).keyId).toBe(hqKey.keyId);
    const secret = path.join(hq.home, 'keys', 'bundle', `${hqKey.keyId}.key`);
    expect(fs.statSync(secret).mode & 0o777).toBe(0o600);
    await s.bundle.trustAdd({ publicKey: hqKey.publicKey, name: 'hq' });
    const siteKey = await s.bundle.exportKey({});
    await h.sites.add({ id: 'plant-1', airGapped: true });
    await h.bundle.trustAdd({ publicKey: siteKey.publicKey, name: 'plant-1 lo', siteId: 'plant-1' });
    expect((await h.bundle.trustList({})).keys.map((k) => k.siteId)).toEqual(['plant-1']);
  });

  it("the site's node reaches HQ in a status bundle, with its capabilities and an age", async () => {
    const s = site.core.client();
    const t = await s.identity.createEnrollToken({ node: 'edge-1', siteId: 'plant-1', ttlMinutes: 10 });
    const e = await enrollOverMmi(site.core.lo.mmiUrl()!, t);
    mmi = createMmiClient({
      baseUrl: site.core.lo.mmiUrl()!,
      certPem: e.certPem,
      keyPem: e.keyPem,
      anchorsPem: e.anchorsPem,
    });
    expect((await mmi.put('/api/v1/capabilities/edge-1', capabilitiesFor('edge-1'))).status).toBe(201);

    const job = await waitJob(s, await s.bundle.exportStatus({ out: carry }));
    expect(job.error).toBeNull();
    expect(job.result?.fileName).toBe('plant-1-to-hq-1.outpost.tar');

    const h = hq.core.client();
    const verified = await waitJob(h, await h.bundle.verify({ file: job.result!.file! }));
    expect(verified.error).toBeNull();
    expect(verified.result?.report?.changes.status).toMatchObject({ nodes: 1 });
    expect((await h.nodes.list({ siteId: 'plant-1' })).nodes).toEqual([]);

    const imported = await waitJob(h, await h.bundle.import({ file: job.result!.file! }));
    expect(imported.error).toBeNull();
    const n = (await h.nodes.list({ siteId: 'plant-1' })).nodes[0]!;
    expect(n.name).toBe('edge-1');
    expect(n.state).toBe('enrolled');
    expect(n.capabilities).not.toBeNull();
    const siteView = await h.sites.get({ id: 'plant-1' });
    expect(siteView.bundles?.fromSite?.sequence).toBe(1);
    expect(siteView.bundles?.asOf).toBe(job.result!.summary!.created);

    const again = await waitJob(h, await h.bundle.import({ file: job.result!.file! }));
    expect(again.error?.code).toBe('bundle/replay');
  });

  it('a deployment made at HQ reaches the node through an HQ bundle, and its status comes back', async () => {
    const h = hq.core.client();
    const app = wasmApp({ id: 'hello', version: '1.0.0', repository: `oci://${origin.host}/samples/hello` });
    await h.apps.add({ source: { kind: 'upload', upload: { fileName: 'margo.yaml', content: app } } });
    const d = await h.deployments.create({ appId: 'hello', target: { siteId: 'plant-1' } });
    expect(d.nodes.map((x) => x.nodeName)).toEqual(['edge-1']);

    const exp = await waitJob(h, await h.bundle.export({ siteId: 'plant-1', out: carry }));
    expect(exp.error).toBeNull();
    expect(exp.result?.fileName).toBe('hq-to-plant-1-1.outpost.tar');
    expect(exp.result?.summary?.carried).toMatchObject({ commits: 1, apps: 1, deployments: 1, artifacts: 1 });

    const s = site.core.client();
    const v = await waitJob(s, await s.bundle.verify({ file: exp.result!.file! }));
    expect(v.error).toBeNull();
    expect(v.result?.report?.changes.git).toMatchObject({
      commits: 1,
      nodes: ['plant-1/edge-1'],
      current: null,
    });
    expect(v.result?.report?.changes.apps).toMatchObject({ new: 1, names: ['hello 1.0.0'] });
    expect(v.result?.report?.changes.artifacts).toMatchObject({ total: 1, new: 1 });
    // Verifying changed nothing: the node has no deployment yet.
    const before = (await mmi.get('/api/v1/deployments')).json<{ deployments: unknown[] }>();
    expect(before.deployments).toEqual([]);

    const imp = await waitJob(s, await s.bundle.import({ file: exp.result!.file! }));
    expect(imp.error).toBeNull();
    const m = (await mmi.get('/api/v1/deployments')).json<{
      manifestVersion: number;
      deployments: { deploymentId: string }[];
    }>();
    expect(m.deployments.map((x) => x.deploymentId)).toEqual([d.id]);
    expect((await s.apps.list({})).apps.map((a) => a.id)).toContain('hello');
    // The module is in the site registry under its origin's name, tagged.
    const reg = site.core.registry.requireStore();
    const repo = `127.0.0.1_${origin.host.split(':')[1]}/samples/hello`;
    expect(await reg.listTags(repo)).toEqual(['1.0.0']);

    // The node reports; the status travels back.
    const report = {
      deploymentId: d.id,
      adoptedManifestVersion: m.manifestVersion,
      status: { state: 'installed' },
      components: [{ name: 'hello', state: 'installed' }],
    };
    const r = await mmi.post(`/api/v1/deployments/${d.id}/status`, report);
    expect([200, 201]).toContain(r.status);
    const st = await waitJob(s, await s.bundle.exportStatus({ out: carry }));
    expect(st.error).toBeNull();
    expect(st.result?.summary?.carried).toMatchObject({ statuses: 1 });
    const back = await waitJob(h, await h.bundle.import({ file: st.result!.file! }));
    expect(back.error).toBeNull();
    const view = await h.deployments.get({ id: d.id });
    expect(view.nodes[0]).toMatchObject({ state: 'installed', current: true });
    // When it was installed: the time the site received the report, not the time HQ imported it.
    expect(view.nodes[0]!.stateAt).toBeLessThanOrEqual(st.result!.summary!.created);
    // HQ learned that the site holds the bundle: the next one starts from there.
    const streams = (await h.bundle.streams({ siteId: 'plant-1' })).streams;
    expect(streams.find((x) => x.kind === 'hq-to-site')?.acknowledged).toBe(1);
    const next = await waitJob(h, await h.bundle.export({ siteId: 'plant-1', out: carry }));
    // Nothing new: no commit, and the module the site reported holding is left out.
    expect(next.result?.summary?.carried).toMatchObject({ commits: 0, artifacts: 0 });
    const nv = await waitJob(s, await s.bundle.verify({ file: next.result!.file! }));
    expect(nv.error).toBeNull();
    expect(nv.result?.report?.changes.git?.commits).toBe(0);
  });

  it('uploads in chunks (in order only), and a long verify can be cancelled, leaving nothing', async () => {
    const s = site.core.client();
    // A big bundle signed by HQ's key (one 96 MiB blob): reading it takes long enough to cancel.
    const hqKeyId = (await hq.core.client().bundle.exportKey({})).keyId;
    const signer = keySigner(readSecretKeyFile(path.join(hq.home, 'keys', 'bundle', `${hqKeyId}.key`)));
    const big = await writeBundle({
      file: path.join(carry, 'big.outpost.tar'),
      header: {
        kind: 'hq-to-site',
        source: 'hq',
        target: 'plant-1',
        sequence: 99,
        expires: new Date(Date.now() + 86_400_000),
      },
      blobs: [{ role: 'oci-blob', source: { bytes: crypto.randomBytes(96 * 1024 * 1024) } }],
      signer,
    });
    const started = await s.bundle.verify({ file: big.file });
    const cancelled = await s.bundle.cancelJob({ id: started.id });
    expect(cancelled.id).toBe(started.id);
    const j = await waitJob(s, started);
    expect(j.state).toBe('cancelled');
    expect(j.error?.code).toBe('cancelled');
    expect(fs.readdirSync(path.join(site.home, 'bundles', 'staging'))).toEqual([]);

    // The console's upload: chunks at the offset the server has, then the whole file verifies.
    const bytes = fs.readFileSync(big.file).subarray(0, 3 * 1024 * 1024);
    const { uploadId, chunkBytes } = await s.bundle.uploadStart({ name: 'part.tar', size: bytes.length });
    expect(chunkBytes).toBeGreaterThan(0);
    await s.bundle.uploadChunk({ uploadId, offset: 0, data: bytes.subarray(0, 1024).toString('base64') });
    await expect(s.bundle.uploadChunk({ uploadId, offset: 0, data: 'AAAA' })).rejects.toMatchObject({
      code: 'conflict',
    });
    await expect(s.bundle.uploadFinish({ uploadId })).rejects.toMatchObject({ code: 'conflict' });
    await s.bundle.uploadChunk({ uploadId, offset: 1024, data: bytes.subarray(1024).toString('base64') });
    expect(await s.bundle.uploadFinish({ uploadId })).toEqual({ uploadId, size: bytes.length });
    // A cut bundle: refused as truncated, by the name it was picked with.
    const v = await waitJob(s, await s.bundle.verify({ uploadId }));
    expect(v.label).toBe('verify part.tar');
    expect(v.error?.code).toBe('bundle/truncated');
  }, 120_000);

  it('names paths on the server for administrators only; others upload and download', async () => {
    const user: Principal = { id: 'token:ops', name: 'ops', tenantId: 'default', roles: ['operator'] };
    const h = hq.core.client(user);
    await expect(h.bundle.export({ siteId: 'plant-1', out: carry })).rejects.toMatchObject({
      code: 'forbidden',
    });
    await expect(
      site.core.client(user).bundle.verify({ file: path.join(carry, 'hq-to-plant-1-1.outpost.tar') }),
    ).rejects.toMatchObject({ code: 'forbidden' });
    await expect(h.bundle.trustRemove({ keyId: '0000000000000001' })).rejects.toMatchObject({
      code: 'forbidden',
    });
    // To the server's outbox, then read back in chunks (the console's download).
    const j = await waitJob(h, await h.bundle.export({ siteId: 'plant-1' }));
    expect(j.error).toBeNull();
    expect(path.dirname(j.result!.file!)).toBe(path.join(hq.home, 'bundles', 'outbox'));
    const first = await h.bundle.readExport({ jobId: j.id, offset: 0, length: 1024 });
    expect(first.size).toBe(j.result!.size);
    expect(Buffer.from(first.data, 'base64')).toEqual(fs.readFileSync(j.result!.file!).subarray(0, 1024));
  });
});
