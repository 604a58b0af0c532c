import { describe, expect, it } from 'vitest';
import { OutpostError } from '../../../../lib/errors/index.js';
import { CONFIRM, PARAMETERS, PREVIEW, TARGET, VERSION, deploymentNameProblem, stepOf } from './steps.js';

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

describe('deploymentNameProblem', () => {
  it('says what is allowed and what the name has instead, with a name that would do', () => {
    expect(deploymentNameProblem('my app')).toBe(
      'Use only lowercase letters, digits and dashes, starting and ending with a letter or digit (this has spaces), for example "my-app".',
    );
    expect(deploymentNameProblem('Web_1!')).toBe(
      'Use only lowercase letters, digits and dashes, starting and ending with a letter or digit (this has capital letters, the characters _ !), for example "web-1".',
    );
    expect(deploymentNameProblem('-x')).toContain('a dash at the start or end');
    expect(deploymentNameProblem('a'.repeat(64))).toContain('64 characters (at most 63)');
  });

  it('accepts what the server accepts, and an empty name (the server names it)', () => {
    for (const ok of ['', '  ', 'web', 'web-2', 'a', '9'.repeat(63)])
      expect(deploymentNameProblem(ok)).toBeNull();
  });
});
