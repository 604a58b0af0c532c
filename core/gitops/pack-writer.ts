import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';

/**
 * Writes new git objects as one packfile (`.pack` + version 2 `.idx`) instead of thousands of loose
 * object files. Creating a file costs milliseconds on the disks we run on (measured: 2.5 ms per file
 * here), so a deploy to thousands of nodes would spend most of its time creating loose objects.
 * The pack is written to temporary names, flushed, then renamed: the `.idx` last, so a reader never
 * sees an index without its pack. Any git (the CLI, isomorphic-git) reads it as usual.
 *
 * A deploy writes thousands of blobs that differ only in a node's id, and thousands of one-entry
 * trees. Deflating each on its own cost ~45 µs of zlib set-up per object (most of a 10,000-node
 * deploy's git time), so (ADR 0009): a blob that shares most of its bytes with the pack's first blob
 * is stored as an OFS_DELTA against it (a copy of the common prefix and suffix, the differing middle
 * inserted), and small objects and deltas go into zlib streams of stored (uncompressed) blocks, which
 * every inflater reads. Larger objects are deflated as before.
 */
export type PackObjectType = 'commit' | 'tree' | 'blob';
const TYPE_CODE: Record<PackObjectType, number> = { commit: 1, tree: 2, blob: 3 };
const OFS_DELTA = 6;

export interface PackObject {
  /** The object id (SHA-1 of `<type> <len>\0<content>`). */
  oid: string;
  type: PackObjectType;
  content: Uint8Array;
}

function entryHeader(typeCode: number, size: number): Buffer {
  const bytes: number[] = [];
  let b = (typeCode << 4) | (size & 0x0f);
  size = Math.floor(size / 16);
  while (size > 0) {
    bytes.push(b | 0x80);
    b = size & 0x7f;
    size = Math.floor(size / 128);
  }
  bytes.push(b);
  return Buffer.from(bytes);
}

