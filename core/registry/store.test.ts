import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { systemClock } from '../../lib/base/index.js';
import { silentLogger } from '../../lib/log/index.js';
import { isOutpostError } from '../../lib/errors/index.js';
import { tempHome } from '../../test/helpers/home.js';
import { createRegistryStore, type RegistryStore, type StoreLimits } from './store.js';

const sha = (b: Uint8Array | string) => `sha256:${crypto.createHash('sha256').update(b).digest('hex')}`;
const chunks = (...parts: (string | Buffer)[]) => Readable.from(parts.map((p) => Buffer.from(p)));

function manifest(config: Buffer, layers: Buffer[], extra: Record<string, unknown> = {}): Buffer {
  return Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.empty.v1+json', digest: sha(config), size: config.length },
      layers: layers.map((l) => ({ mediaType: 'application/wasm', digest: sha(l), size: l.length })),
      ...extra,
    }),
  );
}

/** Every regular file under a folder, relative. */
function files(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else out.push(path.relative(dir, p));
    }
  };
  if (fs.existsSync(dir)) walk(dir);
  return out.sort();
}

describe('registry store', () => {
  let home: ReturnType<typeof tempHome>;
  let root: string;
  let store: RegistryStore;
  const limits: StoreLimits = {
    maxBlobBytes: 1 << 20,
    maxManifestBytes: 64 * 1024,
    quotaBytes: null,
    reserveFreeBytes: 0,
  };
  const open = async (l: Partial<StoreLimits> = {}, freeBytes?: () => number) => {
    const s = createRegistryStore({
      root,
      limits: { ...limits, ...l },
      clock: systemClock,
      logger: silentLogger(),
      ...(freeBytes ? { freeBytes } : {}),
    });
    await s.open();
    return s;
  };

  beforeEach(async () => {
    home = tempHome('outpost-registry-store-');
    root = path.join(home.home, 'registry');
    store = await open();
  });
  afterEach(() => home.cleanup());

  it('stores a blob under its digest and reads any range of it', async () => {
    const data = Buffer.from('hello, site registry');
    const info = await store.putBlob(chunks('hello, ', 'site registry'), { digest: sha(data) });
    expect(info).toEqual({ digest: sha(data), size: data.length });
    expect(await store.statBlob(sha(data))).toEqual(info);
    const r = (await store.openBlob(sha(data)))!;
    const part: Buffer[] = [];
    for await (const c of r.stream({ start: 7, end: 10 })) part.push(c as Buffer);
    expect(Buffer.concat(part).toString()).toBe('site');
    expect(files(path.join(root, 'blobs'))).toEqual([
      `sha256/${sha(data).slice(7, 9)}/${sha(data).slice(7)}`,
    ]);
  });

  it('refuses content whose digest or size differs, and keeps nothing of it', async () => {
    const err = await store.putBlob(chunks('abc'), { digest: sha('abd') }).catch((e: unknown) => e);
    expect(isOutpostError(err, 'registry/digest-invalid')).toBe(true);
    const err2 = await store.putBlob(chunks('abcd'), { size: 3 }).catch((e: unknown) => e);
    expect(isOutpostError(err2, 'registry/size-invalid')).toBe(true);
    expect(files(path.join(root, 'blobs'))).toEqual([]);
    expect(files(path.join(root, 'tmp'))).toEqual([]);
    expect(store.usage().usedBytes).toBe(0);
  });

  it('takes a chunked upload, refuses a chunk at the wrong offset, and resumes after a restart', async () => {
    const data = Buffer.from('0123456789abcdef');
    const up = await store.startUpload('samples/hello');
    expect(
      (await store.appendUpload('samples/hello', up.id, chunks('01234'), { start: 0, length: 5 })).offset,
    ).toBe(5);
    const wrong = await store
      .appendUpload('samples/hello', up.id, chunks('zzz'), { start: 3, length: 3 })
      .catch((e: unknown) => e);
    expect(isOutpostError(wrong, 'registry/range-invalid')).toBe(true);
    // Another repository cannot touch it.
    await expect(store.upload('other/repo', up.id)).rejects.toMatchObject({
      code: 'registry/upload-unknown',
    });

    // A new store on the same folder (the server restarted): the session continues from what is on disk.
    store = await open();
    expect((await store.upload('samples/hello', up.id)).offset).toBe(5);
    await store.appendUpload('samples/hello', up.id, chunks('56789'), { start: 5 });
    const info = await store.completeUpload('samples/hello', up.id, sha(data), chunks('abcdef'), 6);
    expect(info).toEqual({ digest: sha(data), size: 16 });
    expect(files(path.join(root, 'uploads'))).toEqual([]);
    await expect(store.upload('samples/hello', up.id)).rejects.toMatchObject({
      code: 'registry/upload-unknown',
    });
  });

  it('drops an upload whose digest does not match, and a broken chunk leaves the upload where it was', async () => {
    const up = await store.startUpload('x/y');
    await store.appendUpload('x/y', up.id, chunks('good'));
    async function* broken() {
      yield Buffer.from('half');
      throw new Error('connection reset');
    }
    await expect(store.appendUpload('x/y', up.id, broken())).rejects.toThrow('connection reset');
    expect((await store.upload('x/y', up.id)).offset).toBe(4);
    await expect(store.completeUpload('x/y', up.id, sha('goodbad'))).rejects.toMatchObject({
      code: 'registry/digest-invalid',
    });
    expect(files(path.join(root, 'uploads'))).toEqual([]);
    expect(files(path.join(root, 'blobs'))).toEqual([]);
  });

  it('stores manifests by tag and digest, only once their blobs are there', async () => {
    const cfg = Buffer.from('{}');
    const layer = Buffer.from('\0asm module');
    const m = manifest(cfg, [layer]);
    await expect(store.putManifest('samples/hello', '1.0.0', m)).rejects.toMatchObject({
      code: 'registry/manifest-blob-unknown',
    });
    expect(await store.listTags('samples/hello')).toBeUndefined();
    await store.putBlob(chunks(cfg));
    await store.putBlob(chunks(layer));
    const { digest } = await store.putManifest('samples/hello', '1.0.0', m);
    expect(digest).toBe(sha(m));
    expect(await store.listTags('samples/hello')).toEqual(['1.0.0']);
    const byTag = (await store.getManifest('samples/hello', '1.0.0'))!;
    expect(byTag.bytes.equals(m)).toBe(true);
    expect(byTag.mediaType).toBe('application/vnd.oci.image.manifest.v1+json');
    expect((await store.getManifest('samples/hello', digest))!.digest).toBe(digest);
    // Not in another repository, and a digest reference must match the content.
    expect(await store.getManifest('other/repo', digest)).toBeUndefined();
    await expect(store.putManifest('samples/hello', sha('x'), m)).rejects.toMatchObject({
      code: 'registry/digest-invalid',
    });
    await expect(
      store.putManifest('samples/hello', 'v1', Buffer.from('{"schemaVersion":1}')),
    ).rejects.toMatchObject({
      code: 'registry/manifest-invalid',
    });
    expect(await store.repositories()).toEqual(['samples/hello']);

    await store.deleteManifest('samples/hello', '1.0.0');
    expect(await store.listTags('samples/hello')).toEqual([]);
    expect(await store.getManifest('samples/hello', digest)).toBeDefined();
    await store.deleteManifest('samples/hello', digest);
    expect(await store.getManifest('samples/hello', digest)).toBeUndefined();
  });

  it('adopts a staged file by rename (the import path), checking its digest unless told it was verified', async () => {
    const staging = await store.createStagingDir();
    expect(staging.startsWith(root)).toBe(true);
    const f = path.join(staging, 'blob');
    fs.writeFileSync(f, 'staged content');
    await expect(store.adoptBlobFile(f, { digest: sha('other') })).rejects.toMatchObject({
      code: 'registry/digest-invalid',
    });
    expect(fs.existsSync(f)).toBe(true);
    const r = await store.adoptBlobFile(f, { digest: sha('staged content'), size: 14, verified: true });
    expect(r).toEqual({ digest: sha('staged content'), size: 14, existed: false });
    expect(fs.existsSync(f)).toBe(false);
    fs.writeFileSync(f, 'staged content');
    expect((await store.adoptBlobFile(f, { digest: sha('staged content') })).existed).toBe(true);
  });

  it('commits manifests and tags of several repositories as one step, validated before anything is written', async () => {
    const cfg = Buffer.from('{}');
    const a = Buffer.from('module a');
    const b = Buffer.from('module b');
    for (const x of [cfg, a, b]) await store.putBlob(chunks(x));
    const missing = manifest(cfg, [Buffer.from('not stored')]);
    await expect(
      store.commitManifests([
        { repository: 'r.example/a', bytes: manifest(cfg, [a]), tags: ['1'] },
        { repository: 'r.example/b', bytes: missing, tags: ['1'] },
      ]),
    ).rejects.toMatchObject({ code: 'registry/manifest-blob-unknown' });
    expect(await store.repositories()).toEqual([]);
    const out = await store.commitManifests([
      { repository: 'r.example/a', bytes: manifest(cfg, [a]), tags: ['1', 'latest'] },
      { repository: 'r.example/b', bytes: manifest(cfg, [b]), tags: ['1'] },
    ]);
    expect(out.map((o) => o.repository)).toEqual(['r.example/a', 'r.example/b']);
    expect(await store.listTags('r.example/a')).toEqual(['1', 'latest']);
    expect(files(path.join(root, 'journal'))).toEqual([]);
  });

  it('finishes a batch whose journal was written before a crash, on the next open', async () => {
    const cfg = Buffer.from('{}');
    const a = Buffer.from('module a');
    await store.putBlob(chunks(cfg));
    await store.putBlob(chunks(a));
    const m = manifest(cfg, [a]);
    const { digest } = await store.putBlob(chunks(m));
    // What commitBatch writes before it applies anything: the crash happened right after.
    fs.mkdirSync(path.join(root, 'journal'), { recursive: true });
    fs.writeFileSync(
      path.join(root, 'journal', '000000000000001-000001-abcd.json'),
      JSON.stringify({
        ops: [
          {
            op: 'link',
            repository: 'r.example/a',
            digest,
            mediaType: 'application/vnd.oci.image.manifest.v1+json',
          },
          { op: 'tag', repository: 'r.example/a', tag: '2', digest },
        ],
      }),
    );
    fs.writeFileSync(path.join(root, 'tmp', 'half-written'), 'partial');
    store = await open();
    expect(await store.listTags('r.example/a')).toEqual(['2']);
    expect(files(path.join(root, 'journal'))).toEqual([]);
    expect(files(path.join(root, 'tmp'))).toEqual([]);
  });

  it('refuses with registry/quota-exceeded when the quota or the disk would be exceeded, storing nothing', async () => {
    store = await open({ quotaBytes: 10 });
    await store.putBlob(chunks('12345678'));
    const err = await store.putBlob(chunks('abcdef'), { size: 6 }).catch((e: unknown) => e);
    expect(isOutpostError(err, 'registry/quota-exceeded')).toBe(true);
    expect((err as { status: number }).status).toBe(507);
    expect((err as Error).message).toMatch(/quota of 10 B is used up/);
    expect(store.usage().usedBytes).toBe(8);

    store = await open({ reserveFreeBytes: 1000 }, () => 1010);
    const full = await store.putBlob(chunks('this is more than ten bytes')).catch((e: unknown) => e);
    expect(isOutpostError(full, 'registry/quota-exceeded')).toBe(true);
    expect((full as Error).message).toMatch(/disk holding the registry would fill/);
    expect(files(path.join(root, 'blobs')).length).toBe(1);
    expect(files(path.join(root, 'tmp'))).toEqual([]);
  });

  it('refuses blobs above the size limit', async () => {
    const err = await store.putBlob(Readable.from([Buffer.alloc((1 << 20) + 1)])).catch((e: unknown) => e);
    expect(isOutpostError(err, 'registry/too-large')).toBe(true);
  });

  it('garbage collection keeps tagged, indexed and deployment-referenced content, removes the rest', async () => {
    const cfg = Buffer.from('{}');
    const [keep, pinned, orphan, child] = ['tagged', 'pinned by digest', 'untagged', 'index child'].map((s) =>
      Buffer.from(s),
    );
    for (const x of [cfg, keep!, pinned!, orphan!, child!]) await store.putBlob(chunks(x));
    await store.putBlob(chunks('loose blob'));
    const tagged = await store.putManifest('a/keep', '1', manifest(cfg, [keep!]));
    const pinnedM = await store.putManifest('a/pinned', 'old', manifest(cfg, [pinned!]));
    await store.deleteManifest('a/pinned', 'old');
    const orphanM = await store.putManifest('a/orphan', 'x', manifest(cfg, [orphan!]));
    await store.deleteManifest('a/orphan', 'x');
    const childM = await store.putManifest('a/multi', sha(manifest(cfg, [child!])), manifest(cfg, [child!]));
    const index = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.index.v1+json',
        manifests: [
          {
            mediaType: 'application/vnd.oci.image.manifest.v1+json',
            digest: childM.digest,
            size: manifest(cfg, [child!]).length,
          },
        ],
      }),
    );
    await store.putManifest('a/multi', 'latest', index);
    const roots = [
      { repository: 'a/pinned', reference: pinnedM.digest },
      { repository: 'a/absent', reference: '1.0' },
    ];

    // Within the grace period nothing goes.
    const young = await store.gc({ dryRun: false, graceMs: 3600_000, roots });
    expect(young.blobsRemoved).toBe(0);
    expect(young.manifestsRemoved).toBe(0);

    const dry = await store.gc({ dryRun: true, graceMs: 0, roots });
    expect(dry.blobsRemoved).toBe(3); // the orphan layer, its manifest, the loose blob
    expect(dry.manifestsRemoved).toBe(1);
    expect(dry.missingRoots).toEqual([{ repository: 'a/absent', reference: '1.0' }]);
    expect(await store.statBlob(sha('loose blob'))).toBeDefined();

    const used = store.usage().usedBytes;
    const r = await store.gc({ dryRun: false, graceMs: 0, roots });
    expect(r.blobsRemoved).toBe(3);
    expect(r.removed.map((x) => x.digest).sort()).toEqual(
      [sha('loose blob'), sha(orphan!), orphanM.digest].sort(),
    );
    expect(store.usage().usedBytes).toBe(used - r.bytesRemoved);
    for (const d of [
      sha(keep!),
      sha(pinned!),
      sha(child!),
      sha(cfg),
      tagged.digest,
      pinnedM.digest,
      childM.digest,
    ])
      expect(await store.statBlob(d)).toBeDefined();
    expect(await store.getManifest('a/pinned', pinnedM.digest)).toBeDefined();
    expect(await store.getManifest('a/orphan', orphanM.digest)).toBeUndefined();
    expect(await store.getManifest('a/multi', 'latest')).toBeDefined();
    expect(await store.getManifest('a/multi', childM.digest)).toBeDefined();
  });
});
