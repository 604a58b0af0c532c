/**
 * CRC-16/XMODEM (Zephyr's `crc16_itu_t(0x0000, ...)`): polynomial 0x1021, initial value 0, no
 * reflection, no final XOR. Check value: crc16("123456789") = 0x31c3. A receiver accepts a packet
 * when the CRC over the packet followed by its big-endian CRC is 0.
 */
const TABLE = buildTable();

function buildTable(): Uint16Array {
  const table = new Uint16Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i << 8;
    for (let b = 0; b < 8; b++) c = c & 0x8000 ? ((c << 1) ^ 0x1021) & 0xffff : (c << 1) & 0xffff;
    table[i] = c;
  }
  return table;
}

export function crc16(data: Uint8Array, seed = 0): number {
  let crc = seed & 0xffff;
  for (let i = 0; i < data.length; i++) crc = ((crc << 8) & 0xffff) ^ TABLE[((crc >> 8) ^ data[i]!) & 0xff]!;
  return crc;
}
