import fs from 'node:fs';
import path from 'node:path';
import { pack } from 'tar-stream';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { generateKeyPair, stageBundle, verifyBundle, type SecretKey, type Trust } from './index.js';
import { blobEntryName, sha256 } from './format.js';
import { BLOCK, tarHeader } from './tar.js';
import {
  T0,
  assembleBundle,
  chunked,
  clockAt,
  countingStream,
  expectCode,
  indexFor,
  pseudoRandomBytes,
  tempDir,
} from './test-helpers.js';

/**
 * Hostile archives: entries made by tar-stream (an independent tar writer) behind a head signed by a
 * trusted key, so the defences that stand after the signature are what is tested, plus archives that
 * are hostile from their first byte. Each is refused with its reason, reads no more than it must, and
 * leaves nothing where it was staged.
 */

type Headers = Parameters<ReturnType<typeof pack>['entry']>[0];

async function tarStream(entries: { header: Headers; body?: Buffer }[]): Promise<Buffer> {
  const p = pack();
  const chunks: Buffer[] = [];
  p.on('data', (c: unknown) => chunks.push(c as Buffer));
  const done = new Promise<void>((resolve, reject) => {
    p.on('end', resolve);
    p.on('error', reject);
  });
  for (const e of entries) {
    await new Promise<void>((resolve, reject) => {
      p.entry(e.header, e.body ?? Buffer.alloc(0), (err) => (err ? reject(err) : resolve()));
    });
  }
  p.finalize();
  await done;
  return Buffer.concat(chunks);
}

/** A header with another type flag and its checksum made right again. */
function withType(h: Buffer, type: string): Buffer {
  h.write(type, 156, 'latin1');
  h.fill(0x20, 148, 156);
  let sum = 0;
  for (const b of h) sum += b;
  h.write(sum.toString(8).padStart(6, '0'), 148, 'latin1');
  h[154] = 0;
  return h;
}

let key: SecretKey;
let trust: Trust;
const blob = pseudoRandomBytes(3000, 5);
const second = pseudoRandomBytes(700, 6);
let signed: ReturnType<typeof assembleBundle>;
let firstName: string;

beforeAll(() => {
  key = generateKeyPair();
  trust = { keys: [{ publicKey: key }] };
  signed = assembleBundle(
    indexFor([blob, second]),
    key,
    new Map([
      [sha256(blob), blob],
      [sha256(second), second],
    ]),
  );
  firstName = blobEntryName(sha256(blob));
});

let tmp: { dir: string; cleanup: () => void };
beforeEach(() => {
  tmp = tempDir('hostile');
});
afterEach(() => tmp.cleanup());

/** Verifies, then stages: both refuse with `code`; staging leaves its parent (and the temp dir) as it was. */
async function refuse(bytes: Buffer, code: string): Promise<void> {
  await expectCode(verifyBundle({ source: chunked(bytes), trust, clock: clockAt(T0) }), code);
  const parent = path.join(tmp.dir, 'site');
  fs.mkdirSync(parent, { recursive: true });
  await expectCode(
    stageBundle({
      source: chunked(bytes),
      trust,
      clock: clockAt(T0),
      stagingDir: path.join(parent, 'staging'),
    }),
    code,
  );
  expect(fs.readdirSync(parent)).toEqual([]);
  expect(fs.readdirSync(tmp.dir)).toEqual(['site']);
}

