import fs from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OutpostError } from '../errors/index.js';
import { generateKeyPair, stageBundle, verifyBundle, type Trust } from './index.js';
import { sha256 } from './format.js';
import {
  T0,
  assembleBundle,
  chunked,
  clockAt,
  indexFor,
  pseudoRandomBytes,
  tempDir,
} from './test-helpers.js';

/**
 * Fuzzing the reader: whatever the bytes and however they are chunked, it ends (no hang: every run is
 * raced against a generous deadline), it either accepts the untouched bundle or refuses with a
 * `bundle/*` error on one line (no crash, no other exception), and a refused stage leaves nothing.
 */

let tmp: { dir: string; cleanup: () => void };
let trust: Trust;
let valid: Buffer;

beforeAll(() => {
  tmp = tempDir('fuzz');
  const key = generateKeyPair();
  trust = { keys: [{ publicKey: key }] };
  const a = pseudoRandomBytes(1500, 1);
  const b = pseudoRandomBytes(40, 2);
  valid = assembleBundle(
    indexFor([a, b]),
    key,
    new Map([
      [sha256(a), a],
      [sha256(b), b],
    ]),
  ).all;
});
afterAll(() => tmp.cleanup());

const DEADLINE_MS = 20_000;

/** 'accepted' or the refusal's code; anything but an OutpostError fails the property. */
async function outcome(bytes: Uint8Array, chunk: number, stage: boolean): Promise<string> {
  const parent = path.join(tmp.dir, `p-${Math.random().toString(36).slice(2)}`);
  const run = (async () => {
    try {
      if (stage) {
        fs.mkdirSync(parent);
        const s = await stageBundle({
          source: chunked(bytes, chunk),
          trust,
          clock: clockAt(T0),
          stagingDir: path.join(parent, 's'),
        });
        await s.remove();
      } else await verifyBundle({ source: chunked(bytes, chunk), trust, clock: clockAt(T0) });
      return 'accepted';
    } catch (err) {
      if (!(err instanceof OutpostError)) throw err;
      expect(err.code).toMatch(/^bundle\//);
      expect(err.message).not.toContain('\n');
      return err.code;
    } finally {
      if (stage) {
        expect(fs.readdirSync(parent)).toEqual([]);
        fs.rmSync(parent, { recursive: true });
      }
    }
  })();
  let timer: NodeJS.Timeout | undefined;
  const hang = new Promise<string>((_, reject) => {
    timer = setTimeout(() => reject(new Error('the reader did not finish: a hang')), DEADLINE_MS);
  });
  try {
    return await Promise.race([run, hang]);
  } finally {
    clearTimeout(timer);
  }
}

describe('reader fuzz', () => {
  it('accepts the valid bundle however it is chunked', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 9000 }), async (chunk) => {
        expect(await outcome(valid, chunk, false)).toBe('accepted');
      }),
      { numRuns: 60 },
    );
    expect(await outcome(valid, 1, true)).toBe('accepted');
  });

  it('refuses arbitrary bytes', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.uint8Array({ maxLength: 4096 }),
        fc.integer({ min: 1, max: 5000 }),
        async (bytes, chunk) => {
          expect(await outcome(bytes, chunk, false)).not.toBe('accepted');
        },
      ),
      { numRuns: 300 },
    );
  });

  it('refuses every mutation of the valid bundle (byte changes, cuts, insertions) and stages nothing', async () => {
    const edit = fc.record({
      changes: fc.array(
        fc.record({ at: fc.nat({ max: valid.length - 1 }), value: fc.integer({ min: 0, max: 255 }) }),
        {
          maxLength: 6,
        },
      ),
      cut: fc.option(fc.nat({ max: valid.length }), { nil: undefined }),
      insert: fc.option(
        fc.record({
          at: fc.nat({ max: valid.length }),
          bytes: fc.uint8Array({ minLength: 1, maxLength: 1100 }),
        }),
        {
          nil: undefined,
        },
      ),
      chunk: fc.integer({ min: 1, max: 6000 }),
      stage: fc.boolean(),
    });
    await fc.assert(
      fc.asyncProperty(edit, async ({ changes, cut, insert, chunk, stage }) => {
        let bytes = Buffer.from(valid);
        for (const c of changes) bytes[c.at] = c.value;
        if (insert)
          bytes = Buffer.concat([bytes.subarray(0, insert.at), insert.bytes, bytes.subarray(insert.at)]);
        if (cut !== undefined) bytes = bytes.subarray(0, cut);
        const result = await outcome(bytes, chunk, stage);
        // The one change a reader accepts: zeros after the end marker (a copy tool rounding the file up),
        // which is also what zeros inserted anywhere in the final run of zeros amount to.
        const validPlusZeros =
          bytes.length >= valid.length &&
          bytes.subarray(0, valid.length).equals(valid) &&
          bytes.subarray(valid.length).every((x) => x === 0);
        const what = `changes ${JSON.stringify(changes)} cut ${cut} insert ${insert?.at}+${insert?.bytes.length}`;
        if (validPlusZeros) expect(result, what).toBe('accepted');
        else expect(result, what).not.toBe('accepted');
      }),
      { numRuns: 400 },
    );
  }, 120_000);
});
