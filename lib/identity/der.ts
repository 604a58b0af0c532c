/**
 * A minimal, strict DER reader: just enough of X.690 to read a certificate's serial, validity and
 * extensions (see cert-info.ts). It exists so that verifying a peer does not load @peculiar/x509 (about
 * 19 MiB of resident memory in the edge agent, which only needs that library to build a CSR once).
 *
 * Every read checks its bounds; anything malformed throws `DerError` with the offset it stopped at.
 */

export class DerError extends Error {
  constructor(message: string, offset: number) {
    super(`${message} at byte ${offset}`);
    this.name = 'DerError';
  }
}

export interface Tlv {
  /** The whole identifier octet (class, constructed bit, tag number < 31). */
  tag: number;
  /** Offset of the first content byte. */
  start: number;
  /** Offset just past the last content byte. */
  end: number;
}

export const TAG = {
  boolean: 0x01,
  integer: 0x02,
  bitString: 0x03,
  octetString: 0x04,
  oid: 0x06,
  utcTime: 0x17,
  generalizedTime: 0x18,
  sequence: 0x30,
} as const;

/** Reads the TLV at `offset` inside `[offset, limit)`. */
export function readTlv(buf: Uint8Array, offset: number, limit = buf.length): Tlv {
  if (offset + 2 > limit) throw new DerError('truncated element', offset);
  const tag = buf[offset]!;
  if ((tag & 0x1f) === 0x1f) throw new DerError('multi-byte tags are not supported', offset);
  let len = buf[offset + 1]!;
  let pos = offset + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0) throw new DerError('indefinite length is not DER', offset);
    if (n > 4) throw new DerError('length too large', offset);
    if (pos + n > limit) throw new DerError('truncated length', offset);
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + buf[pos + i]!;
    if (len < 0x80 || buf[pos] === 0) throw new DerError('non-minimal length', offset);
    pos += n;
  }
  if (pos + len > limit) throw new DerError('element runs past its container', offset);
  return { tag, start: pos, end: pos + len };
}

/** The elements directly inside a constructed TLV. */
export function children(buf: Uint8Array, parent: Tlv): Tlv[] {
  const out: Tlv[] = [];
  let pos = parent.start;
  while (pos < parent.end) {
    const t = readTlv(buf, pos, parent.end);
    out.push(t);
    pos = t.end;
  }
  return out;
}

export function expectTag(t: Tlv, tag: number, what: string): Tlv {
  if (t.tag !== tag) {
    throw new DerError(`${what}: expected tag 0x${hex2(tag)}, found 0x${hex2(t.tag)}`, t.start);
  }
  return t;
}

function hex2(n: number): string {
  return n.toString(16).padStart(2, '0');
}

export function bytes(buf: Uint8Array, t: Tlv): Uint8Array {
  return buf.subarray(t.start, t.end);
}

export function readOid(buf: Uint8Array, t: Tlv): string {
  expectTag(t, TAG.oid, 'object identifier');
  if (t.end === t.start) throw new DerError('empty object identifier', t.start);
  const arcs: number[] = [];
  let value = 0;
  let first = true;
  for (let i = t.start; i < t.end; i++) {
    const b = buf[i]!;
    if (value === 0 && b === 0x80) throw new DerError('non-minimal OID arc', i);
    value = value * 128 + (b & 0x7f);
    if (value > Number.MAX_SAFE_INTEGER / 128) throw new DerError('OID arc too large', i);
    if (b & 0x80) continue;
    if (first) {
      const x = value < 40 ? 0 : value < 80 ? 1 : 2;
      arcs.push(x, value - 40 * x);
      first = false;
    } else {
      arcs.push(value);
    }
    value = 0;
  }
  if (buf[t.end - 1]! & 0x80) throw new DerError('truncated OID arc', t.end - 1);
  return arcs.join('.');
}

export function readBoolean(buf: Uint8Array, t: Tlv): boolean {
  expectTag(t, TAG.boolean, 'boolean');
  if (t.end - t.start !== 1) throw new DerError('boolean must be one byte', t.start);
  const v = buf[t.start]!;
  if (v !== 0 && v !== 0xff) throw new DerError('boolean must be 0x00 or 0xff', t.start);
  return v === 0xff;
}

/** A small non-negative INTEGER (path lengths); throws for negative or unreasonably large values. */
export function readSmallInteger(buf: Uint8Array, t: Tlv): number {
  expectTag(t, TAG.integer, 'integer');
  const len = t.end - t.start;
  if (len === 0 || len > 4) throw new DerError('integer out of range', t.start);
  if (buf[t.start]! & 0x80) throw new DerError('negative integer', t.start);
  let v = 0;
  for (let i = t.start; i < t.end; i++) v = v * 256 + buf[i]!;
  return v;
}

/** An INTEGER as lowercase hex of its content bytes (serial numbers). */
export function readIntegerHex(buf: Uint8Array, t: Tlv): string {
  expectTag(t, TAG.integer, 'integer');
  if (t.end === t.start) throw new DerError('empty integer', t.start);
  return Buffer.from(buf.subarray(t.start, t.end)).toString('hex');
}

/**
 * A named-bit BIT STRING (keyUsage) as a number whose bit i is the ASN.1 bit i (bit 0 = the most
 * significant bit of the first content byte): digitalSignature = 1, keyCertSign = 32, cRLSign = 64.
 */
export function readNamedBits(buf: Uint8Array, t: Tlv): number {
  expectTag(t, TAG.bitString, 'bit string');
  const len = t.end - t.start;
  if (len === 0) throw new DerError('empty bit string', t.start);
  const unused = buf[t.start]!;
  if (unused > 7 || (len === 1 && unused !== 0)) throw new DerError('bad unused-bits count', t.start);
  if (len > 5) throw new DerError('named bit string too long', t.start);
  let flags = 0;
  for (let byte = 0; byte < len - 1; byte++) {
    const b = buf[t.start + 1 + byte]!;
    for (let bit = 0; bit < 8; bit++) if (b & (0x80 >> bit)) flags |= 1 << (byte * 8 + bit);
  }
  return flags;
}

/** UTCTime or GeneralizedTime (Zulu only, as RFC 5280 4.1.2.5 requires) to milliseconds since the epoch. */
export function readTime(buf: Uint8Array, t: Tlv): number {
  const s = Buffer.from(buf.subarray(t.start, t.end)).toString('latin1');
  let m: RegExpExecArray | null;
  let year: number;
  let rest: string[];
  if (t.tag === TAG.utcTime) {
    m = /^(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)Z$/.exec(s);
    if (!m) throw new DerError(`malformed UTCTime "${s}"`, t.start);
    const yy = Number(m[1]);
    year = yy >= 50 ? 1900 + yy : 2000 + yy;
    rest = m.slice(2, 7);
  } else if (t.tag === TAG.generalizedTime) {
    m = /^(\d{4})(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)(?:\.(\d+))?Z$/.exec(s);
    if (!m) throw new DerError(`malformed GeneralizedTime "${s}"`, t.start);
    year = Number(m[1]);
    rest = m.slice(2, 7);
  } else {
    throw new DerError(`expected a time, found tag 0x${hex2(t.tag)}`, t.start);
  }
  const [mo, d, h, mi, sec] = rest.map(Number) as [number, number, number, number, number];
  const ms = Date.UTC(year, mo - 1, d, h, mi, sec);
  const back = new Date(ms);
  if (back.getUTCMonth() !== mo - 1 || back.getUTCDate() !== d || h > 23 || mi > 59 || sec > 59) {
    throw new DerError(`impossible date "${s}"`, t.start);
  }
  return ms;
}