describe('hostile archives', () => {
  it('the assembled bundle itself is accepted (so every refusal below is the hostile part)', async () => {
    const r = await verifyBundle({ source: chunked(signed.all), trust, clock: clockAt(T0) });
    expect(r.blobs.count).toBe(2);
  });

  it('refuses links, devices, directories, absolute and .. paths, PAX and GNU records where a blob belongs', async () => {
    const cases: [string, Headers, string][] = [
      [
        'a symlink named like the blob',
        { name: firstName, type: 'symlink', linkname: '/etc/passwd' },
        'symbolic link',
      ],
      [
        'a hard link named like the blob',
        { name: firstName, type: 'link', linkname: 'outpost-bundle.json' },
        'hard link',
      ],
      [
        'a character device',
        { name: firstName, type: 'character-device', devmajor: 1, devminor: 3 },
        'character device',
      ],
      ['a block device', { name: firstName, type: 'block-device', devmajor: 8, devminor: 0 }, 'block device'],
      ['a FIFO', { name: firstName, type: 'fifo' }, 'FIFO'],
      ['a directory', { name: 'blobs/sha256/', type: 'directory' }, 'directory'],
      ['an absolute path', { name: '/etc/cron.d/outpost', size: 5 }, 'not listed'],
      ['a path out of the folder', { name: '../../../../tmp/outpost-evil', size: 5 }, 'not listed'],
      ['a PAX record renaming the next entry', { name: 'x', size: 5, pax: { path: firstName } }, 'PAX'],
      ['a name longer than ustar holds', { name: 'a'.repeat(150), size: 5 }, 'PAX'],
      ['a name split into the ustar prefix', { name: `${'a/'.repeat(60)}evil`, size: 5 }, 'not listed'],
    ];
    for (const [name, header, says] of cases) {
      const body = header.size ? Buffer.from('evil\n') : undefined;
      const bytes = Buffer.concat([signed.head, await tarStream([{ header, body }])]);
      await refuse(bytes, 'bundle/unexpected-entry');
      const err = await expectCode(
        verifyBundle({ source: chunked(bytes), trust, clock: clockAt(T0) }),
        'bundle/unexpected-entry',
      );
      expect(err.message, name).toContain(says);
    }
    // A GNU long-name record (tar-stream reads them but does not write them): made by hand.
    const longName = Buffer.from(`${firstName}\0`);
    const gnu = withType(tarHeader('././@LongLink', longName.length, 0), 'L');
    const bytes = Buffer.concat([
      signed.head,
      gnu,
      longName,
      Buffer.alloc(BLOCK - longName.length),
      signed.body,
      signed.end,
    ]);
    await refuse(bytes, 'bundle/unexpected-entry');
    expect(fs.existsSync('/tmp/outpost-evil')).toBe(false);
  });

  it('refuses a GNU sparse entry claiming 10 GB, and a header whose size lies, without reading the data', async () => {
    const sparse = withType(tarHeader(firstName, blob.length, Math.floor(T0 / 1000)), 'S');
    await refuse(Buffer.concat([signed.head, sparse, Buffer.alloc(2 * BLOCK)]), 'bundle/unexpected-entry');

    for (const claimed of [10 * 1024 ** 3, blob.length - 1, blob.length + BLOCK]) {
      const lying = tarHeader(firstName, claimed, Math.floor(T0 / 1000));
      // 10 GB of data that would follow, produced only if the reader asks for it.
      const s = countingStream([
        signed.head,
        lying,
        function* () {
          for (let i = 0; i < 10 * 1024; i++) yield Buffer.alloc(1 << 20);
        },
      ]);
      const err = await expectCode(
        verifyBundle({ source: s.stream, trust, clock: clockAt(T0) }),
        'bundle/size-mismatch',
      );
      expect(err.message).toContain(`declares ${claimed} bytes`);
      expect(s.pulled()).toBeLessThan(signed.head.length + BLOCK + (4 << 20));
    }
  });

  it('refuses a duplicate of a blob that was already read', async () => {
    const firstEntry = signed.body.subarray(
      0,
      BLOCK + blob.length + ((BLOCK - (blob.length % BLOCK)) % BLOCK),
    );
    await refuse(Buffer.concat([signed.head, firstEntry, firstEntry, signed.end]), 'bundle/unexpected-entry');
  });

  it('stops at the first of a million tiny entries', async () => {
    const tiny = (i: number) => Buffer.concat([tarHeader(`f${i}`, 1, 0), Buffer.alloc(BLOCK, 0x61)]);
    const s = countingStream([
      signed.head,
      function* () {
        for (let i = 0; i < 1_000_000; i++) yield tiny(i);
      },
    ]);
    const err = await expectCode(
      verifyBundle({ source: s.stream, trust, clock: clockAt(T0) }),
      'bundle/unexpected-entry',
    );
    expect(err.message).toContain('"f0" is not listed');
    expect(s.pulled()).toBeLessThan(signed.head.length + 100 * 1024);
  });

  it('refuses archives hostile from the first byte, reading only what it must', async () => {
    await refuse(
      await tarStream([{ header: { name: '/etc/passwd', size: 4 }, body: Buffer.from('root') }]),
      'bundle/unexpected-entry',
    );
    await refuse(
      await tarStream([{ header: { name: '../outpost-bundle.json', size: 2 }, body: Buffer.from('{}') }]),
      'bundle/unexpected-entry',
    );
    await refuse(
      await tarStream([
        { header: { name: 'outpost-bundle.json', type: 'symlink', linkname: '/etc/shadow' } },
      ]),
      'bundle/unexpected-entry',
    );
    await refuse(Buffer.alloc(0), 'bundle/truncated');
    await refuse(Buffer.alloc(4 * BLOCK), 'bundle/missing-entry');
    await refuse(pseudoRandomBytes(64 * 1024, 9), 'bundle/corrupt');
    // An index claiming 10 GB: refused before one byte of it is read into memory.
    const s = countingStream([
      tarHeader('outpost-bundle.json', 10 * 1024 ** 3, 0),
      function* () {
        for (let i = 0; i < 10 * 1024; i++) yield Buffer.alloc(1 << 20, 0x20);
      },
    ]);
    await expectCode(verifyBundle({ source: s.stream, trust, clock: clockAt(T0) }), 'bundle/too-large');
    expect(s.pulled()).toBeLessThan(2 << 20);
  });

  it('refuses a signed index that lists paths instead of digests, or duplicates', async () => {
    const bad = indexFor([blob]);
    bad.blobs[0]!.digest = 'sha256:../../../etc/passwd';
    await refuse(assembleBundle(bad, key, new Map()).all, 'bundle/invalid-index');
    const twice = indexFor([blob, blob]);
    await refuse(assembleBundle(twice, key, new Map([[sha256(blob), blob]])).all, 'bundle/invalid-index');
    const extra = { ...indexFor([blob]), unknownField: true } as unknown as ReturnType<typeof indexFor>;
    await refuse(assembleBundle(extra, key, new Map([[sha256(blob), blob]])).all, 'bundle/invalid-index');
    const v2 = { ...indexFor([blob]), version: 2 } as unknown as ReturnType<typeof indexFor>;
    await refuse(assembleBundle(v2, key, new Map([[sha256(blob), blob]])).all, 'bundle/unsupported-version');
  });

  it('a signed 10 GB claim is refused for lack of space before anything is staged, and streams with bounded memory when only verified', async () => {
    const claimed = 10 * 1024 ** 3;
    const idx = indexFor([]);
    idx.blobs = [
      {
        digest: `sha256:${'ab'.repeat(32)}`,
        size: claimed,
        mediaType: 'application/octet-stream',
        role: 'oci-blob',
      },
    ];
    const { head } = assembleBundle(idx, key, new Map());
    const header = tarHeader(blobEntryName(idx.blobs[0]!.digest), claimed, Math.floor(T0 / 1000));
    const parent = path.join(tmp.dir, 'site');
    fs.mkdirSync(parent);
    await expectCode(
      stageBundle({
        source: chunked(Buffer.concat([head, header])),
        trust,
        clock: clockAt(T0),
        stagingDir: path.join(parent, 'staging'),
        freeSpace: async () => 1024 ** 3,
      }),
      'bundle/no-space',
    );
    expect(fs.readdirSync(parent)).toEqual([]);
    await expectCode(
      verifyBundle({
        source: chunked(Buffer.concat([head, header])),
        trust,
        clock: clockAt(T0),
        limits: { maxBytes: 1024 ** 3 },
      }),
      'bundle/too-large',
    );
    // Only verified: the data streams through the hash (64 MiB of it here) and the end is missing.
    const before = process.memoryUsage().rss;
    const s = countingStream([
      head,
      header,
      function* () {
        for (let i = 0; i < 64; i++) yield Buffer.alloc(1 << 20, 1);
      },
    ]);
    await expectCode(verifyBundle({ source: s.stream, trust, clock: clockAt(T0) }), 'bundle/truncated');
    expect(s.pulled()).toBeGreaterThan(64 << 20);
    expect(process.memoryUsage().rss - before).toBeLessThan(256 << 20);
  });
});
