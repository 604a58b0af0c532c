import { describe, expect, it } from 'vitest';
import { ABSENT, compileGetter, compilePointer, resolvePointer } from './json-pointer.js';

// The document and pointers of RFC 6901 section 5.
const doc = {
  foo: ['bar', 'baz'],
  '': 0,
  'a/b': 1,
  'c%d': 2,
  'e^f': 3,
  'g|h': 4,
  'i\\j': 5,
  'k"l': 6,
  ' ': 7,
  'm~n': 8,
};

function at(pointer: string, d: unknown = doc): unknown {
  const c = compilePointer(pointer);
  if ('error' in c) throw new Error(c.error);
  return resolvePointer(d, c);
}

describe('JSON pointers (RFC 6901)', () => {
  it.each([
    ['', doc],
    ['/foo', ['bar', 'baz']],
    ['/foo/0', 'bar'],
    ['/', 0],
    ['/a~1b', 1],
    ['/c%d', 2],
    ['/e^f', 3],
    ['/g|h', 4],
    ['/i\\j', 5],
    ['/k"l', 6],
    ['/ ', 7],
    ['/m~0n', 8],
  ])('%j resolves as the RFC says', (pointer, value) => {
    expect(at(pointer)).toEqual(value);
  });

  it('unescapes ~1 before ~0, so ~01 is a literal "~1"', () => {
    expect(at('/~01', { '~1': 'tilde-one', '/': 'slash' })).toBe('tilde-one');
  });

  it.each([
    ['/foo/2', 'past the end'],
    ['/foo/-', 'the "-" element never exists'],
    ['/foo/01', 'leading zero is not an index'],
    ['/foo/1.0', 'not an integer'],
    ['/foo/bar', 'a name on an array'],
    ['/nope', 'a missing member'],
    ['/foo/0/x', 'through a string'],
    ['/constructor', 'prototype members are not members'],
    ['/__proto__', 'prototype members are not members'],
  ])('%j is absent (%s)', (pointer) => {
    expect(at(pointer)).toBe(ABSENT);
  });

  it('distinguishes a present null from an absent member', () => {
    expect(at('/x', { x: null })).toBeNull();
    expect(at('/y', { x: null })).toBe(ABSENT);
  });

  it.each(['vendor', '/a~2b', '/a~', '~1'])('rejects the invalid pointer %j', (pointer) => {
    expect(compilePointer(pointer)).toHaveProperty('error');
  });
});

describe('compileGetter', () => {
  it.each([
    '',
    '/foo',
    '/foo/0',
    '/',
    '/a~1b',
    '/m~0n',
    '/foo/2',
    '/foo/-',
    '/foo/01',
    '/nope',
    '/constructor',
    '/foo/0/x',
  ])('%j resolves like resolvePointer', (pointer) => {
    const c = compilePointer(pointer);
    if ('error' in c) throw new Error(c.error);
    for (const d of [doc, ['x', 'y'], null, 'text', { foo: null }])
      expect(compileGetter(c)(d)).toEqual(resolvePointer(d, c));
  });
});
