import { describe, expect, it } from 'vitest';
import { isDigest, parseDigest } from '../model/index.js';
import { sha256Digest } from './index.js';
import { thrown } from './test-helpers.js';

describe('digests', () => {
  it('hashes bytes and text alike', () => {
    const empty = 'sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';
    expect(sha256Digest(new Uint8Array())).toBe(empty);
    expect(sha256Digest('')).toBe(empty);
    expect(sha256Digest('abc')).toBe(sha256Digest(Buffer.from('abc')));
  });

  it('parses the sha256 grammar', () => {
    const d = sha256Digest('x');
    expect(parseDigest(d)).toEqual({ algorithm: 'sha256', hex: d.slice(7), digest: d });
    expect(isDigest(d)).toBe(true);
  });

  it.each([
    ['sha512:' + 'a'.repeat(128), 'unsupported digest algorithm "sha512"'],
    ['sha256:' + 'A'.repeat(64), 'expected sha256: followed by 64 lowercase hex digits'],
    ['sha256:' + 'a'.repeat(63), '64 lowercase hex'],
    ['sha256:b5c6d7e8f9...', '64 lowercase hex'],
    ['a'.repeat(64), '64 lowercase hex'],
    [' sha256:' + 'a'.repeat(64), '64 lowercase hex'],
  ])('refuses %s', (s, fragment) => {
    const err = thrown(() => parseDigest(s));
    expect([err.code, err.status]).toEqual(['margo/invalid-digest', 400]);
    expect(err.message).toContain(fragment);
    expect(isDigest(s)).toBe(false);
  });
});
