import { describe, expect, it } from 'vitest';
import { acceptsGzip, acceptsMediaType, ifNoneMatchMatches, strongEtag } from './negotiation.js';

const M = 'application/vnd.margo.manifest.v1+json';
const D = `sha256:${'ab'.repeat(32)}`;

describe('acceptsMediaType', () => {
  it.each([
    [undefined, true],
    ['', true],
    ['*/*', true],
    ['application/*', true],
    [M, true],
    [`${M}; charset=utf-8`, true],
    ['APPLICATION/VND.MARGO.MANIFEST.V1+JSON', true],
    ['text/html, application/xhtml+xml, */*;q=0.8', true],
    [`text/plain, ${M};q=0.1`, true],
    ['text/plain', false],
    ['application/json', false],
    ['application/xml, text/html', false],
    [`${M};q=0`, false],
    [`${M};q=0, */*`, false],
    [`${M};q=0.000`, false],
    ['application/*;q=0, */*', false],
    ['*/*;q=0', false],
    ['*/*;q=nonsense', false],
    ['garbage', false],
    [`"quoted, thing";x=1, ${M}`, true],
  ])('Accept %j → %s', (accept, ok) => {
    expect(acceptsMediaType(accept, M)).toBe(ok);
  });
});

describe('acceptsGzip', () => {
  it.each([
    [undefined, false],
    ['', false],
    ['gzip', true],
    ['GZIP', true],
    ['x-gzip', true],
    ['br, gzip;q=0.5', true],
    ['gzip;q=0', false],
    ['identity', false],
    ['*', true],
    ['*;q=0', false],
    ['gzip;q=0, *', false],
    ['deflate, br', false],
  ])('Accept-Encoding %j → %s', (header, ok) => {
    expect(acceptsGzip(header)).toBe(ok);
  });
});

describe('ifNoneMatchMatches', () => {
  it.each([
    [undefined, false],
    [strongEtag(D), true],
    [D, true],
    [`W/${strongEtag(D)}`, true],
    ['*', true],
    [`"sha256:${'00'.repeat(32)}", ${strongEtag(D)}`, true],
    [`"sha256:${'00'.repeat(32)}"`, false],
    [`"${D} "`, false],
    [[`"x"`, strongEtag(D)], true],
    ['', false],
  ])('If-None-Match %j → %s', (header, ok) => {
    expect(ifNoneMatchMatches(header, D)).toBe(ok);
  });
});