/** Writes all of `data` (a short write on a full disk is an error, not a shorter file) and flushes it. */
function fsyncFile(file: string, data: Buffer): void {
  const fd = fs.openSync(file, 'w', 0o444);
  try {
    fs.writeFileSync(fd, data);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/** Objects up to this size are not worth deflating (mostly trees: ids are incompressible). */
const STORE_BELOW = 256;
/** A blob this large or larger may serve as the delta base of the pack. */
const MIN_DELTA_BASE = 64;

/** Adler-32 of `buf` (RFC 1950). */
export function adler32(buf: Uint8Array): number {
  let a = 1;
  let b = 0;
  const n = buf.length;
  for (let i = 0; i < n;) {
    // 5552 bytes is the most that can be summed before b overflows 2^32 (RFC 1950's NMAX).
    const end = Math.min(n, i + 5552);
    for (; i < end; i++) {
      a += buf[i]!;
      b += a;
    }
    a %= 65521;
    b %= 65521;
  }
  return ((b << 16) | a) >>> 0;
}

/** A zlib stream (RFC 1950) holding `data` in stored deflate blocks (RFC 1951 BTYPE 00). */
export function zlibStored(data: Uint8Array): Buffer {
  const blocks = Math.max(1, Math.ceil(data.length / 0xffff));
  const out = Buffer.alloc(2 + blocks * 5 + data.length + 4);
  out[0] = 0x78; // deflate, 32 KiB window
  out[1] = 0x01; // no dictionary, fastest; (0x78 << 8 | 0x01) % 31 === 0
  let p = 2;
  for (let i = 0; i < blocks; i++) {
    const start = i * 0xffff;
    const len = Math.min(0xffff, data.length - start);
    out[p++] = i === blocks - 1 ? 1 : 0; // BFINAL on the last block, BTYPE 00
    out.writeUInt16LE(len, p);
    out.writeUInt16LE(~len & 0xffff, p + 2);
    p += 4;
    out.set(data.subarray(start, start + len), p);
    p += len;
  }
  out.writeUInt32BE(adler32(data), p);
  return out;
}

function varint(n: number, out: number[]): void {
  while (n >= 0x80) {
    out.push((n & 0x7f) | 0x80);
    n = Math.floor(n / 128);
  }
  out.push(n);
}

/** The distance back to an OFS_DELTA's base, in git's offset encoding. */
function ofsDeltaOffset(distance: number): Buffer {
  const bytes = [distance & 0x7f];
  distance = Math.floor(distance / 128);
  while (distance > 0) {
    distance -= 1;
    bytes.unshift(0x80 | (distance & 0x7f));
    distance = Math.floor(distance / 128);
  }
  return Buffer.from(bytes);
}

/**
 * A git delta that rebuilds `target` from `base`: copy the common prefix, insert the differing middle,
 * copy the common suffix. Undefined when that saves less than half of the target, or for a tiny target.
 */
export function deltaOf(base: Uint8Array, target: Uint8Array): Buffer | undefined {
  // Git refuses deltas under 4 bytes; a tiny object gains nothing from one anyway.
  if (target.length < 32) return undefined;
  const max = Math.min(base.length, target.length);
  let pre = 0;
  while (pre < max && base[pre] === target[pre]) pre++;
  let suf = 0;
  while (suf < max - pre && base[base.length - 1 - suf] === target[target.length - 1 - suf]) suf++;
  const middle = target.length - pre - suf;
  if (middle * 2 > target.length) return undefined;
  const out: number[] = [];
  varint(base.length, out);
  varint(target.length, out);
  const copy = (offset: number, size: number) => {
    while (size > 0) {
      const n = Math.min(size, 0x10000);
      let op = 0x80;
      const args: number[] = [];
      for (let i = 0; i < 4; i++) {
        const byte = Math.floor(offset / 2 ** (8 * i)) & 0xff;
        if (byte) {
          op |= 1 << i;
          args.push(byte);
        }
      }
      // A size of 0x10000 is written as no size bytes at all.
      const sz = n === 0x10000 ? 0 : n;
      for (let i = 0; i < 3; i++) {
        const byte = (sz >> (8 * i)) & 0xff;
        if (byte) {
          op |= 0x10 << i;
          args.push(byte);
        }
      }
      out.push(op, ...args);
      offset += n;
      size -= n;
    }
  };
  copy(0, pre);
  for (let at = pre; at < pre + middle; at += 0x7f) {
    const n = Math.min(0x7f, pre + middle - at);
    out.push(n);
    for (let i = 0; i < n; i++) out.push(target[at + i]!);
  }
  copy(base.length - suf, suf);
  return Buffer.from(out);
}

/** Writes `objects` (already known to be missing) as `objects/pack/pack-<sha>.{pack,idx}` in `gitdir`. */
export function writePack(gitdir: string, objects: PackObject[]): string | undefined {
  if (objects.length === 0) return undefined;
  const parts: Buffer[] = [];
  const header = Buffer.alloc(12);
  header.write('PACK', 0, 'latin1');
  header.writeUInt32BE(2, 4);
  header.writeUInt32BE(objects.length, 8);
  parts.push(header);
  let offset = 12;
  const entries: { oid: string; offset: number; crc: number }[] = [];
  let base: { content: Uint8Array; offset: number } | undefined;
  for (const o of objects) {
    let entry: Buffer | undefined;
    if (o.type === 'blob') {
      const delta = base && deltaOf(base.content, o.content);
      if (base && delta)
        entry = Buffer.concat([
          entryHeader(OFS_DELTA, delta.byteLength),
          ofsDeltaOffset(offset - base.offset),
          zlibStored(delta),
        ]);
      else if (!base && o.content.byteLength >= MIN_DELTA_BASE) base = { content: o.content, offset };
    }
    entry ??= Buffer.concat([
      entryHeader(TYPE_CODE[o.type], o.content.byteLength),
      o.content.byteLength <= STORE_BELOW ? zlibStored(o.content) : zlib.deflateSync(o.content),
    ]);
    entries.push({ oid: o.oid, offset, crc: zlib.crc32(entry) >>> 0 });
    parts.push(entry);
    offset += entry.byteLength;
  }
  const body = Buffer.concat(parts);
  const packSha = crypto.createHash('sha1').update(body).digest();
  const pack = Buffer.concat([body, packSha]);

  // Version 2 index: magic, version, fan-out, sorted names, CRC32s, 32-bit offsets, checksums.
  entries.sort((a, b) => (a.oid < b.oid ? -1 : a.oid > b.oid ? 1 : 0));
  const n = entries.length;
  const idx = Buffer.alloc(8 + 256 * 4 + n * 20 + n * 4 + n * 4 + 40);
  idx.write('\xfftOc', 0, 'latin1');
  idx.writeUInt32BE(2, 4);
  const fanout = new Array<number>(256).fill(0);
  for (const e of entries) fanout[Number.parseInt(e.oid.slice(0, 2), 16)]!++;
  let acc = 0;
  for (let i = 0; i < 256; i++) {
    acc += fanout[i]!;
    idx.writeUInt32BE(acc, 8 + i * 4);
  }
  let p = 8 + 256 * 4;
  for (const e of entries) {
    Buffer.from(e.oid, 'hex').copy(idx, p);
    p += 20;
  }
  for (const e of entries) {
    idx.writeUInt32BE(e.crc, p);
    p += 4;
  }
  for (const e of entries) {
    if (e.offset >= 0x80000000) throw new Error('pack larger than 2 GiB');
    idx.writeUInt32BE(e.offset, p);
    p += 4;
  }
  packSha.copy(idx, p);
  p += 20;
  crypto.createHash('sha1').update(idx.subarray(0, p)).digest().copy(idx, p);

  const dir = path.join(gitdir, 'objects', 'pack');
  fs.mkdirSync(dir, { recursive: true });
  const name = `pack-${packSha.toString('hex')}`;
  const tmpPack = path.join(dir, `.tmp-${name}.pack`);
  const tmpIdx = path.join(dir, `.tmp-${name}.idx`);
  try {
    fsyncFile(tmpPack, pack);
    fsyncFile(tmpIdx, idx);
  } catch (err) {
    // A full disk: leave nothing half-written behind.
    for (const f of [tmpPack, tmpIdx]) fs.rmSync(f, { force: true });
    throw err;
  }
  fs.renameSync(tmpPack, path.join(dir, `${name}.pack`));
  fs.renameSync(tmpIdx, path.join(dir, `${name}.idx`));
  return name;
}

/** The ids of every object in the repository's packs (read from their indexes). */
export function packedObjectIds(gitdir: string): Set<string> {
  const out = new Set<string>();
  const dir = path.join(gitdir, 'objects', 'pack');
  let names: string[];
  try {
    names = fs.readdirSync(dir).filter((f) => f.endsWith('.idx') && !f.startsWith('.'));
  } catch {
    return out;
  }
  for (const f of names) {
    const idx = fs.readFileSync(path.join(dir, f));
    const n = idx.readUInt32BE(8 + 255 * 4);
    const base = 8 + 256 * 4;
    for (let i = 0; i < n; i++) out.add(idx.subarray(base + i * 20, base + i * 20 + 20).toString('hex'));
  }
  return out;
}
