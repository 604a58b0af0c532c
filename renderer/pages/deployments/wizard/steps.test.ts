import { describe, expect, it } from 'vitest';
import { OutpostError } from '../../../../lib/errors/index.js';
import { CONFIRM, PARAMETERS, PREVIEW, TARGET, VERSION, stepOf } from './steps.js';

const refusal = (code: string, ...fields: string[]) =>
  new OutpostError(code, 'refused', { errors: fields.map((field) => ({ field, message: 'no' })) });

describe('stepOf', () => {
  it('sends each refusal to the step whose input it concerns', () => {
    expect(stepOf(refusal('not-placeable'))).toBe(PREVIEW);
    expect(stepOf(refusal('invalid-input', 'parameters.greeting'))).toBe(PARAMETERS);
    expect(stepOf(refusal('invalid-input', 'parameters["rate.hz"]'))).toBe(PARAMETERS);
    expect(stepOf(refusal('invalid-input', 'set.greeting'))).toBe(PARAMETERS);
    expect(stepOf(refusal('invalid-input', 'target.replicas'))).toBe(TARGET);
    expect(stepOf(refusal('invalid-input', 'profileId'))).toBe(VERSION);
    expect(stepOf(refusal('invalid-input', 'name'))).toBe(CONFIRM);
    expect(stepOf(refusal('not-found'))).toBe(CONFIRM);
    expect(stepOf(new Error('network down'))).toBe(CONFIRM);
  });
  it('does not take a field that merely starts like "parameters" for a parameter', () => {
    expect(stepOf(refusal('invalid-input', 'parametersFile'))).toBe(CONFIRM);
  });
});
