import { OutpostError } from '../errors/index.js';
import { crc16 } from './crc16.js';

/**
 * Zephyr's "SMP over console" framing (MCUMGR_TRANSPORT_UART / _SHELL):
 *
 *   body  = u16be(len(packet) + 2) ‖ packet ‖ u16be(crc16(packet))
 *   frame = marker ‖ base64(chunk of body) ‖ "\n"     (at most 127 bytes, marker and newline included)
 *
 * The first frame of a packet starts with 06 09, continuations with 04 14. Every frame's base64 is
 * independent (standard alphabet, "=" padding), so a frame carries at most 93 raw bytes.
 */
export const MARKER_PACKET = [0x06, 0x09] as const;
export const MARKER_CONTINUATION = [0x04, 0x14] as const;
export const MAX_FRAME = 127;
const NEWLINE = 0x0a;

/** Raw body bytes that fit in one frame of `maxFrame` bytes (93 for 127). */
export function rawBytesPerFrame(maxFrame = MAX_FRAME): number {
  return ((maxFrame - 3) >> 2) * 3;
}

export interface EncodeOptions {
  maxFrame?: number;
  /**
   * Never split the two CRC bytes across frames (what Zephyr's own encoder does: it moves one byte
   * of payload to the next frame). Receivers must not rely on it; the device simulator mirrors it.
   */
  keepCrcTogether?: boolean;
}

/** Frames (each a complete line, newline included) that carry one SMP packet. */
export function encodeFrames(packet: Uint8Array, options: EncodeOptions = {}): Buffer[] {
  const maxFrame = options.maxFrame ?? MAX_FRAME;
  if (maxFrame < 7) throw new OutpostError('invalid-input', `a frame of ${maxFrame} bytes cannot carry data`);
  if (packet.length + 2 > 0xffff)
    throw new OutpostError('invalid-input', `SMP packet of ${packet.length} bytes is too long to frame`);
  const body = Buffer.alloc(packet.length + 4);
  body.writeUInt16BE(packet.length + 2, 0);
  body.set(packet, 2);
  body.writeUInt16BE(crc16(packet), packet.length + 2);
  const per = rawBytesPerFrame(maxFrame);
  const frames: Buffer[] = [];
  let at = 0;
  while (at < body.length) {
    let end = Math.min(at + per, body.length);
    // The CRC starts at body.length - 2; a frame ending right after its first byte splits it.
    if (options.keepCrcTogether && end === body.length - 1 && end - at > 1) end -= 1;
    const marker = at === 0 ? MARKER_PACKET : MARKER_CONTINUATION;
    frames.push(
      Buffer.concat([
        Buffer.from(marker),
        Buffer.from(body.subarray(at, end).toString('base64'), 'latin1'),
        Buffer.from([NEWLINE]),
      ]),
    );
    at = end;
  }
  return frames;
}

export type FrameEvent =
  | { type: 'packet'; packet: Buffer }
  | { type: 'console'; line: string }
  | { type: 'error'; reason: FrameErrorReason; detail: string };

export type FrameErrorReason = 'crc' | 'length' | 'base64' | 'orphan' | 'oversize';

export interface DecoderOptions {
  /** Longest accepted frame line (base64 part). Default 1024 characters. */
  maxLine?: number;
  /** Largest accepted packet (header + CBOR). Default 65533, all a u16 length can say. */
  maxPacket?: number;
  /** Longest console line kept; the rest of a longer line is cut. Default 1024 characters. */
  maxConsoleLine?: number;
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/**
 * Incremental deframer. Push bytes as they arrive; it returns decoded packets, console lines (text
 * outside frames, with CR and ANSI escapes removed) and errors for frames it had to drop.
 * Markers are found anywhere, also in the middle of a line after console output (the shell
 * transport prints a prompt right before a frame). Memory is bounded by the options.
 */
export class FrameDecoder {
  private readonly maxLine: number;
  private readonly maxPacket: number;
  private readonly maxConsole: number;
  /** Base64 characters of the frame being read, or undefined outside a frame. */
  private frame: number[] | undefined;
  private frameIsFirst = false;
  private frameTooLong = false;
  /** A marker's first byte seen at the end of the last chunk. */
  private pendingMarker: number | undefined;
  private console: number[] = [];
  private consoleCut = false;
  /** Packet being reassembled across frames. */
  private packet: Buffer | undefined;
  private packetFill = 0;
  private packetExpected = 0;

  constructor(options: DecoderOptions = {}) {
    this.maxLine = options.maxLine ?? 1024;
    this.maxPacket = Math.min(options.maxPacket ?? 0xfffd, 0xfffd);
    this.maxConsole = options.maxConsoleLine ?? 1024;
  }

