import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OutpostError } from '../errors/index.js';
import { stageBundle, verifyBundle, type Trust } from './index.js';
import { BLOCK } from './tar.js';
import {
  T0,
  chunked,
  clockAt,
  expectCode,
  makeBundle,
  splitTar,
  tarEntry,
  tempDir,
  type Segment,
} from './test-helpers.js';

/**
 * The tamper matrix at the format level: a real bundle file made by the writer, changed in every way
 * the issue names, must be refused with its reason, and a refused stage leaves nothing behind.
 * (Refusals that depend on the caller's state, replay, expiry, other site, unknown and removed keys,
 * are in bundle.test.ts.)
 */

let tmp: { dir: string; cleanup: () => void };
let original: Buffer;
let trust: Trust;
let entries: Segment[];
let endAt: number;

beforeAll(async () => {
  tmp = tempDir('tamper');
  const made = await makeBundle(tmp.dir);
  original = fs.readFileSync(made.file);
  trust = { keys: [{ publicKey: made.key }] };
  ({ entries, end: endAt } = splitTar(original));
});
afterAll(() => tmp.cleanup());

const verify = (bytes: Uint8Array, chunk = 16 * 1024) =>
  verifyBundle({ source: chunked(bytes, chunk), trust, clock: clockAt(T0) });

async function refusal(bytes: Uint8Array): Promise<string> {
  try {
    await verify(bytes);
  } catch (err) {
    if (!(err instanceof OutpostError)) throw err;
    expect(err.message).not.toContain('\n');
    return err.code;
  }
  return 'accepted';
}

/** Stages `bytes` and checks that the refusal left the staging area empty. */
async function stageRefusal(bytes: Uint8Array, code: string): Promise<void> {
  const parent = path.join(tmp.dir, `stage-${Math.random().toString(36).slice(2)}`);
  fs.mkdirSync(parent);
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
  fs.rmSync(parent, { recursive: true });
}

function segment(name: string): Segment {
  const s = entries.find((e) => e.name === name || e.name.endsWith(name));
  if (!s) throw new Error(`no entry ${name}`);
  return s;
}

const bytesOf = (s: Segment) => original.subarray(s.start, s.end);
const blobs = () => entries.slice(6);

