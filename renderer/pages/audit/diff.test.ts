import { describe, expect, it } from 'vitest';
import { diffInputs, showValue } from './diff.js';

describe('diffInputs', () => {
  it('names added, removed and changed fields by their path, sorted', () => {
    expect(
      diffInputs(
        { name: 'web', rollout: { maxUnavailable: 1, canary: 2 }, labels: ['a', 'b'] },
        { name: 'web', rollout: { maxUnavailable: 3 }, labels: ['a', 'c', 'd'], parameters: { port: 80 } },
      ),
    ).toEqual([
      { path: 'labels[1]', kind: 'changed', before: 'b', after: 'c' },
      { path: 'labels[2]', kind: 'added', after: 'd' },
      { path: 'parameters', kind: 'added', after: { port: 80 } },
      { path: 'rollout.canary', kind: 'removed', before: 2 },
      { path: 'rollout.maxUnavailable', kind: 'changed', before: 1, after: 3 },
    ]);
  });

  it('has nothing to say about equal inputs, and compares other values whole', () => {
    expect(diffInputs({ a: [1, { b: null }] }, { a: [1, { b: null }] })).toEqual([]);
    expect(diffInputs(null, { a: 1 })).toEqual([
      { path: '(input)', kind: 'changed', before: null, after: { a: 1 } },
    ]);
    expect(diffInputs({ a: 1 }, { a: 'x' })).toEqual([{ path: 'a', kind: 'changed', before: 1, after: 'x' }]);
  });

  it('stops at the limit', () => {
    const a = Object.fromEntries(Array.from({ length: 50 }, (_, i) => [`k${i}`, i]));
    expect(diffInputs({}, a, 10)).toHaveLength(10);
  });

  it('shows a value in one short line', () => {
    expect(showValue('x')).toBe('x');
    expect(showValue({ a: 1 })).toBe('{"a":1}');
    expect(showValue('y'.repeat(300), 10)).toBe('yyyyyyyyy…');
    expect(showValue(undefined)).toBe('');
  });
});
