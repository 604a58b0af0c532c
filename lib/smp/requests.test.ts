import crypto from 'node:crypto';
import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import { createSmpClient, type SmpClient } from './client.js';
import { decodeCbor } from './cbor.js';
import { FrameDecoder, encodeFrames } from './framing.js';
import { HEADER_SIZE, decodeHeader, encodePacket } from './header.js';
import { zcborEncode, type ZValue } from './testing/zcbor-writer.js';

/**
 * The bytes of every request the client sends, checked against packets captured from a real Zephyr
 * 4.4.0 SMP server where we have them (shared/notes section 2.7), and otherwise for their fields:
 * byte strings are plain CBOR byte strings (major type 2), never tag 64, which Zephyr refuses.
 */
class RecordingPort extends EventEmitter {
  readonly packets: Buffer[] = [];
  private readonly decoder = new FrameDecoder();
  constructor(
    private readonly reply: (
      body: Record<string, unknown>,
      pkt: Buffer,
    ) => Record<string, ZValue | undefined>,
  ) {
    super();
  }
  write(chunk: Uint8Array, cb?: (err?: Error | null) => void): boolean {
    for (const e of this.decoder.push(chunk)) {
      if (e.type !== 'packet') continue;
      this.packets.push(e.packet);
      const h = decodeHeader(e.packet);
      const body = decodeCbor(e.packet.subarray(HEADER_SIZE)) as Record<string, unknown>;
      const rsp = encodePacket({ ...h, op: (h.op + 1) as 1 | 3 }, zcborEncode(this.reply(body, e.packet)));
      setImmediate(() => this.emit('data', Buffer.concat(encodeFrames(rsp))));
    }
    cb?.();
    return true;
  }
}

async function record(
  fn: (c: SmpClient) => Promise<unknown>,
  reply: (body: Record<string, unknown>, pkt: Buffer) => Record<string, ZValue | undefined> = () => ({}),
  firstSequence = 0,
): Promise<Buffer[]> {
  const port = new RecordingPort(reply);
  const client = createSmpClient(port, { firstSequence, baudRate: 10_000_000, timeoutMs: 2000 });
  await fn(client);
  await client.close();
  return port.packets;
}

const hex = (b: Buffer) => b.toString('hex');
const TAG_64 = Buffer.from([0xd8, 0x40]);

