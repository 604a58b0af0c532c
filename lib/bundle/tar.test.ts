import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { extract } from 'tar-stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BLOCK, padding, parseHeader, tarHeader } from './tar.js';
import { tempDir } from './test-helpers.js';

describe('bundle tar headers', () => {
  let dir: string;
  let cleanup: () => void;
  beforeEach(() => ({ dir, cleanup } = tempDir('tar')));
  afterEach(() => cleanup());

  it('are read by GNU tar and tar-stream as the files they describe', async () => {
    const data = Buffer.from('hello bundle\n');
    const file = path.join(dir, 'a.tar');
    fs.writeFileSync(
      file,
      Buffer.concat([
        tarHeader('blobs/sha256/abc', data.length, 1_767_225_600),
        data,
        Buffer.alloc(padding(data.length)),
        Buffer.alloc(2 * BLOCK),
      ]),
    );
    expect(
      execFileSync('tar', ['tvf', file], { encoding: 'utf8', env: { ...process.env, TZ: 'UTC' } }),
    ).toMatch(/^-rw-r--r-- 0\/0\s+13 2026-01-01 00:00 blobs\/sha256\/abc\n$/);
    const seen: { name: string; size?: number; mode?: number; type?: string | null }[] = [];
    const ex = extract();
    ex.on('entry', (h, stream, next) => {
      seen.push({ name: h.name, size: h.size, mode: h.mode, type: h.type });
      stream.on('end', next);
      stream.resume();
    });
    await new Promise<void>((resolve, reject) => {
      ex.on('finish', resolve);
      ex.on('error', reject);
      ex.end(fs.readFileSync(file));
    });
    expect(seen).toEqual([{ name: 'blobs/sha256/abc', size: 13, mode: 0o644, type: 'file' }]);
  });

  it('write sizes of 8 GiB and more in base-256, which GNU tar reads (a sparse file, no 9 GB written)', () => {
    const size = 9 * 1024 ** 3 + 5;
    const h = tarHeader('big.bin', size, 0);
    expect(h[124]).toBe(0x80);
    expect(parseHeader(h)).toMatchObject({ name: 'big.bin', size, type: '0', checksumOk: true });
    const file = path.join(dir, 'big.tar');
    const fd = fs.openSync(file, 'w');
    fs.writeSync(fd, h, 0, BLOCK, 0);
    fs.writeSync(fd, Buffer.alloc(2 * BLOCK), 0, 2 * BLOCK, BLOCK + size + padding(size));
    fs.closeSync(fd);
    expect(execFileSync('tar', ['tvf', file], { encoding: 'utf8' })).toContain(` ${size} `);
  });

  it('parse names, types and checksums for error messages', () => {
    const h = tarHeader('x', 1, 0);
    expect(parseHeader(h)).toEqual({ name: 'x', size: 1, type: '0', checksumOk: true });
    h[0] = 0x79;
    expect(parseHeader(h).checksumOk).toBe(false);
    expect(() => tarHeader('n'.repeat(101), 0, 0)).toThrow(RangeError);
  });
});
