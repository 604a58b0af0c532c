import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { OutpostError } from '../errors/index.js';
import { decodeCbor, decodeSmpMap, encodeCbor } from './cbor.js';
import { FrameDecoder, encodeFrames } from './framing.js';

/** Hostile bytes on the serial line and in CBOR: no crash, no hang, bounded memory. */
describe('fuzzing', () => {
  it('the frame decoder survives any byte sequence in any chunking, and holds a bounded amount', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 600 }), { maxLength: 12 }), (chunks) => {
        const d = new FrameDecoder({ maxLine: 256, maxConsoleLine: 256, maxPacket: 1024 });
        for (const c of chunks) {
          const events = d.push(c);
          for (const e of events) expect(['packet', 'console', 'error']).toContain(e.type);
          expect(d.retained()).toBeLessThanOrEqual(256 + 256 + 1026);
        }
      }),
      { numRuns: 400 },
    );
  });

  it('finds every valid packet among random noise, split anywhere', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.uint8Array({ minLength: 1, maxLength: 400 }), fc.string({ maxLength: 40 })), {
          minLength: 1,
          maxLength: 4,
        }),
        fc.array(fc.nat({ max: 2000 }), { maxLength: 6 }),
        (items, cuts) => {
          // Noise is printable text ended by a newline, as console output is.
          const wire = Buffer.concat(
            items.flatMap(([pkt, noise]) => [
              Buffer.from([...noise].filter((ch) => ch >= ' ' && ch !== '\x7f').join('') + '\n'),
              ...encodeFrames(pkt),
            ]),
          );
          const d = new FrameDecoder();
          const found: string[] = [];
          let at = 0;
          for (const cut of [...cuts.map((c) => c % (wire.length + 1)).sort((a, b) => a - b), wire.length]) {
            for (const e of d.push(wire.subarray(at, cut)))
              if (e.type === 'packet') found.push(e.packet.toString('hex'));
            at = Math.max(at, cut);
          }
          expect(found).toEqual(items.map(([p]) => Buffer.from(p).toString('hex')));
        },
      ),
      { numRuns: 200 },
    );
  });

  it('a megabyte without a newline, inside and outside a frame, keeps memory bounded', () => {
    const d = new FrameDecoder();
    d.push(Buffer.alloc(1024 * 1024, 0x41));
    expect(d.retained()).toBeLessThanOrEqual(1024);
    d.push(Buffer.from([6, 9]));
    d.push(Buffer.alloc(1024 * 1024, 0x41));
    expect(d.retained()).toBeLessThanOrEqual(1024);
    const events = d.push(Buffer.from('\n'));
    expect(events).toEqual([expect.objectContaining({ type: 'error', reason: 'oversize' })]);
  });

  it('the CBOR reader returns a value or an smp/bad-cbor error for any bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        try {
          decodeCbor(bytes);
        } catch (err) {
          expect(err).toBeInstanceOf(OutpostError);
          expect((err as OutpostError).code).toBe('smp/bad-cbor');
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('the CBOR reader survives mutations of valid SMP answers', () => {
    const valid = encodeCbor({
      images: [{ slot: 0, version: '1.0.0', hash: new Uint8Array(32), active: true }],
      splitStatus: 0,
    });
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat({ max: valid.length - 1 }), fc.integer({ min: 0, max: 255 })), {
          maxLength: 6,
        }),
        (edits) => {
          const b = Uint8Array.from(valid);
          for (const [i, v] of edits) b[i] = v;
          try {
            decodeSmpMap(b);
          } catch (err) {
            expect((err as OutpostError).code).toBe('smp/bad-cbor');
          }
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('rejects deep nesting, huge declared lengths and tags without building them', () => {
    const deep = Buffer.alloc(200_000, 0x81);
    expect(() => decodeCbor(deep)).toThrow(/nesting deeper than 16/);
    const deepIndefinite = Buffer.alloc(200_000, 0x9f);
    expect(() => decodeCbor(deepIndefinite)).toThrow(/nesting deeper/);
    expect(() => decodeCbor(Buffer.from('9bffffffffffffffff', 'hex'))).toThrow(OutpostError);
    expect(() => decodeCbor(Buffer.from('9a7fffffff00', 'hex'))).toThrow(/declares/);
    expect(() => decodeCbor(Buffer.from('5b7fffffffffffffff', 'hex'))).toThrow(OutpostError);
    expect(() => decodeCbor(Buffer.from('d84043010203', 'hex'))).toThrow(/tag/);
    const many = Buffer.concat([Buffer.from([0x9f]), Buffer.alloc(10_000, 0x01), Buffer.from([0xff])]);
    expect(() => decodeCbor(many)).toThrow(/more than 4096 items/);
    expect(
      decodeCbor(Buffer.concat([Buffer.from([0x99, 0x0f, 0xa0]), Buffer.alloc(4000, 0x01)])),
    ).toHaveLength(4000);
  });

  it('reads an answer that lost its final break (MCUboot serial recovery)', () => {
    expect(decodeSmpMap(Buffer.from('bf62726300', 'hex'))).toEqual({ rc: 0 });
  });
});
