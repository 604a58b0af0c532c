/**
 * The only tar the bundle uses: POSIX ustar headers for regular files (mode 0644, owner 0:0), names of
 * at most 100 bytes (the longest is `blobs/sha256/<64 hex>`, 77), sizes in octal below 8 GiB and in the
 * base-256 form GNU tar, Go's archive/tar and tar-stream read above it, no PAX or GNU extension records.
 * A bundle's headers are derived from its index, so the reader compares whole 512-byte headers with the
 * ones it expects; `parseHeader` only serves to name what it found instead.
 */

export const BLOCK = 512;
/** The largest size the 11 octal digits of a ustar size field hold. */
const OCTAL_SIZE_LIMIT = 8 ** 11;

export const padding = (size: number): number => (BLOCK - (size % BLOCK)) % BLOCK;
/** Header + data + padding of one entry. */
export const entrySpan = (size: number): number => BLOCK + size + padding(size);

function octal(h: Buffer, at: number, width: number, value: number): void {
  const s = value.toString(8).padStart(width - 1, '0');
  if (s.length > width - 1) throw new RangeError(`${value} does not fit a ${width}-byte tar field`);
  h.write(s, at, 'latin1');
  h[at + width - 1] = 0;
}

/** A ustar header for a regular file. */
export function tarHeader(name: string, size: number, mtime: number): Buffer {
  const h = Buffer.alloc(BLOCK);
  const n = Buffer.from(name, 'utf8');
  if (n.length > 100) throw new RangeError(`tar entry name "${name}" is longer than 100 bytes`);
  n.copy(h, 0);
  octal(h, 100, 8, 0o644);
  octal(h, 108, 8, 0);
  octal(h, 116, 8, 0);
  if (size < OCTAL_SIZE_LIMIT) octal(h, 124, 12, size);
  else {
    // base-256: a leading 0x80, then the value big-endian in the remaining 11 bytes.
    h[124] = 0x80;
    let v = BigInt(size);
    for (let i = 135; i > 124; i--) {
      h[i] = Number(v & 0xffn);
      v >>= 8n;
    }
  }
  octal(h, 136, 12, mtime);
  h.write('0', 156, 'latin1');
  h.write('ustar\u000000', 257, 'latin1');
  h.fill(0x20, 148, 156);
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += h[i]!;
  h.write(sum.toString(8).padStart(6, '0'), 148, 'latin1');
  h[154] = 0;
  h[155] = 0x20;
  return h;
}

export function isZeroBlock(b: Uint8Array): boolean {
  for (let i = 0; i < b.length; i++) if (b[i] !== 0) return false;
  return true;
}

export interface ParsedHeader {
  name: string;
  /** The declared size, or undefined when the field is not a number. */
  size: number | undefined;
  /** The type flag (`0` or NUL: file, `1` hard link, `2` symlink, `3`/`4` devices, `5` dir, `S` sparse, `x`/`g` PAX, `L`/`K` GNU long names). */
  type: string;
  checksumOk: boolean;
}

const TYPE_NAMES: Record<string, string> = {
  '0': 'a file',
  '\u0000': 'a file',
  '1': 'a hard link',
  '2': 'a symbolic link',
  '3': 'a character device',
  '4': 'a block device',
  '5': 'a directory',
  '6': 'a FIFO',
  '7': 'a contiguous file',
  g: 'a PAX global header',
  x: 'a PAX extended header',
  L: 'a GNU long name',
  K: 'a GNU long link name',
  S: 'a GNU sparse file',
  M: 'a GNU multi-volume entry',
  V: 'a GNU volume label',
  D: 'a GNU dump directory',
};

export function describeType(type: string): string {
  return TYPE_NAMES[type] ?? `an entry of type "${type.replace(/[^\x20-\x7e]/g, '?')}"`;
}

function field(h: Buffer, at: number, width: number): string {
  const end = h.indexOf(0, at);
  return h.toString('latin1', at, end === -1 || end > at + width ? at + width : end);
}

function readNumber(h: Buffer, at: number, width: number): number | undefined {
  if (h[at]! & 0x80) {
    if (h[at] !== 0x80) return undefined; // negative or oversize base-256
    let v = 0n;
    for (let i = at + 1; i < at + width; i++) v = (v << 8n) | BigInt(h[i]!);
    return v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : undefined;
  }
  const s = field(h, at, width).trim();
  return /^[0-7]+$/.test(s) ? parseInt(s, 8) : undefined;
}

/** What a header says (for error messages and the first two entries, read before the index is known). */
export function parseHeader(h: Buffer): ParsedHeader {
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : h[i]!;
  const stored = readNumber(h, 148, 8);
  const prefix = h.toString('latin1', 257, 262) === 'ustar' ? field(h, 345, 155) : '';
  const base = Buffer.from(h.subarray(0, 100));
  const end = base.indexOf(0);
  const name = base.toString('utf8', 0, end === -1 ? 100 : end);
  return {
    name: prefix ? `${prefix}/${name}` : name,
    size: readNumber(h, 124, 12),
    type: String.fromCharCode(h[156]!),
    checksumOk: stored === sum,
  };
}

/** A name safe to put in a one-line message. */
export function printable(name: string): string {
  const s = name.replace(/[^\x20-\x7e]/g, '?');
  return s.length > 120 ? `${s.slice(0, 117)}...` : s;
}
