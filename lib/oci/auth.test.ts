import { describe, expect, it } from 'vitest';
import { parseChallenges } from './auth.js';

describe('parseChallenges', () => {
  it('parses a Bearer challenge with quoted parameters', () => {
    expect(
      parseChallenges(
        'Bearer realm="https://auth.example.com/token",service="registry.example.com",scope="repository:a/b:pull,push"',
      ),
    ).toEqual([
      {
        scheme: 'bearer',
        params: {
          realm: 'https://auth.example.com/token',
          service: 'registry.example.com',
          scope: 'repository:a/b:pull,push',
        },
      },
    ]);
  });

  it('parses Basic, unquoted values, escapes and several challenges', () => {
    expect(parseChallenges('Basic realm="Registry Realm"')).toEqual([
      { scheme: 'basic', params: { realm: 'Registry Realm' } },
    ]);
    expect(parseChallenges('Bearer realm=http://x/t, service=svc, Basic realm="a \\"b\\""')).toEqual([
      { scheme: 'bearer', params: { realm: 'http://x/t', service: 'svc' } },
      { scheme: 'basic', params: { realm: 'a "b"' } },
    ]);
    expect(parseChallenges('')).toEqual([]);
  });
});
