import { OutpostError } from '../errors/index.js';

/** SMP operation codes (byte 0, low 3 bits). */
export const Op = { read: 0, readResponse: 1, write: 2, writeResponse: 3 } as const;
export type OpCode = (typeof Op)[keyof typeof Op];

/** Management groups this client speaks (and the simulator serves). */
export const Group = { os: 0, image: 1, stat: 2, settings: 3, fs: 8, shell: 9, enum: 10 } as const;

/**
 * Protocol version in bits 3-4 of byte 0: 0 is the original protocol (errors as `{rc}`), 1 is
 * "SMP version 2" (group errors as `{err: {group, rc}}`). The response echoes the request's.
 */
export type SmpVersion = 0 | 1;

export const HEADER_SIZE = 8;

export interface SmpHeader {
  op: OpCode;
  version: SmpVersion;
  flags: number;
  /** Length of the CBOR payload after the header. */
  length: number;
  group: number;
  sequence: number;
  command: number;
}

export function encodeHeader(h: SmpHeader): Uint8Array {
  const out = new Uint8Array(HEADER_SIZE);
  out[0] = ((h.version & 0x3) << 3) | (h.op & 0x7);
  out[1] = h.flags & 0xff;
  out[2] = (h.length >> 8) & 0xff;
  out[3] = h.length & 0xff;
  out[4] = (h.group >> 8) & 0xff;
  out[5] = h.group & 0xff;
  out[6] = h.sequence & 0xff;
  out[7] = h.command & 0xff;
  return out;
}

export function decodeHeader(packet: Uint8Array): SmpHeader {
  if (packet.length < HEADER_SIZE)
    throw new OutpostError(
      'smp/bad-response',
      `SMP packet of ${packet.length} bytes is shorter than its header`,
    );
  return {
    op: (packet[0]! & 0x7) as OpCode,
    version: ((packet[0]! >> 3) & 0x3) as SmpVersion,
    flags: packet[1]!,
    length: (packet[2]! << 8) | packet[3]!,
    group: (packet[4]! << 8) | packet[5]!,
    sequence: packet[6]!,
    command: packet[7]!,
  };
}

/** A whole SMP packet: header followed by the CBOR payload. */
export function encodePacket(h: Omit<SmpHeader, 'length'>, payload: Uint8Array): Uint8Array {
  if (payload.length > 0xffff)
    throw new OutpostError('invalid-input', `SMP payload of ${payload.length} bytes exceeds 65535`);
  const out = new Uint8Array(HEADER_SIZE + payload.length);
  out.set(encodeHeader({ ...h, length: payload.length }), 0);
  out.set(payload, HEADER_SIZE);
  return out;
}
