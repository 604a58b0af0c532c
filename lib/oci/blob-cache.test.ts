import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { manualClock } from '../base/index.js';
import { isOutpostError } from '../errors/index.js';
import { createBlobCache } from './blob-cache.js';
import { digestOf } from './digest.js';

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'outpost-blob-cache-'));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

function staged(name: string, content: Buffer): string {
  const p = path.join(dir, `${name}.tmp`);
  fs.writeFileSync(p, content);
  return p;
}

const blob = (n: number, size = 100) => Buffer.alloc(size, n);

describe('blob cache', () => {
  it('stores blobs content-addressed and moves the source file in', async () => {
    const cache = createBlobCache({ dir: path.join(dir, 'c'), maxBytes: 10_000 });
    const b = blob(1);
    const d = digestOf(b);
    const src = staged('a', b);
    const p = await cache.put(d, src);
    expect(p).toBe(path.join(dir, 'c', 'blobs', 'sha256', d.slice(7)));
    expect(fs.existsSync(src)).toBe(false);
    expect(await cache.has(d)).toBe(true);
    expect(await cache.get(d)).toBe(p);
    expect(fs.readFileSync(p).equals(b)).toBe(true);
    const bytes = await cache.putBytes(Buffer.from('{"a":1}'));
    expect(bytes.digest).toBe(digestOf('{"a":1}'));
    expect(await cache.usage()).toEqual({ bytes: 107, count: 2, maxBytes: 10_000 });
  });

  it('refuses a file whose content does not match the digest, and changes nothing', async () => {
    const cache = createBlobCache({ dir: path.join(dir, 'c'), maxBytes: 10_000 });
    const src = staged('a', blob(1));
    let err: unknown;
    try {
      await cache.put(digestOf(blob(2)), src);
    } catch (e) {
      err = e;
    }
    expect(isOutpostError(err, 'oci/digest-mismatch')).toBe(true);
    expect(await cache.usage()).toMatchObject({ bytes: 0, count: 0 });
    expect(fs.existsSync(src)).toBe(true);
  });

  it('evicts least recently used blobs beyond the limit but never pinned ones', async () => {
    const clock = manualClock();
    const cache = createBlobCache({ dir: path.join(dir, 'c'), maxBytes: 300, clock });
    const ds = [1, 2, 3, 4, 5].map((n) => digestOf(blob(n)));
    for (const n of [1, 2, 3]) {
      await cache.put(ds[n - 1]!, staged(`b${n}`, blob(n)));
      clock.advance(1000);
    }
    await cache.get(ds[0]!); // 1 is now more recent than 2 and 3
    clock.advance(1000);
    cache.pin(ds[1]!); // 2 is in use
    await cache.put(ds[3]!, staged('b4', blob(4)));
    // over by 100: the least recently used unpinned blob (3) goes; 2 is pinned, 1 was read recently
    expect((await cache.list()).map((b) => b.digest).sort()).toEqual([ds[0], ds[1], ds[3]].sort());
    expect(await cache.has(ds[2]!)).toBe(false);
    expect(fs.existsSync(path.join(dir, 'c', 'blobs', 'sha256', ds[2]!.slice(7)))).toBe(false);

    clock.advance(1000);
    await cache.put(ds[4]!, staged('b5', blob(5)));
    expect(await cache.has(ds[1]!)).toBe(true); // still pinned
    expect(await cache.has(ds[0]!)).toBe(false);

    cache.unpin(ds[1]!);
    expect(await cache.prune()).toEqual([]); // exactly at the limit
    let err: unknown;
    cache.pin(ds[3]!);
    try {
      await cache.remove(ds[3]!);
    } catch (e) {
      err = e;
    }
    expect(isOutpostError(err, 'conflict')).toBe(true);
  });

  it("holds a lease's blobs over the limit rather than evict them, and frees them all on release", async () => {
    const clock = manualClock();
    const cache = createBlobCache({ dir: path.join(dir, 'c'), maxBytes: 150, clock });
    const [a, b, c] = [1, 2, 3].map((n) => digestOf(blob(n)));
    const one = cache.lease('deployment one');
    const two = cache.lease('deployment two');
    one.pin(a!); // pinned before it is even there, as a download does
    one.pin(a!); // the same digest twice is one pin
    await cache.put(a!, staged('a', blob(1)));
    clock.advance(10);
    one.pin(b!);
    await cache.put(b!, staged('b', blob(2))); // 200 > 150, but both are pinned
    two.pin(b!);
    expect(await cache.usage()).toMatchObject({ bytes: 200, count: 2 });
    expect(await cache.prune()).toEqual([]);
    expect(one.digests()).toEqual([a, b]);
    const byDigest = Object.fromEntries((await cache.list()).map((x) => [x.digest, x.pinnedBy]));
    expect(byDigest).toEqual({ [a!]: ['deployment one'], [b!]: ['deployment one', 'deployment two'] });

    one.release();
    one.release(); // twice is harmless
    expect(() => one.pin(c!)).toThrow(/released/);
    // a is free now; b is still held by the other lease
    expect(await cache.prune()).toEqual([a]);
    two.release();
    expect(await cache.list()).toEqual([expect.objectContaining({ digest: b, pinned: false })]);
    await expect(cache.remove(b!)).resolves.toBe(true);
  });

  it('keeps a blob larger than the limit that it just stored, and evicts it later', async () => {
    const cache = createBlobCache({ dir: path.join(dir, 'c'), maxBytes: 50 });
    const d = digestOf(blob(9));
    await cache.put(d, staged('big', blob(9)));
    expect(await cache.has(d)).toBe(true);
    expect(await cache.prune()).toEqual([d]);
  });

  it('survives a restart: access order from the index, unknown files adopted, a lost index rebuilt', async () => {
    const clock = manualClock();
    const c1 = createBlobCache({ dir: path.join(dir, 'c'), maxBytes: 1000, clock });
    const [a, b] = [digestOf(blob(1)), digestOf(blob(2))];
    await c1.put(a, staged('a', blob(1)));
    clock.advance(10);
    await c1.put(b, staged('b', blob(2)));
    clock.advance(10);
    await c1.get(a);
    const c2 = createBlobCache({ dir: path.join(dir, 'c'), maxBytes: 1000, clock });
    expect((await c2.list()).map((x) => x.digest)).toEqual([a, b]);

    fs.rmSync(path.join(dir, 'c', 'index.json'));
    fs.writeFileSync(path.join(dir, 'c', 'blobs', 'sha256', 'not-a-digest'), 'x');
    const c3 = createBlobCache({ dir: path.join(dir, 'c'), maxBytes: 1000, clock });
    expect((await c3.list()).map((x) => x.digest).sort()).toEqual([a, b].sort());
  });

  it('detects a corrupted blob on a verified read and drops it', async () => {
    const cache = createBlobCache({ dir: path.join(dir, 'c'), maxBytes: 1000 });
    const d = digestOf(blob(1));
    const p = await cache.put(d, staged('a', blob(1)));
    fs.writeFileSync(p, blob(7));
    expect(await cache.get(d)).toBe(p); // without verify: trusted
    expect(await cache.get(d, { verify: true })).toBeUndefined();
    expect(await cache.has(d)).toBe(false);
    expect(fs.existsSync(p)).toBe(false);
  });

  it('gives a staging path inside the cache and rejects bad digests', async () => {
    const cache = createBlobCache({ dir: path.join(dir, 'c'), maxBytes: 1000 });
    const d = digestOf('x');
    expect(cache.stagingPath(d)).toBe(path.join(dir, 'c', 'staging', `sha256-${d.slice(7)}`));
    expect(() => cache.stagingPath('sha256:../../etc')).toThrow(/not a digest|not a valid/);
    await expect(cache.has('md5:abc')).rejects.toMatchObject({ code: 'oci/invalid-digest' });
  });
});
