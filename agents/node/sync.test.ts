import { afterEach, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { pack } from 'tar-stream';
import { manualClock } from '../../lib/base/index.js';
import { silentLogger } from '../../lib/log/index.js';
import type { ManifestResult, MmiClient } from '../margo/mmi-client.js';
import { problemError, problemFrom } from '../margo/problem.js';
import { createStateStore, type StateStore } from './state.js';
import { DesiredStateSync } from './sync.js';

const sha = (b: Buffer | string) => `sha256:${createHash('sha256').update(b).digest('hex')}`;
const ID = (n: number) => `00000000-0000-4000-8000-00000000000${n}`;
const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

async function tgz(files: string[]): Promise<Buffer> {
  const p = pack();
  const chunks: Buffer[] = [];
  p.on('data', (c: unknown) => {
    chunks.push(c as Buffer);
  });
  const done = new Promise<void>((r) => p.on('end', () => r()));
  for (const [i, f] of files.entries())
    await new Promise<void>((r, j) => p.entry({ name: `${i}.yaml` }, f, (e) => (e ? j(e) : r())));
  p.finalize();
  await done;
  return gzipSync(Buffer.concat(chunks));
}

/** An in-memory WFM side for the sync's unit tests (the integration tests use real servers). */
class Wfm {
  manifest = Buffer.from('{}');
  content = new Map<string, Buffer>();
  missing = new Set<string>();
  fetched: string[] = [];
  async set(
    version: number,
    yamls: Record<string, string>,
    opts: { tamper?: string; bundle?: boolean } = {},
  ) {
    const ids = Object.keys(yamls);
    const bundle = ids.length ? await tgz(ids.map((i) => yamls[i]!)) : undefined;
    for (const id of ids) {
      const y = yamls[id]!;
      this.content.set(`/api/v1/deployments/${id}/${sha(y)}`, Buffer.from(opts.tamper === id ? y + '#x' : y));
    }
    if (bundle) this.content.set(`/api/v1/bundles/${sha(bundle)}`, bundle);
    this.manifest = Buffer.from(
      JSON.stringify({
        manifestVersion: version,
        bundle: bundle
          ? {
              mediaType: 'application/vnd.margo.bundle.v1+tar+gzip',
              digest: sha(bundle),
              url: `/api/v1/bundles/${sha(bundle)}`,
            }
          : null,
        deployments: ids.map((id) => ({
          deploymentId: id,
          digest: sha(yamls[id]!),
          url: `/api/v1/deployments/${id}/${sha(yamls[id]!)}`,
        })),
      }),
    );
  }
  client(): MmiClient {
    return {
      baseUrl: 'https://lo',
      resolve: (p) => new URL(p, 'https://lo'),
      request: () => Promise.reject(new Error('unused')),
      getManifest: async (etag): Promise<ManifestResult> => {
        const tag = `"${sha(this.manifest)}"`;
        if (etag?.split(', ').includes(tag)) return { kind: 'not-modified' };
        return { kind: 'manifest', bytes: this.manifest, etag: tag };
      },
      getContent: async (url) => {
        this.fetched.push(url);
        const b = this.content.get(url);
        if (!b || this.missing.has(url))
          throw problemError(`GET ${url}`, problemFrom(404, {}, Buffer.alloc(0), 0));
        return b;
      },
      putCapabilities: () => Promise.resolve(201),
      postStatus: () => Promise.resolve(201),
      close: () => undefined,
    };
  }
}

function setup(): { wfm: Wfm; store: StateStore; sync: DesiredStateSync } {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'outpost-sync-'));
  dirs.push(d);
  const wfm = new Wfm();
  const store = createStateStore({ file: path.join(d, 'state.json'), desiredDir: path.join(d, 'desired') });
  return {
    wfm,
    store,
    sync: new DesiredStateSync({ client: wfm.client(), store, logger: silentLogger(), clock: manualClock() }),
  };
}