describe('request encoding', () => {
  it('os echo, v2 and v1: the captured packets', async () => {
    expect(
      (
        await record(
          (c) => c.os.echo('hello'),
          () => ({ r: 'hello' }),
        )
      ).map(hex),
    ).toEqual(['0a00000900000000a161646568656c6c6f']);
    const port = new RecordingPort(() => ({ r: 'hello' }));
    const v1 = createSmpClient(port, { version: 0, firstSequence: 1, baudRate: 10_000_000 });
    await v1.os.echo('hello');
    expect(port.packets.map(hex)).toEqual(['0200000900000100a161646568656c6c6f']);
  });

  it('os params and info: the captured packets', async () => {
    expect(
      (
        await record(
          (c) => c.os.params(),
          () => ({ buf_size: 384, buf_count: 4 }),
          2,
        )
      ).map(hex),
    ).toEqual(['0800000100000206a0']);
    expect(
      (
        await record(
          (c) => c.os.info('s'),
          () => ({ output: 'Zephyr' }),
          3,
        )
      ).map(hex),
    ).toEqual(['0800000a00000307a166666f726d61746173']);
  });

  it('shell exec: the captured packets (kernel version, seq 5; echo Hello, seq 66)', async () => {
    const out = await record(
      (c) => c.shell.exec(['kernel', 'version']),
      () => ({ o: '\r\nZephyr version 4.4.0\r\n', ret: 0 }),
      5,
    );
    expect(out.map(hex)).toEqual(['0a00001600090500a1646172677682666b65726e656c6776657273696f6e']);
    expect(
      (
        await record(
          (c) => c.shell.exec(['echo', 'Hello']),
          () => ({ o: 'Hello', ret: 0 }),
          66,
        )
      ).map(hex),
    ).toEqual(['0a00001200094200a1646172677682646563686f6548656c6c6f']);
  });

  it('fs upload first chunk: the captured packet (128 B of 768 to /lfs1/test.bin)', async () => {
    const data = Buffer.alloc(768);
    for (let i = 0; i < data.length; i++) data[i] = i & 0xff;
    let stored = 0;
    const packets = await record(
      (c) => c.fs.upload('/lfs1/test.bin', data, { resume: false, verify: false }),
      (body, pkt) => {
        const h = decodeHeader(pkt);
        if (h.group === 0) return { buf_size: 8 + 0xa8 + 4, buf_count: 4 };
        if (h.group === 8 && h.command === 4) return {};
        stored = (body.off as number) + (body.data as Uint8Array).length;
        return { off: stored };
      },
    );
    const uploads = packets.filter((p) => decodeHeader(p).group === 8 && decodeHeader(p).command === 0);
    const expected =
      '0a0000a800080100' +
      'a4636f666600646461746158' +
      '80' +
      data.subarray(0, 128).toString('hex') +
      '646e616d656e2f6c6673312f746573742e62696e636c656e190300';
    // The captured request was sent with sequence 1; the device's buffer here allows exactly 128 B.
    expect(hex(uploads[0]!).slice(0, 12)).toBe(expected.slice(0, 12));
    expect(hex(uploads[0]!).slice(14)).toBe(expected.slice(14));
    expect(stored).toBe(768);
    for (const p of uploads) expect(p.includes(TAG_64)).toBe(false);
    // Later chunks carry no len, and their data is an untagged byte string.
    const second = decodeCbor(uploads[1]!.subarray(HEADER_SIZE)) as Record<string, unknown>;
    expect(Object.keys(second)).toEqual(['off', 'data', 'name']);
    expect(uploads[1]![HEADER_SIZE + 1 + 4 + 2]).toBe(0x64); // "data" key after off: 128
  });

  it('every other request: field names, operation, group, command, untagged byte strings', async () => {
    const hash = Buffer.alloc(32, 0xab);
    const image = Buffer.alloc(64);
    image.writeUInt32LE(0x96f3b83d, 0);
    const cases: [
      string,
      (c: SmpClient) => Promise<unknown>,
      Record<string, ZValue | undefined>,
      [number, number, number],
      object,
    ][] = [
      ['reset', (c) => c.os.reset(), {}, [2, 0, 5], {}],
      ['reset force', (c) => c.os.reset({ force: true }), {}, [2, 0, 5], { force: true }],
      ['datetime', (c) => c.os.datetime(), { datetime: '2026-01-02T03:04:05' }, [0, 0, 4], {}],
      [
        'set datetime',
        (c) => c.os.setDatetime('2026-01-02T03:04:05'),
        {},
        [2, 0, 4],
        { datetime: '2026-01-02T03:04:05' },
      ],
      ['fs stat', (c) => c.fs.stat('/lfs/a'), { len: 3 }, [0, 8, 1], { name: '/lfs/a' }],
      [
        'fs hash',
        (c) => c.fs.hash('/lfs/a', { type: 'sha256', len: 3 }),
        { type: 'sha256', len: 3, output: hash },
        [0, 8, 2],
        { name: '/lfs/a', type: 'sha256', len: 3 },
      ],
      ['fs close', (c) => c.fs.close(), {}, [2, 8, 4], {}],
      ['img list', (c) => c.img.list(), { images: [] }, [0, 1, 0], {}],
      ['img test', (c) => c.img.test(hash), { images: [] }, [2, 1, 0], { hash, confirm: false }],
      ['img confirm', (c) => c.img.confirm(), { images: [] }, [2, 1, 0], { confirm: true }],
      ['img confirm hash', (c) => c.img.confirm(hash), { images: [] }, [2, 1, 0], { hash, confirm: true }],
      ['img erase', (c) => c.img.erase(1), {}, [2, 1, 5], { slot: 1 }],
    ];
    for (const [name, fn, answer, [op, group, command], body] of cases) {
      const [pkt] = await record(fn, () => answer);
      const h = decodeHeader(pkt!);
      expect({ name, op: h.op, group: h.group, command: h.command, version: h.version }).toEqual({
        name,
        op,
        group,
        command,
        version: 1,
      });
      expect(decodeCbor(pkt!.subarray(HEADER_SIZE)), name).toEqual(body);
      expect(pkt!.includes(TAG_64), name).toBe(false);
    }
  });

  it('fs download and image upload: offsets, first-chunk fields, untagged data', async () => {
    const file = Buffer.alloc(300, 5);
    const down = await record(
      (c) => c.fs.download('/lfs/x'),
      (body, pkt) => {
        const h = decodeHeader(pkt);
        if (h.group === 8 && h.command === 2) return { type: 'sha256', len: 300, output: sha(file) };
        const off = body.off as number;
        return { off, data: file.subarray(off, off + 100), len: off === 0 ? 300 : undefined };
      },
    );
    const reads = down
      .filter((p) => decodeHeader(p).command === 0)
      .map((p) => decodeCbor(p.subarray(HEADER_SIZE)));
    expect(reads).toEqual([
      { off: 0, name: '/lfs/x' },
      { off: 100, name: '/lfs/x' },
      { off: 200, name: '/lfs/x' },
    ]);

    const image = Buffer.alloc(1000, 3);
    image.writeUInt32LE(0x96f3b83d, 0);
    const up = await record(
      (c) => c.img.upload(image),
      (body, pkt) => {
        const h = decodeHeader(pkt);
        if (h.group === 0) return { buf_size: 512, buf_count: 4 };
        const off = (body.off as number) + (body.data as Uint8Array).length;
        return { off, match: off === 1000 ? true : undefined };
      },
    );
    const chunks = up
      .filter((p) => decodeHeader(p).group === 1)
      .map((p) => decodeCbor(p.subarray(HEADER_SIZE)) as Record<string, unknown>);
    expect(Object.keys(chunks[0]!)).toEqual(['len', 'off', 'sha', 'data']);
    expect(Buffer.from(chunks[0]!.sha as Uint8Array).equals(sha(image))).toBe(true);
    expect(Object.keys(chunks[1]!)).toEqual(['off', 'data']);
    for (const p of up) expect(p.includes(TAG_64)).toBe(false);
    for (const p of up) expect(p.length).toBeLessThanOrEqual(512 - 4);
  });
});

function sha(b: Buffer): Buffer {
  return crypto.createHash('sha256').update(b).digest();
}
