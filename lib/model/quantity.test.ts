import { describe, expect, it } from 'vitest';
import { parseQuantity, tryParseQuantity } from './index.js';
import { thrown } from '../margo/test-helpers.js';

describe('parseQuantity', () => {
  it.each<[string, number]>([
    ['1024Mi', 1024 * 2 ** 20],
    ['59 Gi', 59 * 2 ** 30],
    ['1862 Gi', 1862 * 2 ** 30],
    ['8Ki', 8192],
    ['1Ti', 2 ** 40],
    ['2Pi', 2 * 2 ** 50],
    ['1Ei', 2 ** 60],
    ['1.5Gi', 1.5 * 2 ** 30],
    ['0.5Ki', 512],
    ['0.3Ki', 308],
    ['500k', 500_000],
    ['2M', 2_000_000],
    ['1G', 1e9],
    ['3T', 3e12],
    ['123', 123],
    [' 64Mi ', 64 * 2 ** 20],
    ['0', 0],
  ])('%j → %d bytes', (s, bytes) => {
    expect(parseQuantity(s)).toBe(bytes);
  });

  it.each(['', 'Gi', '1GB', '1 gi', '-1Mi', '1e3Mi', 'lots', '1K', '1,5Gi', '1Mi2'])('refuses %j', (s) => {
    const err = thrown(() => parseQuantity(s));
    expect(err.code).toBe('invalid-input');
    expect(err.message).toBe(
      `invalid quantity ${JSON.stringify(s)}: expected a number with an optional unit (Ki, Mi, Gi, Ti, Pi, Ei, k, M, G, T, P, E), e.g. 512Mi`,
    );
    expect(tryParseQuantity(s)).toBeUndefined();
  });
});