describe('desired-state sync (client algorithm)', () => {
  it('adopts a first manifest from the bundle, then changes from individual YAMLs; a 304 changes nothing', async () => {
    const { wfm, store, sync } = setup();
    await wfm.set(1, { [ID(1)]: 'id: a\n', [ID(2)]: 'id: b\n' });
    expect(await sync.poll()).toEqual({ kind: 'adopted', manifestVersion: 1, changed: [ID(1), ID(2)] });
    expect(wfm.fetched).toEqual([expect.stringMatching(/^\/api\/v1\/bundles\//)]);
    expect(store.get()).toMatchObject({ manifestVersion: 1, etag: `"${sha(wfm.manifest)}"` });
    expect(store.readYaml(sha('id: a\n'))!.toString()).toBe('id: a\n');
    expect(await sync.poll()).toEqual({ kind: 'unchanged' });

    wfm.fetched = [];
    await wfm.set(2, { [ID(1)]: 'id: a\n', [ID(2)]: 'id: b2\n' });
    expect(await sync.poll()).toEqual({ kind: 'adopted', manifestVersion: 2, changed: [ID(2)] });
    expect(wfm.fetched).toEqual([`/api/v1/deployments/${ID(2)}/${sha('id: b2\n')}`]);
    expect(store.get().deployments[ID(2)]).toMatchObject({
      desired: true,
      adoptedManifestVersion: 2,
      digest: sha('id: b2\n'),
    });
    expect(store.get().deployments[ID(1)]!.adoptedManifestVersion).toBe(1);
  });

  it('marks deployments that left the manifest for removal (and only those)', async () => {
    const { wfm, store, sync } = setup();
    await wfm.set(1, { [ID(1)]: 'id: a\n', [ID(2)]: 'id: b\n' });
    await sync.poll();
    await wfm.set(2, { [ID(1)]: 'id: a\n' });
    expect(await sync.poll()).toMatchObject({ kind: 'adopted', changed: [ID(2)] });
    expect(store.get().deployments[ID(2)]).toMatchObject({ desired: false, adoptedManifestVersion: 2 });
    expect(store.get().deployments[ID(1)]!.desired).toBe(true);
  });

  it('refuses a manifestVersion that does not increase and a mismatching YAML, keeping the state', async () => {
    const { wfm, store, sync } = setup();
    await wfm.set(5, { [ID(1)]: 'id: a\n' });
    await sync.poll();
    const adopted = store.get();
    await wfm.set(5, {});
    expect(await sync.poll()).toEqual({ kind: 'refused', reason: 'version' });
    await wfm.set(6, { [ID(1)]: 'id: a\n', [ID(2)]: 'id: b\n' }, { tamper: ID(2) });
    expect(await sync.poll()).toEqual({ kind: 'refused', reason: 'digest' });
    expect(store.get()).toEqual(adopted);
    expect(store.hasYaml(sha('id: b\n'))).toBe(false);
  });

  it('takes a YAML the WFM cannot serve (404) from the bundle: a 404 is not a removal', async () => {
    const { wfm, store, sync } = setup();
    await wfm.set(1, { [ID(1)]: 'id: a\n' });
    await sync.poll();
    await wfm.set(2, { [ID(1)]: 'id: a\n', [ID(2)]: 'id: b\n' });
    wfm.missing.add(`/api/v1/deployments/${ID(2)}/${sha('id: b\n')}`);
    expect(await sync.poll()).toMatchObject({ kind: 'adopted', manifestVersion: 2 });
    expect(store.readYaml(sha('id: b\n'))!.toString()).toBe('id: b\n');
  });

  it('fails the poll when neither the YAML nor the bundle can be served (404): nothing is adopted or removed', async () => {
    const { wfm, store, sync } = setup();
    await wfm.set(1, { [ID(1)]: 'id: a\n', [ID(2)]: 'id: b\n' });
    await sync.poll();
    const adopted = store.get();
    // Version 2 changes B and drops A; the WFM answers 404 for B's new YAML and for the bundle.
    await wfm.set(2, { [ID(2)]: 'id: b2\n' });
    const manifest = JSON.parse(wfm.manifest.toString()) as { bundle: { url: string } };
    wfm.missing.add(`/api/v1/deployments/${ID(2)}/${sha('id: b2\n')}`);
    wfm.missing.add(manifest.bundle.url);
    await expect(sync.poll()).rejects.toMatchObject({ code: 'agent/mmi-problem', data: { status: 404 } });
    expect(store.get()).toEqual(adopted);
    expect(store.get().deployments[ID(1)]!.desired).toBe(true);
    // Once the WFM serves it again the same manifest is adopted (the failure did not mark it refused).
    wfm.missing.clear();
    expect(await sync.poll()).toMatchObject({ kind: 'adopted', manifestVersion: 2 });
    expect(store.get().deployments[ID(1)]!.desired).toBe(false);
  });

  it('refuses a manifest with another digest algorithm', async () => {
    const { wfm, store, sync } = setup();
    wfm.manifest = Buffer.from(
      JSON.stringify({
        manifestVersion: 1,
        bundle: null,
        deployments: [{ deploymentId: ID(1), digest: 'sha512:' + 'a'.repeat(128), url: '/x' }],
      }),
    );
    expect(await sync.poll()).toEqual({ kind: 'refused', reason: 'invalid' });
    expect(store.get().manifestVersion).toBe(0);
  });
});
