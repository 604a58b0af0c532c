/**
 * A small CBOR writer in the style of Zephyr's zcbor (non-canonical mode): maps and arrays are
 * indefinite-length (0xbf ... 0xff, 0x9f ... 0xff), byte strings untagged. The simulator answers
 * with it, so the client's reader is exercised against bytes shaped like a real device's, not
 * against its own encoder.
 */
export type ZValue = string | number | boolean | Uint8Array | ZValue[] | { [k: string]: ZValue | undefined };

export function zcborEncode(value: ZValue): Buffer {
  const out: number[] = [];
  write(out, value);
  return Buffer.from(out);
}

function head(out: number[], major: number, n: number): void {
  const m = major << 5;
  if (n < 24) out.push(m | n);
  else if (n < 0x100) out.push(m | 24, n);
  else if (n < 0x10000) out.push(m | 25, n >> 8, n & 0xff);
  else if (n < 0x100000000) out.push(m | 26, (n >>> 24) & 0xff, (n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff);
  else {
    const hi = Math.floor(n / 0x100000000);
    const lo = n >>> 0;
    out.push(m | 27, (hi >>> 24) & 0xff, (hi >> 16) & 0xff, (hi >> 8) & 0xff, hi & 0xff);
    out.push((lo >>> 24) & 0xff, (lo >> 16) & 0xff, (lo >> 8) & 0xff, lo & 0xff);
  }
}

function write(out: number[], v: ZValue): void {
  if (typeof v === 'number') {
    if (!Number.isInteger(v)) throw new Error('zcbor writer: integers only');
    if (v >= 0) head(out, 0, v);
    else head(out, 1, -1 - v);
  } else if (typeof v === 'boolean') out.push(v ? 0xf5 : 0xf4);
  else if (typeof v === 'string') {
    const b = Buffer.from(v, 'utf8');
    head(out, 3, b.length);
    for (const x of b) out.push(x);
  } else if (v instanceof Uint8Array) {
    head(out, 2, v.length);
    for (const x of v) out.push(x);
  } else if (Array.isArray(v)) {
    out.push(0x9f);
    for (const x of v) write(out, x);
    out.push(0xff);
  } else {
    out.push(0xbf);
    for (const [k, x] of Object.entries(v)) {
      if (x === undefined) continue;
      write(out, k);
      write(out, x);
    }
    out.push(0xff);
  }
}
