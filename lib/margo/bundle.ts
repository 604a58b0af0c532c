import zlib from 'node:zlib';

/**
 * The Margo deployments bundle: a gzip-compressed POSIX tar (ustar) whose root holds the YAML files,
 * named `<deploymentId>.yaml`. Written by hand, synchronously: a deploy to 10,000 nodes builds 10,000
 * bundles, and a streaming tar library cost three times the gzip itself per bundle (ADR 0009). The
 * output is plain ustar (regular files, mode 0644, owner 0:0, mtime 0), with a PAX `path` record for a
 * name longer than the 100 bytes ustar holds, so any tar reader (GNU tar, tar-stream, Go's archive/tar)
 * reads it. The same entries always give the same bytes.
 */
export interface BundleEntry {
  deploymentId: string;
  yaml: Uint8Array;
}

const BLOCK = 512;
const PAX_NAME = Buffer.from('PaxHeader', 'latin1');

function octal(buf: Buffer, at: number, width: number, value: number): void {
  // `width - 1` octal digits, zero-padded, then NUL (the form GNU tar and tar-stream write).
  const s = value.toString(8).padStart(width - 1, '0');
  if (s.length > width - 1) throw new RangeError(`value ${value} does not fit a ${width}-byte tar field`);
  buf.write(s, at, 'latin1');
  buf[at + width - 1] = 0;
}

/** Writes a ustar header block at `at` in `out` (which is zero-filled there). */
function header(out: Buffer, at: number, name: Buffer, size: number, type: '0' | 'x'): void {
  const h = out.subarray(at, at + BLOCK);
  name.copy(h, 0, 0, Math.min(name.length, 100));
  octal(h, 100, 8, 0o644); // mode
  octal(h, 108, 8, 0); // uid
  octal(h, 116, 8, 0); // gid
  octal(h, 124, 12, size);
  octal(h, 136, 12, 0); // mtime
  h.write(type, 156, 'latin1');
  h.write('ustar\u000000', 257, 'latin1'); // magic "ustar\0" and version "00"
  // Checksum: the byte sum with the checksum field read as spaces, six octal digits, NUL, space.
  h.fill(0x20, 148, 156);
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += h[i]!;
  h.write(sum.toString(8).padStart(6, '0'), 148, 'latin1');
  h[154] = 0;
  h[155] = 0x20;
}

/** One PAX record: `<length> <key>=<value>\n`, where the length counts the whole record. */
function paxRecord(key: string, value: string): Buffer {
  const body = ` ${key}=${value}\n`;
  const bodyLen = Buffer.byteLength(body);
  let len = bodyLen + 1;
  while (String(len).length + bodyLen !== len) len = String(len).length + bodyLen;
  return Buffer.from(`${len}${body}`, 'utf8');
}

const padding = (size: number): number => (BLOCK - (size % BLOCK)) % BLOCK;

/** The uncompressed tar of `entries`, in the given order (one allocation). */
export function tarOf(entries: readonly BundleEntry[]): Buffer {
  const items = entries.map((e) => {
    const name = Buffer.from(`${e.deploymentId}.yaml`, 'utf8');
    const pax = name.length > 100 ? paxRecord('path', name.toString('utf8')) : undefined;
    return { name, pax, yaml: e.yaml };
  });
  let total = 2 * BLOCK; // the end-of-archive marker
  for (const it of items) {
    if (it.pax) total += BLOCK + it.pax.length + padding(it.pax.length);
    total += BLOCK + it.yaml.byteLength + padding(it.yaml.byteLength);
  }
  const out = Buffer.alloc(total);
  let at = 0;
  for (const it of items) {
    if (it.pax) {
      header(out, at, PAX_NAME, it.pax.length, 'x');
      it.pax.copy(out, at + BLOCK);
      at += BLOCK + it.pax.length + padding(it.pax.length);
    }
    header(out, at, it.name, it.yaml.byteLength, '0');
    out.set(it.yaml, at + BLOCK);
    at += BLOCK + it.yaml.byteLength + padding(it.yaml.byteLength);
  }
  return out;
}

/**
 * The bundle bytes (tar.gz) for `entries`. Level 1: on these small, repetitive archives it compresses
 * within a few percent of the default level at about half the cost (measured: 3 KiB tar -> 213 vs 202
 * bytes, 23 vs 39 µs), and a deploy builds one bundle per node.
 */
export function buildBundle(entries: readonly BundleEntry[]): Buffer {
  return zlib.gzipSync(tarOf(entries), { level: 1 });
}
