import { OutpostError } from '../errors/index.js';

/** MCUboot image format (bootutil/image.h): a 32-byte header, the image, then TLVs with its hash. */
export const IMAGE_MAGIC = 0x96f3b83d;
export const TLV_INFO_MAGIC = 0x6907;
export const TLV_PROT_INFO_MAGIC = 0x6908;
export const TLV_SHA256 = 0x10;
export const IMAGE_HEADER_SIZE = 32;

export interface McubootImage {
  /** "major.minor.revision", with ".build" when the build number is not 0 (as img_mgmt shows it). */
  version: string;
  headerSize: number;
  imageSize: number;
  /** The SHA-256 TLV: the hash the device lists for the slot and that `test`/`confirm` take. */
  hash: Buffer | undefined;
}

/** Reads an MCUboot image's header and hash TLV; a clear error for anything that is not one. */
export function parseMcubootImage(data: Uint8Array, what = 'the file'): McubootImage {
  const b = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  if (b.length < IMAGE_HEADER_SIZE || b.readUInt32LE(0) !== IMAGE_MAGIC)
    throw new OutpostError('invalid-input', `${what} is not an MCUboot image (no header magic 0x96f3b83d)`);
  const headerSize = b.readUInt16LE(8);
  const protectedSize = b.readUInt16LE(10);
  const imageSize = b.readUInt32LE(12);
  const version =
    `${b.readUInt8(20)}.${b.readUInt8(21)}.${b.readUInt16LE(22)}` +
    (b.readUInt32LE(24) ? `.${b.readUInt32LE(24)}` : '');
  if (headerSize < IMAGE_HEADER_SIZE || headerSize + imageSize > b.length)
    throw new OutpostError(
      'invalid-input',
      `${what}: the MCUboot header says ${headerSize}+${imageSize} bytes, the file has ${b.length}`,
    );
  let at = headerSize + imageSize + protectedSize;
  let hash: Buffer | undefined;
  if (at + 4 <= b.length && b.readUInt16LE(at) === TLV_INFO_MAGIC) {
    const end = Math.min(b.length, at + b.readUInt16LE(at + 2));
    at += 4;
    while (at + 4 <= end) {
      const type = b.readUInt16LE(at);
      const len = b.readUInt16LE(at + 2);
      if (type === TLV_SHA256 && len === 32 && at + 4 + len <= end)
        hash = Buffer.from(b.subarray(at + 4, at + 4 + len));
      at += 4 + len;
    }
  }
  return { version, headerSize, imageSize, hash };
}
