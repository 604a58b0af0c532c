import { describe, expect, it } from 'vitest';
import { OutpostError, PROBLEM_TYPE_BASE } from './index.js';

describe('OutpostError', () => {
  it('maps known codes to HTTP statuses and keeps explicit ones', () => {
    expect(new OutpostError('not-found', 'x').status).toBe(404);
    expect(new OutpostError('margo/semantic-error', 'x', { status: 422 }).status).toBe(422);
    expect(new OutpostError('something-new', 'x').status).toBe(500);
  });

  it('round-trips through problem+json with code, data and field errors', () => {
    const e = new OutpostError('invalid-input', 'limit is too big', {
      data: { max: 1000 },
      errors: [{ field: 'limit', message: 'too big', line: 3, column: 7 }],
    });
    const wire = JSON.parse(JSON.stringify(e.toProblem('/api/v1/rpc/x'))) as unknown;
    expect(wire).toMatchObject({
      type: PROBLEM_TYPE_BASE + 'invalid-input',
      status: 400,
      detail: 'limit is too big',
      instance: '/api/v1/rpc/x',
    });
    const back = OutpostError.fromProblem(wire);
    expect(back).toBeInstanceOf(OutpostError);
    expect(back.code).toBe('invalid-input');
    expect(back.message).toBe('limit is too big');
    expect(back.data).toEqual({ max: 1000 });
    expect(back.errors).toEqual([{ field: 'limit', message: 'too big', line: 3, column: 7 }]);
    expect(back.status).toBe(400);
  });

  it('rebuilds a code from the problem type when no code member is present', () => {
    expect(
      OutpostError.fromProblem({ type: PROBLEM_TYPE_BASE + 'conflict', title: 'Conflict', status: 409 }).code,
    ).toBe('conflict');
    expect(OutpostError.fromProblem({ type: 'about:blank', title: 'Teapot', status: 418 }).code).toBe(
      'internal',
    );
  });

  it('keeps the cause', () => {
    const cause = new Error('disk full');
    expect(new OutpostError('internal', 'write failed', { cause }).cause).toBe(cause);
    expect(OutpostError.from(cause).cause).toBe(cause);
  });
});
