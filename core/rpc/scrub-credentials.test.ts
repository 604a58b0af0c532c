import { describe, expect, it } from 'vitest';
import { scrubCredentials, scrubUrlCredentials } from './scrub-credentials.js';

describe('scrubUrlCredentials', () => {
  it.each([
    ['https://ci:s3cret@git.example.com/acme/app.git', 'https://[redacted]@git.example.com/acme/app.git'],
    ['http://tok3n@127.0.0.1:9/repo.git', 'http://[redacted]@127.0.0.1:9/repo.git'],
    ['app-from/https://u:p%40ss@h/r.git', 'app-from/https://[redacted]@h/r.git'],
    [
      'cannot fetch https://a:b@h1/x and https://c:d@h2/y',
      'cannot fetch https://[redacted]@h1/x and https://[redacted]@h2/y',
    ],
  ])('removes the userinfo of %s', (input, want) => {
    expect(scrubUrlCredentials(input)).toBe(want);
  });

  it.each([
    'https://git.example.com/acme/app.git',
    'mailto:ops@example.com',
    'ops@example.com',
    'https://git.example.com/users/@me/repo.git',
    'https://h/x?email=a@b',
    'oci://127.0.0.1:5000/samples/hello-wasm',
  ])('leaves %s alone', (input) => {
    expect(scrubUrlCredentials(input)).toBe(input);
  });
});

describe('scrubCredentials', () => {
  it('scrubs every string of a nested value and leaves the original untouched', () => {
    const input = {
      source: { kind: 'git', url: 'https://ci:s3cret@h/r.git', ref: 'main' },
      list: ['x', 'http://u:p@h/'],
      n: 3,
      b: true,
      none: null,
    };
    const out = scrubCredentials(input);
    expect(out).toEqual({
      source: { kind: 'git', url: 'https://[redacted]@h/r.git', ref: 'main' },
      list: ['x', 'http://[redacted]@h/'],
      n: 3,
      b: true,
      none: null,
    });
    expect(input.source.url).toBe('https://ci:s3cret@h/r.git');
    expect(JSON.stringify(out)).not.toContain('s3cret');
  });
});

describe('scrubCredentials on deep values', () => {
  it('replaces what is nested too deep instead of exhausting the stack', () => {
    let v: unknown = 'https://user:secret@host/x';
    for (let i = 0; i < 100_000; i++) v = { a: v };
    const out = scrubCredentials(v);
    let cur = out as Record<string, unknown> | string;
    let depth = 0;
    while (typeof cur === 'object') {
      cur = cur.a as Record<string, unknown> | string;
      depth++;
    }
    expect(cur).toBe('[too deep]');
    expect(depth).toBe(64);
    expect(scrubCredentials({ u: 'https://user:secret@host/x' })).toEqual({ u: 'https://[redacted]@host/x' });
  });
});
