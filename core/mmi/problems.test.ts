import { describe, expect, it } from 'vitest';
import { OutpostError } from '../../lib/errors/index.js';
import { createFailureLimiter } from './failure-limiter.js';
import { MARGO_PROBLEM_BASE, matchRoute } from '../../lib/mmi/index.js';
import { problemFromError } from './problems.js';

describe('problemFromError', () => {
  it.each([
    [
      new OutpostError('margo/gateway-not-found', 'x', { status: 404 }),
      404,
      `${MARGO_PROBLEM_BASE}gateway-not-found`,
    ],
    [
      new OutpostError('margo/invalid-digest', 'x', { status: 400 }),
      400,
      `${MARGO_PROBLEM_BASE}invalid-request`,
    ],
    [
      new OutpostError('identity/invalid-csr', 'x', { status: 400 }),
      400,
      `${MARGO_PROBLEM_BASE}invalid-request`,
    ],
    [
      new OutpostError('identity/invalid-token', 'x', { status: 400 }),
      403,
      `${MARGO_PROBLEM_BASE}not-authorized`,
    ],
    [new OutpostError('forbidden', 'x'), 403, `${MARGO_PROBLEM_BASE}not-authorized`],
    [new OutpostError('validation-failed', 'x'), 422, `${MARGO_PROBLEM_BASE}semantic-error`],
    [new OutpostError('conflict', 'x'), 409, 'about:blank'],
    [new OutpostError('unavailable', 'x'), 503, 'about:blank'],
    [new OutpostError('internal', 'secret detail'), 500, 'about:blank'],
    [new Error('secret detail'), 500, 'about:blank'],
  ])('%s → %i %s', (err, status, type) => {
    const p = problemFromError(err, '/api/v1/x');
    expect(p.problem).toMatchObject({ status, type, instance: '/api/v1/x' });
    if (status === 500) {
      expect(p.internal).toBe(true);
      expect(p.problem.detail).not.toContain('secret');
      expect(p.headers['retry-after']).toBe('30');
    }
    if (status === 422) expect(p.problem.errors).toEqual([]);
    expect(p.problem.retryable).toBe(status >= 500);
  });

  it('takes the retry delay of a 503 from data.retryAfterSeconds', () => {
    const p = problemFromError(
      new OutpostError('unavailable', 'busy', { data: { retryAfterSeconds: 2.2 } }),
      '/',
    );
    expect(p.headers['retry-after']).toBe('3');
    expect(p.problem).toMatchObject({ retryAfterSeconds: 3, backoffStrategy: 'exponential' });
  });
});

describe('createFailureLimiter', () => {
  it('blocks a key after max failures until its window ends; other keys are unaffected', () => {
    let t = 0;
    const l = createFailureLimiter({ max: 2, windowMs: 10_000, now: () => t });
    l.fail('a');
    expect(l.blockedFor('a')).toBe(0);
    l.fail('a');
    expect(l.blockedFor('a')).toBe(10);
    expect(l.blockedFor('b')).toBe(0);
    t = 9_500;
    expect(l.blockedFor('a')).toBe(1);
    t = 10_000;
    expect(l.blockedFor('a')).toBe(0);
  });

  it('keeps at most maxKeys windows', () => {
    const l = createFailureLimiter({ max: 1, windowMs: 10_000, now: () => 0, maxKeys: 2 });
    l.fail('a');
    l.fail('b');
    l.fail('c');
    expect(l.blockedFor('a')).toBe(0);
    expect(l.blockedFor('c')).toBe(10);
  });
});

describe('matchRoute', () => {
  it.each([
    ['/api/v1/deployments', '', 'manifest', []],
    ['/api/v1/capabilities/gw/child', '', 'capabilities', ['gw/child']],
    ['/api/v1/capabilities/gw%2Fchild', '', 'capabilities', ['gw/child']],
    ['/api/v1/deployments/d1/status', '', 'status', ['d1']],
    ['/api/v1/deployments/d1/sha256%3Aab', '', 'deployment-yaml', ['d1', 'sha256:ab']],
    ['/api/v1/bundles/sha256:ab', '', 'bundle', ['sha256:ab']],
    ['/api/v1/outpost/enroll', '', 'enroll', []],
    ['/.well-known/margo', '/p', 'well-known', []],
    ['/p/.well-known/spiffe/bundle.json', '/p', 'trust-bundle', []],
    ['/p/api/v1/deployments', '/p', 'manifest', []],
  ])('%s (base %j) → %s', (path, base, route, params) => {
    expect(matchRoute(path, base)).toMatchObject({ route, params });
  });

  it.each([
    ['/api/v1/deployments', '/p'],
    ['/api/v1//deployments', ''],
    ['/api/v1/capabilities/', ''],
    ['/api/v1/capabilities/%E0%A4%A', ''],
    ['/api/v2/deployments', ''],
    ['/px/api/v1/deployments', '/p'],
  ])('%s (base %j) is no route', (path, base) => {
    expect(matchRoute(path, base)).toBeUndefined();
  });
});
