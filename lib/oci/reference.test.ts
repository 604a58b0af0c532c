import { describe, expect, it } from 'vitest';
import { isOutpostError } from '../errors/index.js';
import { formatReference, isLoopbackHost, parseReference, referenceTarget } from './reference.js';

const D = 'sha256:' + 'a'.repeat(64);

describe('parseReference', () => {
  it('parses host:port, nested repositories, tag and digest, with or without oci://', () => {
    expect(parseReference(`oci://127.0.0.1:5000/apps/hello/world:1.2.3@${D}`)).toEqual({
      registry: '127.0.0.1:5000',
      repository: 'apps/hello/world',
      tag: '1.2.3',
      digest: D,
    });
    expect(parseReference('registry.example.com/charts/db:2.3.7_build.1')).toEqual({
      registry: 'registry.example.com',
      repository: 'charts/db',
      tag: '2.3.7_build.1',
    });
    expect(parseReference(`localhost/x@${D}`)).toEqual({ registry: 'localhost', repository: 'x', digest: D });
    expect(parseReference('[::1]:5000/a/b')).toEqual({ registry: '[::1]:5000', repository: 'a/b' });
    expect(parseReference('OCI://reg.io/a-b__c.d/e')).toEqual({
      registry: 'reg.io',
      repository: 'a-b__c.d/e',
    });
  });

  it('formats back and picks the target', () => {
    const r = parseReference(`oci://reg.io:443/a/b:t@${D}`);
    expect(formatReference(r)).toBe(`reg.io:443/a/b:t@${D}`);
    expect(referenceTarget(r)).toBe(D);
    expect(referenceTarget(parseReference('reg.io/a:t'))).toBe('t');
    expect(referenceTarget(parseReference('reg.io/a'))).toBe('latest');
  });

  it.each([
    ['', /empty/],
    ['alpine', /registry host and a repository/],
    ['library/alpine:3', /not a registry host.*Docker Hub/],
    ['docker://reg.io/a', /only the oci:\/\/ scheme/],
    ['reg.io/', /repository is missing/],
    ['reg.io/Upper/case', /repository "Upper\/case" is not valid/],
    ['reg.io/a//b', /repository/],
    ['reg.io/a:-bad', /tag "-bad" is not valid/],
    ['reg.io/a@sha256:abc', /not a valid sha256 digest/],
    ['reg.io/a@md5:' + 'a'.repeat(32), /algorithm "md5" is not supported/],
    ['reg.io:99999/a', /port "99999"/],
    ['bad_host.io/a', /not a valid host name/],
    [' reg.io/a', /white space/],
  ])('rejects %j with a clear oci/invalid-reference', (input, why) => {
    let err: unknown;
    try {
      parseReference(input);
    } catch (e) {
      err = e;
    }
    expect(isOutpostError(err, 'oci/invalid-reference')).toBe(true);
    expect((err as Error).message).toMatch(why);
    expect((err as Error).message).not.toContain('\n');
  });

  it('knows loopback hosts', () => {
    for (const h of ['127.0.0.1:5000', 'localhost', 'localhost:80', '[::1]:5000', '127.1.2.3'])
      expect(isLoopbackHost(h)).toBe(true);
    for (const h of ['10.0.0.1:5000', 'registry.local', '128.0.0.1', '[fe80::1]:5000', 'localhost.evil.com'])
      expect(isLoopbackHost(h)).toBe(false);
  });
});
