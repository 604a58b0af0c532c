import { describe, expect, it } from 'vitest';
import { crc16 } from './crc16.js';
import { FrameDecoder, encodeFrames, rawBytesPerFrame, type FrameEvent } from './framing.js';

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');
const packets = (events: FrameEvent[]) =>
  events.filter((e) => e.type === 'packet').map((e) => e.packet.toString('hex'));

// Captured from a real Zephyr 4.4.0 SMP server (native_sim): shared/notes section 2.7.
const ECHO_V2_REQ = '0a00000900000000a161646568656c6c6f';
const ECHO_V2_REQ_WIRE = '\x06\x09ABMKAAAJAAAAAKFhZGVoZWxsb6J/\n';
const ECHO_V2_RSP = '0b00000a00000000bf61726568656c6c6fff';
const ECHO_V2_RSP_WIRE = '\x06\x09ABQLAAAKAAAAAL9hcmVoZWxsb//3UQ==\n';
const ECHO_V1_REQ_WIRE = '\x06\x09ABMCAAAJAAABAKFhZGVoZWxsb/0m\n';
const PARAMS_RSP_WIRE = '\x06\x09ACMJAAAZAAACBr9oYnVmX3NpemUZAYBpYnVmX2NvdW50BP9Vow==\n';

describe('CRC-16/XMODEM', () => {
  it('has the standard check value and accepts a packet followed by its CRC', () => {
    expect(crc16(Buffer.from('123456789'))).toBe(0x31c3);
    const pkt = hex(ECHO_V2_REQ);
    const withCrc = Buffer.concat([pkt, Buffer.from([crc16(pkt) >> 8, crc16(pkt) & 0xff])]);
    expect(crc16(withCrc)).toBe(0);
  });
});

describe('encodeFrames', () => {
  it('frames the captured echo requests byte for byte', () => {
    expect(encodeFrames(hex(ECHO_V2_REQ)).map((f) => f.toString('latin1'))).toEqual([ECHO_V2_REQ_WIRE]);
    expect(encodeFrames(hex('0200000900000100a161646568656c6c6f')).map((f) => f.toString('latin1'))).toEqual([
      ECHO_V1_REQ_WIRE,
    ]);
    expect(encodeFrames(hex('0800000100000206a0'))[0]!.toString('latin1')).toBe(
      '\x06\x09AAsIAAABAAACBqAdcw==\n',
    );
  });

  it('matches the documented "Hello, world!" example', () => {
    expect(encodeFrames(Buffer.from('Hello, world!'))[0]!.toString('latin1')).toBe(
      '\x06\x09AA9IZWxsbywgd29ybGQhet4=\n',
    );
  });

  it('splits long packets into 127-byte frames, first 06 09 then 04 14, each base64 on its own', () => {
    const pkt = Buffer.alloc(300, 0x79);
    const frames = encodeFrames(pkt);
    expect(rawBytesPerFrame()).toBe(93);
    expect(frames).toHaveLength(Math.ceil((300 + 4) / 93));
    for (const [i, f] of frames.entries()) {
      expect(f.length).toBeLessThanOrEqual(127);
      expect([...f.subarray(0, 2)]).toEqual(i === 0 ? [6, 9] : [4, 0x14]);
      expect(f[f.length - 1]).toBe(0x0a);
      expect(Buffer.from(f.subarray(2, -1).toString('latin1'), 'base64').toString('base64')).toBe(
        f.subarray(2, -1).toString('latin1'),
      );
    }
    const decoded = new FrameDecoder().push(Buffer.concat(frames));
    expect(packets(decoded)).toEqual([pkt.toString('hex')]);
  });

  it('keeps the CRC in one frame when asked (as Zephyr does), and the result still decodes', () => {
    // 93 * 2 + 1 body bytes: the plain split leaves one CRC byte alone in the last frame.
    const pkt = Buffer.alloc(93 * 2 + 1 - 4, 7);
    const plain = encodeFrames(pkt);
    const kept = encodeFrames(pkt, { keepCrcTogether: true });
    expect(Buffer.from(plain[2]!.subarray(2, -1).toString(), 'base64')).toHaveLength(1);
    expect(
      Buffer.from(kept[kept.length - 1]!.subarray(2, -1).toString(), 'base64').length,
    ).toBeGreaterThanOrEqual(2);
    expect(packets(new FrameDecoder().push(Buffer.concat(kept)))).toEqual([pkt.toString('hex')]);
  });
});

