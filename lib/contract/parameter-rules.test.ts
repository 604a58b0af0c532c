import { describe, expect, it } from 'vitest';
import { OutpostError } from '../errors/index.js';
import {
  checkParameterValue,
  coerceParameterInput,
  parameterField,
  resolveParameters,
} from './parameter-rules.js';
import type { ApplicationDescription } from '../model/index.js';

const desc = {
  id: 'a',
  metadata: { name: 'A', version: '1', catalog: { organization: [{ name: 'o' }] } },
  deploymentProfiles: [{ type: 'compose', id: 'p', components: [{ name: 'c', properties: {} }] }],
  parameters: { 'rate.hz': { value: 5, targets: [{ pointer: 'RATE', components: ['c'] }] } },
  configuration: {
    sections: [{ name: 'S', settings: [{ parameter: 'rate.hz', name: 'Rate', schema: 'r' }] }],
    schema: [{ name: 'r', dataType: 'integer', maxValue: 10 }],
  },
} as unknown as ApplicationDescription;

function refusal(f: () => unknown): OutpostError | null {
  try {
    f();
    return null;
  } catch (e) {
    return e as OutpostError;
  }
}

describe('parameter rules for the console', () => {
  it('refuse a value with the field name and message the server uses', () => {
    const err = refusal(() => resolveParameters(desc, 'p', { 'rate.hz': 11 }));
    expect(err).toBeInstanceOf(OutpostError);
    expect(err!.code).toBe('invalid-input');
    expect(err!.errors).toEqual([{ field: parameterField('rate.hz'), message: 'must be at most 10' }]);
    expect(parameterField('rate.hz')).toBe('parameters["rate.hz"]');
    expect(parameterField('greeting')).toBe('parameters.greeting');
    expect(resolveParameters(desc, 'p', { 'rate.hz': 10 })['rate.hz']?.value).toBe(10);
  });

  it('convert typed text as the CLI does, naming the parameter', () => {
    expect(coerceParameterInput('7', 'integer', 'rate.hz')).toBe(7);
    expect(coerceParameterInput('a, b', 'array[string]', 'x')).toEqual(['a', 'b']);
    const err = refusal(() => coerceParameterInput('7.5', 'integer', 'rate.hz'));
    expect(err!.errors?.[0]?.field).toBe(parameterField('rate.hz'));
    expect(checkParameterValue('', { name: 's', dataType: 'string' })).toEqual(['must not be empty']);
  });
});
