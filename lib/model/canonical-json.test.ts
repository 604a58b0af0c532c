import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonicalJson } from './index.js';
import { thrown } from '../margo/test-helpers.js';

describe('canonicalJson (RFC 8785)', () => {
  it('serialises the RFC 8785 section 3.2.4 example as the RFC shows it', () => {
    const input = JSON.parse(
      '{"numbers":[333333333.33333329,1E30,4.50,2e-3,0.000000000000000000000000001],' +
        '"string":"\\u20ac$\\u000F\\u000aA\'\\u0042\\u0022\\u005c\\\\\\"\\/","literals":[null,true,false]}',
    ) as unknown;
    expect(canonicalJson(input)).toBe(
      '{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],' +
        '"string":"€$\\u000f\\nA\'B\\"\\\\\\\\\\"/"}',
    );
  });

  it('sorts member names by UTF-16 code units (RFC 8785 section 3.2.3 example)', () => {
    const input = {
      '\u20ac': 'Euro Sign',
      '\r': 'Carriage Return',
      '\ufb33': 'Hebrew Letter Dalet With Dagesh',
      '1': 'One',
      '\ud83d\ude00': 'Emoji: Grinning Face',
      '\u0080': 'Control',
      '\u00f6': 'Latin Small Letter O With Diaeresis',
    };
    const order = Object.keys(JSON.parse(canonicalJson(input)) as object);
    // JSON.parse puts the integer-like key "1" first again, so compare the text instead.
    expect(order).toHaveLength(7);
    const text = canonicalJson(input);
    const positions = ['\r', '1', '\u0080', '\u00f6', '\u20ac', '\ud83d\ude00', '\ufb33'].map((k) =>
      text.indexOf(JSON.stringify(k) + ':'),
    );
    expect(positions).toEqual([...positions].sort((a, b) => a - b));
  });

  it.each<[unknown, string]>([
    [0, '0'],
    [-0, '0'],
    [1e21, '1e+21'],
    [1e-7, '1e-7'],
    [0.000001, '0.000001'],
    [123456789012345680000, '123456789012345680000'],
    [5e-324, '5e-324'],
    [-1.5, '-1.5'],
    ['\u0007\u001f\u007f', '"\\u0007\\u001f\u007f"'],
    [{ b: undefined, a: [] }, '{"a":[]}'],
    [Object.create(null) as object, '{}'],
  ])('%j → %s', (value, text) => {
    expect(canonicalJson(value)).toBe(text);
  });

  it.each<[string, unknown, string]>([
    ['NaN', NaN, 'is NaN'],
    ['Infinity', { a: Infinity }, '$.a is Infinity'],
    ['bigint', 1n, 'is a bigint'],
    ['undefined in an array', [1, undefined], '$[1] is undefined'],
    ['a Date', new Date(0), 'is not a plain object'],
    ['a lone surrogate', '\ud800', 'lone surrogate'],
    ['a function', () => 1, 'is a function'],
  ])('refuses %s', (_name, value, fragment) => {
    const err = thrown(() => canonicalJson(value));
    expect(err.code).toBe('invalid-input');
    expect(err.message).toContain(fragment);
  });

  const json = fc.jsonValue({ maxDepth: 4 });

  it('is stable under any permutation of member order', () => {
    const shuffle = (v: unknown, seed: number): unknown => {
      if (Array.isArray(v)) return v.map((x, i) => shuffle(x, seed + i));
      if (v && typeof v === 'object') {
        const keys = Object.keys(v);
        const rotated = keys.map((_, i) => keys[(i + seed) % keys.length]!).reverse();
        const out: Record<string, unknown> = {};
        // defineProperty: fast-check generates "__proto__" keys too, which plain assignment would drop.
        for (const k of rotated) {
          const value = shuffle((v as Record<string, unknown>)[k], seed + 1);
          Object.defineProperty(out, k, { value, enumerable: true, writable: true, configurable: true });
        }
        return out;
      }
      return v;
    };
    fc.assert(
      fc.property(json, fc.nat(50), (v, seed) => canonicalJson(shuffle(v, seed)) === canonicalJson(v)),
    );
  });

  it('is valid JSON that parses back to the value, and a fixed point', () => {
    fc.assert(
      fc.property(json, (v) => {
        const text = canonicalJson(v);
        const back = JSON.parse(text) as unknown;
        expect(back).toEqual(JSON.parse(JSON.stringify(v)));
        expect(canonicalJson(back)).toBe(text);
        // Same members and number forms as JSON.stringify, only in another order: no added whitespace.
        expect(text.length).toBe(JSON.stringify(back).length);
      }),
    );
  });
});
