import { describe, expect, it } from 'vitest';
import { capacityLines, expressionText, formatValue, ruleText } from './describe.js';

describe('device constraints in words', () => {
  it('says the capacity a node needs', () => {
    expect(
      capacityLines({
        capacityRequirements: {
          cpu: { cores: 1, architectures: ['amd64', 'arm64'] },
          memory: '1Gi',
          storage: '5Gi',
        },
      }),
    ).toEqual([
      'CPU: at least 1 core, architecture amd64 or arm64',
      'Memory: at least 1Gi',
      'Storage: at least 5Gi',
    ]);
    expect(capacityLines({ capacityRequirements: { cpu: { cores: 0.5 } } })).toEqual([
      'CPU: at least 0.5 cores',
    ]);
    expect(capacityLines({})).toEqual([]);
  });

  it('writes expressions with typed values, so "true" and true differ', () => {
    expect(expressionText({ key: '/vendor', operator: 'In', values: ['A', 'B'] })).toBe(
      '/vendor In ["A", "B"]',
    );
    expect(expressionText({ key: 'gpu', operator: 'In', values: [true] })).toBe('gpu In [true]');
    expect(expressionText({ key: 'gpu', operator: 'In', values: ['true'] })).toBe('gpu In ["true"]');
    expect(expressionText({ key: 'x', operator: 'Exists' })).toBe('x Exists');
    expect(expressionText({ key: '/memoryMi', operator: 'Gt', values: [512] })).toBe('/memoryMi Gt [512]');
  });

  it('joins item selectors with or for ContainsAny and with and for ContainsAll', () => {
    const items = {
      matchExpressions: [
        { key: '/type', operator: 'In' as const, values: ['gpu'] },
        { key: '/manufacturer', operator: 'Exists' as const },
      ],
    };
    expect(expressionText({ key: '/peripherals', operator: 'ContainsAny', itemSelector: items })).toBe(
      '/peripherals ContainsAny { /type In ["gpu"] or /manufacturer Exists }',
    );
    expect(expressionText({ key: '/peripherals', operator: 'ContainsAll', itemSelector: items })).toBe(
      '/peripherals ContainsAll { /type In ["gpu"] and /manufacturer Exists }',
    );
  });
});

describe('configuration rules in words', () => {
  it('lists every rule of a schema entry', () => {
    expect(ruleText({ name: 'n', dataType: 'integer', minValue: 1, maxValue: 3600, allowEmpty: false })).toBe(
      'integer, 1 to 3600, required',
    );
    expect(ruleText({ name: 'n', dataType: 'string', minLength: 5, allowEmpty: true })).toBe(
      'string, length at least 5, may be empty',
    );
    expect(ruleText({ name: 'n', dataType: 'double', maxValue: 1, maxPrecision: 2 })).toBe(
      'double, at most 1, precision at most 2',
    );
    expect(ruleText({ name: 'n', dataType: 'string', regexMatch: '^rtsp://' })).toBe(
      'string, matches ^rtsp://',
    );
    expect(ruleText({ name: 'n', dataType: 'array[string]', multiselect: true, options: ['a', 'b'] })).toBe(
      'array[string], any of a, b',
    );
    expect(ruleText({ name: 'n', dataType: 'string', options: ['x'] })).toBe('string, one of x');
  });

  it('formats default values', () => {
    expect(formatValue('Hello')).toBe('Hello');
    expect(formatValue(0.8)).toBe('0.8');
    expect(formatValue(false)).toBe('false');
    expect(formatValue([1, 2])).toBe('1, 2');
  });
});
