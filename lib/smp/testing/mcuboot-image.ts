import crypto from 'node:crypto';
import { IMAGE_HEADER_SIZE, IMAGE_MAGIC, TLV_INFO_MAGIC, TLV_SHA256 } from '../mcuboot.js';

/**
 * Builds a minimal MCUboot image (header, payload, TLV area with the SHA-256 of header and
 * payload), enough for img group tests and the simulator's slots. Version "1.2.3" or "1.2.3.4".
 */
export function buildMcubootImage(options: { version: string; payload: Uint8Array }): Buffer {
  const [major = 0, minor = 0, revision = 0, build = 0] = options.version.split('.').map((p) => Number(p));
  const header = Buffer.alloc(IMAGE_HEADER_SIZE);
  header.writeUInt32LE(IMAGE_MAGIC, 0);
  header.writeUInt32LE(0, 4);
  header.writeUInt16LE(IMAGE_HEADER_SIZE, 8);
  header.writeUInt16LE(0, 10);
  header.writeUInt32LE(options.payload.length, 12);
  header.writeUInt32LE(0, 16);
  header.writeUInt8(major, 20);
  header.writeUInt8(minor, 21);
  header.writeUInt16LE(revision, 22);
  header.writeUInt32LE(build, 24);
  const body = Buffer.concat([header, Buffer.from(options.payload)]);
  const hash = crypto.createHash('sha256').update(body).digest();
  const tlv = Buffer.alloc(4 + 4 + 32);
  tlv.writeUInt16LE(TLV_INFO_MAGIC, 0);
  tlv.writeUInt16LE(tlv.length, 2);
  tlv.writeUInt16LE(TLV_SHA256, 4);
  tlv.writeUInt16LE(32, 6);
  hash.copy(tlv, 8);
  return Buffer.concat([body, tlv]);
}