describe('FrameDecoder', () => {
  it('decodes the captured echo and params responses', () => {
    const d = new FrameDecoder();
    expect(packets(d.push(Buffer.from(ECHO_V2_RSP_WIRE, 'latin1')))).toEqual([ECHO_V2_RSP]);
    expect(packets(d.push(Buffer.from(PARAMS_RSP_WIRE, 'latin1')))).toEqual([
      '0900001900000206bf686275665f73697a65190180696275665f636f756e7404ff',
    ]);
  });

  it('reassembles a frame split at every possible byte, and two frames joined in one chunk', () => {
    const wire = Buffer.from(ECHO_V2_RSP_WIRE + PARAMS_RSP_WIRE, 'latin1');
    for (let cut = 1; cut < wire.length; cut++) {
      const d = new FrameDecoder();
      const events = [...d.push(wire.subarray(0, cut)), ...d.push(wire.subarray(cut))];
      expect(packets(events)).toHaveLength(2);
    }
    const byteByByte = new FrameDecoder();
    const events: FrameEvent[] = [];
    for (const b of wire) events.push(...byteByByte.push(Buffer.from([b])));
    expect(packets(events)[0]).toBe(ECHO_V2_RSP);
  });

  it('reassembles a 2-frame response (echo of 120 "y") across frames and chunks', () => {
    const pkt = Buffer.concat([
      hex('0b00008000000000bf617278'),
      Buffer.from([0x78]),
      Buffer.alloc(120, 0x79),
      hex('ff'),
    ]);
    const frames = encodeFrames(pkt);
    expect(frames).toHaveLength(2);
    expect(frames[0]!.length).toBe(127);
    const d = new FrameDecoder();
    expect(packets(d.push(frames[0]!))).toEqual([]);
    expect(packets(d.push(frames[1]!))).toEqual([pkt.toString('hex')]);
  });

  it('finds a marker mid-line after console noise (the shell prompt with ANSI colours), and reports the noise', () => {
    const d = new FrameDecoder();
    const events = d.push(
      Buffer.from(`boot log line\r\n\x1b[1;32muart:~$ \x1b[m${ECHO_V2_RSP_WIRE}`, 'latin1'),
    );
    expect(events).toEqual([
      { type: 'console', line: 'boot log line' },
      { type: 'console', line: 'uart:~$ ' },
      { type: 'packet', packet: hex(ECHO_V2_RSP) },
    ]);
  });

  it('drops a frame whose CRC is wrong and decodes the next one', () => {
    const bad = Buffer.from(ECHO_V2_RSP_WIRE, 'latin1');
    const body = Buffer.from(bad.subarray(2, -1).toString(), 'base64');
    body[5] = body[5]! ^ 0xff;
    const corrupted = Buffer.concat([
      Buffer.from([6, 9]),
      Buffer.from(body.toString('base64')),
      Buffer.from('\n'),
    ]);
    const d = new FrameDecoder();
    const events = d.push(Buffer.concat([corrupted, Buffer.from(ECHO_V2_RSP_WIRE, 'latin1')]));
    expect(events).toEqual([
      { type: 'error', reason: 'crc', detail: 'CRC mismatch' },
      { type: 'packet', packet: hex(ECHO_V2_RSP) },
    ]);
  });

  it('handles base64 padding of every length and rejects broken base64', () => {
    for (let n = 1; n <= 12; n++) {
      const pkt = Buffer.alloc(n, n);
      const [frame] = encodeFrames(pkt);
      const text = frame!.subarray(2, -1).toString();
      expect(text.length % 4).toBe(0);
      expect(packets(new FrameDecoder().push(frame!))).toEqual([pkt.toString('hex')]);
    }
    const d = new FrameDecoder();
    expect(d.push(Buffer.from('\x06\x09ABQ=LAAA\n', 'latin1'))).toEqual([
      expect.objectContaining({ type: 'error', reason: 'base64' }),
    ]);
    expect(d.push(Buffer.from('\x06\x09ABQLA\n', 'latin1'))).toEqual([
      expect.objectContaining({ type: 'error', reason: 'base64' }),
    ]);
  });

  it('ignores a continuation frame with no first frame, and a CR before the newline', () => {
    const d = new FrameDecoder();
    expect(d.push(Buffer.from('\x04\x14eXl5\n', 'latin1'))).toEqual([
      expect.objectContaining({ type: 'error', reason: 'orphan' }),
    ]);
    expect(packets(d.push(Buffer.from(ECHO_V2_RSP_WIRE.replace('\n', '\r\n'), 'latin1')))).toEqual([
      ECHO_V2_RSP,
    ]);
  });

  it('drops frames carrying more bytes than their length field, and a new first frame restarts the packet', () => {
    const [first, second] = encodeFrames(Buffer.alloc(150, 1));
    const d = new FrameDecoder();
    expect(d.push(first!)).toEqual([]);
    // A first frame again (the device restarted mid-packet): the old packet is abandoned.
    expect(packets(d.push(Buffer.from(ECHO_V2_RSP_WIRE, 'latin1')))).toEqual([ECHO_V2_RSP]);
    expect(d.push(second!)).toEqual([expect.objectContaining({ type: 'error', reason: 'orphan' })]);
  });
});
