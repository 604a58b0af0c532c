import { describe, expect, it } from 'vitest';
import { parseByteQuantity } from '../../lib/model/index.js';
import { formatBytes } from './quantity.js';

const Ki = 1024;
const Mi = Ki * 1024;
const Gi = Mi * 1024;

describe('parseByteQuantity', () => {
  it.each([
    ['1024Mi', 1024 * Mi],
    ['10Gi', 10 * Gi],
    ['59 Gi', 59 * Gi],
    ['1862 Gi', 1862 * Gi],
    ['  5Gi ', 5 * Gi],
    ['1.5Gi', 1.5 * Gi],
    ['512Ki', 512 * Ki],
    ['2Ti', 2 * 1024 * Gi],
    ['1Ei', 1024 ** 6],
    ['1G', 1e9],
    ['1k', 1e3],
    ['300', 300],
    ['0', 0],
    [4096, 4096],
  ] as const)('%s -> %d bytes', (text, bytes) => {
    expect(parseByteQuantity(text)).toBe(bytes);
  });

  it.each([
    '',
    'abc',
    'Gi',
    '64GiB',
    '1K',
    '-1Gi',
    '1 0Gi',
    '1Xi',
    '1gi',
    '1.2.3Mi',
    null,
    undefined,
    {},
    -5,
    Number.NaN,
  ])('rejects %j', (text) => {
    expect(parseByteQuantity(text)).toBeNull();
  });
});

describe('formatBytes', () => {
  it.each([
    [0, '0'],
    [512, '512'],
    [2 * Gi, '2Gi'],
    [1.5 * Gi, '1.5Gi'],
    [512 * Mi, '512Mi'],
    [-512 * Mi, '-512Mi'],
    [1862 * Gi, '1.8Ti'],
  ])('%d -> %s', (bytes, text) => {
    expect(formatBytes(bytes)).toBe(text);
  });
});
