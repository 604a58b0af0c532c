import { OutpostError } from '../errors/index.js';
import { encodeCbor } from './cbor.js';
import { HEADER_SIZE } from './header.js';

/** Bytes a CBOR byte string header takes for a string of n bytes. */
function bstrHead(n: number): number {
  return n < 24 ? 1 : n < 256 ? 2 : n < 65536 ? 3 : 5;
}

/**
 * The largest `data` that keeps the whole request within the device's receive buffer:
 * header (8) + CBOR(map) <= bufSize - 4 (the serial length field and CRC share the buffer).
 * `withoutData` is the request map with `data` set to an empty byte string.
 */
export function maxDataLength(bufSize: number, withoutData: object, remaining: number): number {
  const fixed = HEADER_SIZE + encodeCbor(withoutData).length - 1; // minus the empty bstr's header
  const budget = Math.min(bufSize - 4, 0xffff) - fixed;
  let n = budget - 1;
  while (n > 0 && n + bstrHead(n) > budget) n--;
  if (n < 1)
    throw new OutpostError(
      'smp/bad-response',
      `the device's receive buffer (${bufSize} bytes) is too small for a transfer request`,
    );
  return Math.min(n, remaining);
}