describe('tamper matrix (format level)', () => {
  it('the untouched bundle is accepted (the matrix below can pass only by refusing)', async () => {
    expect(await refusal(original)).toBe('accepted');
    expect(blobs().length).toBeGreaterThanOrEqual(4);
  });

  it('refuses one flipped byte at each of 1,000 random offsets and at every structural place', async () => {
    // Seeded, so a failure names an offset that reproduces.
    let seed = 0x5eed;
    const rand = () => {
      // xorshift32
      seed ^= seed << 13;
      seed ^= seed >>> 17;
      seed ^= seed << 5;
      return seed >>> 0;
    };
    const offsets = new Set<number>();
    while (offsets.size < 1000) offsets.add(rand() % original.length);
    // Every header's first, checksum, size and mtime bytes, every padding run, the end marker, the
    // signature's untrusted comment, and the spaces that pad the index.
    for (const e of entries) {
      for (const d of [0, 99, 124, 130, 140, 148, 156, 257, 300, 511]) offsets.add(e.start + d);
      if (e.end - e.start > BLOCK) offsets.add(e.end - 1);
    }
    for (let d = 0; d < 2 * BLOCK; d += 97) offsets.add(endAt + d);
    const sig = segment('outpost-bundle.json.minisig');
    offsets.add(sig.start + BLOCK + 20);
    offsets.add(sig.start + BLOCK + 40);
    const index = segment('outpost-bundle.json');
    const lastSpace = original.subarray(index.start, index.end).lastIndexOf(0x20);
    if (lastSpace > 0) offsets.add(index.start + lastSpace);

    const codes = new Map<string, number>();
    const copy = Buffer.from(original);
    let n = 0;
    for (const at of offsets) {
      const flip = (rand() % 255) + 1;
      copy[at] = copy[at]! ^ flip;
      const code = await refusal(copy);
      expect(code, `flipping byte ${at} by ${flip}`).not.toBe('accepted');
      expect(code, `flipping byte ${at}`).toMatch(/^bundle\//);
      codes.set(code, (codes.get(code) ?? 0) + 1);
      if (n++ % 100 === 0) await stageRefusal(copy, code);
      copy[at] = original[at]!;
    }
    // The flips hit the signed index, the blobs, and the tar structure, and each says so.
    expect(codes.get('bundle/bad-signature')).toBeGreaterThan(0);
    expect(codes.get('bundle/digest-mismatch')).toBeGreaterThan(0);
    expect(codes.get('bundle/corrupt')).toBeGreaterThan(0);
  }, 120_000);

  it('refuses a truncated file wherever it ends', async () => {
    const cuts = [
      0,
      1,
      511,
      BLOCK,
      700,
      entries[1]!.start,
      entries[2]!.start - 3,
      entries[6]!.start + 600,
      endAt,
      endAt + BLOCK,
      original.length - 1,
    ];
    for (const cut of cuts) {
      expect(await refusal(original.subarray(0, cut)), `cut at ${cut}`).toBe('bundle/truncated');
    }
    await stageRefusal(original.subarray(0, blobs()[2]!.start + 2000), 'bundle/truncated');
  });

  it('refuses reordered, removed, added and duplicated entries, naming which', async () => {
    const [b0, b1, b2, b3] = blobs();
    const head = original.subarray(0, b0!.start);
    const end = original.subarray(endAt);
    const rebuild = (...parts: Uint8Array[]) => Buffer.concat(parts);
    const rest = (from: Segment) => original.subarray(from.start, endAt);

    const cases: [string, Buffer, string][] = [
      ['two blobs swapped', rebuild(head, bytesOf(b1!), bytesOf(b0!), rest(b2!), end), 'bundle/out-of-order'],
      [
        'oci-layout and index.json swapped',
        rebuild(
          original.subarray(0, segment('oci-layout').start),
          bytesOf(segment('index.json')),
          bytesOf(segment('oci-layout')),
          original.subarray(segment('index.json').end),
        ),
        'bundle/out-of-order',
      ],
      ['a blob removed', rebuild(head, bytesOf(b0!), rest(b2!), end), 'bundle/missing-entry'],
      ['the last blob removed', rebuild(original.subarray(0, b3!.start), end), 'bundle/missing-entry'],
      [
        'an entry added in the middle',
        rebuild(head, bytesOf(b0!), tarEntry('extra.txt', Buffer.from('hello')), rest(b1!), end),
        'bundle/unexpected-entry',
      ],
      [
        'an entry added at the end',
        rebuild(original.subarray(0, endAt), tarEntry('extra.txt', Buffer.from('hi')), end),
        'bundle/unexpected-entry',
      ],
      ['a blob twice', rebuild(head, bytesOf(b0!), bytesOf(b0!), rest(b1!), end), 'bundle/unexpected-entry'],
      [
        'the last blob twice',
        rebuild(original.subarray(0, endAt), bytesOf(b3!), end),
        'bundle/unexpected-entry',
      ],
      [
        'the signature moved after index.json',
        rebuild(
          bytesOf(segment('outpost-bundle.json')),
          bytesOf(segment('oci-layout')),
          bytesOf(segment('outpost-bundle.json.minisig')),
          original.subarray(segment('oci-layout').end),
        ),
        'bundle/unexpected-entry',
      ],
      [
        'the signature removed',
        rebuild(bytesOf(segment('outpost-bundle.json')), original.subarray(segment('oci-layout').start)),
        'bundle/unexpected-entry',
      ],
      ['bytes after the end', rebuild(original, Buffer.from('trailing')), 'bundle/corrupt'],
      [
        'a blob with other bytes of its size',
        rebuild(
          head,
          Buffer.concat([bytesOf(b0!).subarray(0, BLOCK), Buffer.alloc(b0!.end - b0!.start - BLOCK, 0x41)]),
          rest(b1!),
          end,
        ),
        'bundle/digest-mismatch',
      ],
    ];
    for (const [name, bytes, code] of cases) {
      expect(await refusal(bytes), name).toBe(code);
      await stageRefusal(bytes, code);
    }
    // Zeros a copy tool appends after the end marker are not a change.
    expect(await refusal(rebuild(original, Buffer.alloc(10 * BLOCK)))).toBe('accepted');
  });
});