  /** Bytes held between calls (a partial frame, console line and packet): bounded by the options. */
  retained(): number {
    return (this.frame?.length ?? 0) + this.console.length + (this.packet?.length ?? 0);
  }

  push(chunk: Uint8Array): FrameEvent[] {
    const events: FrameEvent[] = [];
    for (let i = 0; i < chunk.length; i++) {
      const b = chunk[i]!;
      if (this.frame) {
        if (b === NEWLINE) this.endFrame(events);
        else if (b === 0x0d) continue;
        else if (this.frame.length >= this.maxLine) this.frameTooLong = true;
        else this.frame.push(b);
        continue;
      }
      if (this.pendingMarker !== undefined) {
        const first = this.pendingMarker;
        this.pendingMarker = undefined;
        if ((first === 0x06 && b === 0x09) || (first === 0x04 && b === 0x14)) {
          this.startFrame(first === 0x06, events);
          continue;
        }
        this.consoleByte(first, events);
      }
      if (b === 0x06 || b === 0x04) {
        this.pendingMarker = b;
        continue;
      }
      this.consoleByte(b, events);
    }
    return events;
  }

  private startFrame(first: boolean, events: FrameEvent[]): void {
    // Text before the marker on the same line (a prompt) is console output of its own.
    this.flushConsole(events);
    this.frame = [];
    this.frameIsFirst = first;
    this.frameTooLong = false;
  }

  private endFrame(events: FrameEvent[]): void {
    const chars = this.frame!;
    const first = this.frameIsFirst;
    this.frame = undefined;
    if (this.frameTooLong) {
      this.dropPacket();
      events.push({
        type: 'error',
        reason: 'oversize',
        detail: `frame longer than ${this.maxLine} characters`,
      });
      return;
    }
    const text = String.fromCharCode(...chars);
    if (text.length % 4 !== 0 || !BASE64.test(text)) {
      this.dropPacket();
      events.push({
        type: 'error',
        reason: 'base64',
        detail: `frame is not base64 (${text.length} characters)`,
      });
      return;
    }
    const raw = Buffer.from(text, 'base64');
    if (first) {
      if (raw.length < 2) {
        this.dropPacket();
        events.push({
          type: 'error',
          reason: 'length',
          detail: 'first frame too short for the length field',
        });
        return;
      }
      const expected = raw.readUInt16BE(0);
      if (expected < 2 || expected - 2 > this.maxPacket) {
        this.dropPacket();
        events.push({ type: 'error', reason: 'oversize', detail: `packet length ${expected} out of range` });
        return;
      }
      this.packet = Buffer.alloc(expected);
      this.packetExpected = expected;
      this.packetFill = 0;
      this.append(raw.subarray(2), events);
    } else {
      if (!this.packet) {
        events.push({ type: 'error', reason: 'orphan', detail: 'continuation frame without a first frame' });
        return;
      }
      this.append(raw, events);
    }
  }

  private append(data: Buffer, events: FrameEvent[]): void {
    const packet = this.packet!;
    if (this.packetFill + data.length > this.packetExpected) {
      this.dropPacket();
      events.push({
        type: 'error',
        reason: 'length',
        detail: 'frames carry more bytes than the length field says',
      });
      return;
    }
    packet.set(data, this.packetFill);
    this.packetFill += data.length;
    if (this.packetFill < this.packetExpected) return;
    this.packet = undefined;
    if (crc16(packet) !== 0) {
      events.push({ type: 'error', reason: 'crc', detail: 'CRC mismatch' });
      return;
    }
    events.push({ type: 'packet', packet: packet.subarray(0, packet.length - 2) });
  }

  private dropPacket(): void {
    this.packet = undefined;
    this.packetFill = 0;
    this.packetExpected = 0;
  }

  private consoleByte(b: number, events: FrameEvent[]): void {
    if (b === NEWLINE) {
      this.flushConsole(events);
      return;
    }
    if (this.console.length >= this.maxConsole) {
      this.consoleCut = true;
      return;
    }
    this.console.push(b);
  }

  private flushConsole(events: FrameEvent[]): void {
    if (this.console.length === 0 && !this.consoleCut) return;
    const line = cleanConsole(Buffer.from(this.console).toString('utf8'));
    this.console = [];
    this.consoleCut = false;
    if (line.trim() !== '') events.push({ type: 'console', line });
  }
}

/** Console text without CR, ANSI escape sequences and other control characters (tabs kept). */
export function cleanConsole(s: string): string {
  return (
    s
      // eslint-disable-next-line no-control-regex
      .replace(/\x1b\[[0-9;?]*[ -/]*[@-~]/g, '')
      // eslint-disable-next-line no-control-regex
      .replace(/[\x00-\x08\x0b-\x1f\x7f]/g, '')
  );
}
