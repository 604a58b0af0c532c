import { describe, expect, it } from 'vitest';
import { RefusedInput, capProblems, inputShapeProblem, jsonTextShapeProblem } from './input-limits.js';

const nest = (depth: number, leaf: unknown = 'x') => {
  let v = leaf;
  for (let i = 0; i < depth; i++) v = i % 2 ? [v] : { a: v };
  return v;
};

describe('input shape limits', () => {
  it('lets ordinary input through', () => {
    expect(inputShapeProblem({ a: [1, 2, { b: 'c' }], d: null, e: nest(60) })).toBeUndefined();
  });

  it('refuses input nested too deep, naming where, without using the stack', () => {
    expect(inputShapeProblem(nest(65))).toMatchObject({ message: 'is nested deeper than 64 levels' });
    expect(inputShapeProblem({ parameters: { greeting: nest(1_000_000) } })).toMatchObject({
      field: 'parameters.greeting[0].a[0].a[0].a…',
      message: 'is nested deeper than 64 levels',
    });
  });

  it('refuses objects and arrays with too many entries, and too many values in all', () => {
    const wide = Object.fromEntries(Array.from({ length: 10_001 }, (_, i) => [`k${i}`, i]));
    expect(inputShapeProblem({ p: wide })).toEqual({ field: 'p', message: 'has more than 10000 members' });
    expect(inputShapeProblem(new Array(10_001).fill(0))).toMatchObject({
      message: 'has more than 10000 items',
    });
    const many = Array.from({ length: 30 }, () => new Array(9_000).fill(1));
    expect(inputShapeProblem(many)).toEqual({
      field: '(input)',
      message: 'has more than 200000 values in all',
    });
  });

  it('caps a list of problems and counts the rest', () => {
    const problems = Array.from({ length: 120 }, (_, i) => ({ field: `f${i}`, message: 'bad' }));
    const capped = capProblems(problems);
    expect(capped).toHaveLength(51);
    expect(capped[50]).toEqual({ field: '(more)', message: 'and 70 more problems, not listed' });
    expect(capProblems(problems.slice(0, 3))).toHaveLength(3);
  });
});

describe('JSON text limits', () => {
  it('counts entries and values outside strings only', () => {
    expect(jsonTextShapeProblem('{"a":"x,y,z,[,{","b":[1,2,3]}')).toBeUndefined();
    expect(jsonTextShapeProblem('"\\\\",",","')).toBeUndefined();
    const wide = `{${Array.from({ length: 10_001 }, (_, i) => `"k${i}":1`).join(',')}}`;
    expect(jsonTextShapeProblem(wide)).toEqual({
      field: '(input)',
      message: 'has an object or list with more than 10000 entries',
    });
    const many = `[${Array.from({ length: 30 }, () => `[${new Array(9_000).fill(1).join(',')}]`).join(',')}]`;
    expect(jsonTextShapeProblem(many)).toEqual({
      field: '(input)',
      message: 'has more than 200000 values in all',
    });
  });

  it('lets a refused body through as RefusedInput, which the object check reports', () => {
    const r = new RefusedInput({ field: '(input)', message: 'too big' });
    expect(inputShapeProblem(r)).toEqual({ field: '(input)', message: 'too big' });
  });
});
